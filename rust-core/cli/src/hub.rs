//! `--model` as a Hugging Face hub repo id: the files Imp needs are fetched once
//! into the standard hub cache (HF_HOME), with a progress bar and resumable
//! downloads; HF_ENDPOINT points elsewhere, HF_HUB_OFFLINE=1 uses the cache only.

use anyhow::{bail, Context, Result};
use hf_hub::api::sync::{ApiBuilder, ApiRepo};
use hf_hub::{Cache, Repo, RepoType};
use std::path::{Path, PathBuf};

const TOKENIZER_FILES: [&str; 5] = [
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

/// A local directory as is, or a repo id resolved to its cached snapshot.
pub fn resolve_model(model: &str) -> Result<PathBuf> {
    let path = Path::new(model);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    if !looks_like_repo_id(model) {
        bail!("{model}: no such model directory (nor a hub repo id like MILVLG/Imp-v1.5-3B-196)");
    }
    let repo = Repo::new(model.to_string(), RepoType::Model);
    if offline() {
        return from_cache(model, repo);
    }
    let api = ApiBuilder::from_env()
        .build()
        .context("cannot set up the hub client")?
        .repo(repo);
    download(model, &api)
}

fn looks_like_repo_id(s: &str) -> bool {
    let mut parts = s.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn download(model: &str, api: &ApiRepo) -> Result<PathBuf> {
    let info = api
        .info()
        .with_context(|| format!("cannot list the files of {model} on the hub"))?;
    let listed: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
    let has = |f: &str| listed.iter().any(|l| l == f);
    let fetch = |f: &str| {
        api.get(f)
            .with_context(|| format!("downloading {f} from {model}"))
    };
    let config = fetch("config.json")?;
    if has("model.safetensors.index.json") {
        let index = fetch("model.safetensors.index.json")?;
        for shard in shards(&index)? {
            fetch(&shard)?;
        }
    } else {
        let weights: Vec<&String> = listed
            .iter()
            .filter(|f| f.ends_with(".safetensors"))
            .collect();
        if weights.is_empty() {
            bail!("{model} has no .safetensors weights on the hub");
        }
        for f in weights {
            fetch(f)?;
        }
    }
    if has("tokenizer.json") {
        fetch("tokenizer.json")?;
    } else {
        for f in TOKENIZER_FILES.iter().filter(|f| has(f)) {
            fetch(f)?;
        }
    }
    Ok(config.parent().context("cache layout")?.to_path_buf())
}

fn shards(index: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(index)?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", index.display()))?;
    let map = json["weight_map"]
        .as_object()
        .context("model.safetensors.index.json has no weight_map")?;
    let mut files: Vec<String> = map
        .values()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

fn from_cache(model: &str, repo: Repo) -> Result<PathBuf> {
    let cached = Cache::from_env().repo(repo);
    let config = cached
        .get("config.json")
        .with_context(|| format!("{model} is not in the hub cache and HF_HUB_OFFLINE is set"))?;
    Ok(config.parent().context("cache layout")?.to_path_buf())
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
