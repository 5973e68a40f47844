//! `--model` as a hub repo id, through the store's hub source (the code the
//! apps use): the checkpoint is fetched into the desktop's hub cache
//! (`HF_HUB_CACHE`, `HF_HOME/hub`, `~/.cache/huggingface/hub`), where it
//! stays for `--float` and for other hub clients, and converted once to q4_k
//! into the store. `HF_ENDPOINT` points elsewhere, `HF_HUB_OFFLINE=1` uses
//! what is on this computer only.

use anyhow::{Context, Result};
use imp_core::CancelToken;
use imp_store::hub::{check_repo_id, CheckpointCache};
use imp_store::model_store::{HubModel, HubSettings, InstallProgress, InstallStage, ModelStore};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

/// The desktop's hub settings: its shared cache, kept after conversion.
pub fn desktop() -> HubSettings {
    HubSettings {
        endpoint: None,
        cache: CheckpointCache::desktop_default(),
        keep_checkpoints: true,
    }
}

/// A local checkpoint directory as is, or a repo id's float checkpoint in
/// the desktop hub cache (store at its default place: nothing is installed).
pub fn checkpoint_dir(model: &str) -> Result<PathBuf> {
    let path = std::path::Path::new(model);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    if !looks_like_repo_id(model) {
        anyhow::bail!(
            "{model}: no such model directory (nor a hub repo id like MILVLG/Imp-v1.5-3B-196)"
        );
    }
    let store = crate::models::open(None, None)?.with_hub(desktop());
    float_checkpoint(&store, model)
}

pub fn looks_like_repo_id(s: &str) -> bool {
    check_repo_id(s).is_ok()
}

/// Downloads, verifies, converts and installs, with a bar per stage.
pub fn install(store: &ModelStore, model: &HubModel) -> Result<PathBuf> {
    let bar = stage_bar();
    let installed = store.install_from_hub(
        model,
        &mut |p| show(&bar, &model.repo, p),
        &CancelToken::new(),
    );
    bar.finish_and_clear();
    Ok(installed
        .with_context(|| format!("cannot install {} from the hub", model.repo))?
        .path)
}

/// The float checkpoint's directory in the hub cache.
pub fn float_checkpoint(store: &ModelStore, repo: &str) -> Result<PathBuf> {
    let bar = stage_bar();
    let fetched = store.fetch_checkpoint(
        repo,
        "main",
        &mut |p| show(&bar, repo, p),
        &CancelToken::new(),
    );
    bar.finish_and_clear();
    Ok(fetched
        .with_context(|| format!("cannot download {repo} from the hub"))?
        .dir)
}

fn stage_bar() -> ProgressBar {
    ProgressBar::new(1000).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {percent}%, {elapsed}")
            .expect("static template")
            .progress_chars("=> "),
    )
}

fn show(bar: &ProgressBar, repo: &str, p: InstallProgress) {
    let stage = match p.stage {
        InstallStage::Downloading => "downloading",
        InstallStage::Converting => "converting to q4_k once",
        InstallStage::Verifying => "verifying",
    };
    bar.set_message(format!("{stage} {repo}"));
    bar.set_position((p.fraction * 1000.0) as u64);
}

#[cfg(test)]
mod tests {
    use super::looks_like_repo_id;

    #[test]
    fn repo_ids_are_owner_slash_name() {
        assert!(looks_like_repo_id("MILVLG/Imp-v1.5-3B-196"));
        assert!(!looks_like_repo_id("MILVLG"));
        assert!(!looks_like_repo_id("./models/x"));
        assert!(!looks_like_repo_id("a/b/c"));
        assert!(!looks_like_repo_id("../etc"));
    }
}
