//! A whole Imp checkpoint from the hub into the cache: listed, checked for
//! room, downloaded file by file (each resumable and verified), linked into
//! its snapshot. Offline, the snapshot already on this device or a clear error.

use std::path::{Path, PathBuf};

use imp_core::CancelToken;

use super::endpoint::{check_repo_id, check_revision, HubEndpoint};
use super::listing::{shards, RepoFile, RepoSnapshot};
use super::CheckpointCache;
use crate::download::{
    fetch_bytes, Download, DownloadOptions, DownloadRequest, FreeSpaceProbe, PartialLock,
    TransferProgress,
};
use crate::error::{Result, StoreError};

/// A listing is a few kB; a repository with thousands of files is still far
/// below this.
const LISTING_CAP: usize = 16 << 20;

/// What a fetch needs besides the repository.
pub struct HubFetch<'a> {
    pub endpoint: &'a HubEndpoint,
    pub cache: &'a CheckpointCache,
    pub options: &'a DownloadOptions,
    pub free_space: &'a FreeSpaceProbe,
    pub cancel: &'a CancelToken,
}

/// A checkpoint directory ready for `ModelSource::open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedCheckpoint {
    pub dir: PathBuf,
    pub commit: String,
    /// Bytes of the files Imp uses.
    pub bytes: u64,
}

/// Fetches `repo` at `revision`. `room_after(dir)` is called once the config
/// and tokenizer are in `dir` and says how many more bytes must stay free
/// beyond the weights (the conversion's output); the whole need is checked
/// before the first weight byte.
pub fn fetch_checkpoint(
    hub: &HubFetch,
    repo: &str,
    revision: &str,
    room_after: &dyn Fn(&Path) -> Result<u64>,
    progress: &mut dyn FnMut(TransferProgress),
) -> Result<FetchedCheckpoint> {
    check_repo_id(repo)?;
    check_revision(revision)?;
    if hub.endpoint.offline {
        return offline(hub.cache, repo, revision);
    }
    let listing = fetch_bytes(
        &hub.endpoint.listing_url(repo, revision),
        hub.options,
        hub.cancel,
        LISTING_CAP,
    )
    .map_err(|e| explain(e, repo, revision))?;
    let snapshot = RepoSnapshot::parse(repo, &listing)?;
    hub.cache.set_ref(repo, revision, &snapshot.commit)?;
    let dir = hub.cache.snapshot_dir(repo, &snapshot.commit);
    let small = snapshot.small_files()?;
    let mut total: u64 = small.iter().map(|f| f.size).sum();
    let mut done = 0;
    for file in &small {
        download_file(hub, &snapshot, file, &mut |p| {
            progress(TransferProgress {
                done: done + p.done,
                total: None,
            })
        })?;
        done += file.size;
    }
    let index = std::fs::read(dir.join("model.safetensors.index.json")).ok();
    let weights = snapshot.weight_files(index.as_deref())?;
    total += weights.iter().map(|f| f.size).sum::<u64>();
    check_room(hub, repo, &snapshot, &weights, room_after(&dir)?)?;
    for file in &weights {
        download_file(hub, &snapshot, file, &mut |p| {
            progress(TransferProgress {
                done: done + p.done,
                total: Some(total),
            })
        })?;
        done += file.size;
    }
    progress(TransferProgress {
        done: total,
        total: Some(total),
    });
    Ok(FetchedCheckpoint {
        dir,
        commit: snapshot.commit,
        bytes: total,
    })
}

/// One file into its blob (resuming an earlier attempt), then its link.
fn download_file(
    hub: &HubFetch,
    snapshot: &RepoSnapshot,
    file: &RepoFile,
    progress: &mut dyn FnMut(TransferProgress),
) -> Result<PathBuf> {
    let (repo, commit) = (&snapshot.repo, &snapshot.commit);
    if let Some(path) = hub.cache.cached(repo, commit, file) {
        return Ok(path);
    }
    if std::fs::metadata(hub.cache.blob(repo, file)).is_ok_and(|m| m.len() == file.size) {
        return hub.cache.link(repo, commit, file);
    }
    hub.cache.ensure_blobs_dir(repo)?;
    let partial = hub.cache.incomplete(repo, file);
    let _lock = PartialLock::acquire(&partial)?;
    let request = DownloadRequest {
        url: hub.endpoint.resolve_url(repo, commit, &file.name),
        expected_size: Some(file.size),
        checksum: Some(file.checksum.clone()),
    };
    let done = Download {
        request: &request,
        options: hub.options,
        free_space: hub.free_space,
        cancel: hub.cancel,
    }
    .run(&partial, progress)?;
    if let Some(served) = done.repo_commit.as_deref().filter(|c| *c != commit) {
        crate::download::discard_partial(&partial);
        return Err(StoreError::Network {
            url: request.url,
            reason: format!("the hub served commit {served}, not {commit}"),
        });
    }
    hub.cache.commit_blob(repo, commit, file, &partial)
}

/// Refuses to start the weights when they and `extra` cannot fit.
fn check_room(
    hub: &HubFetch,
    repo: &str,
    snapshot: &RepoSnapshot,
    weights: &[&RepoFile],
    extra: u64,
) -> Result<()> {
    let missing: u64 = weights
        .iter()
        .filter(|f| hub.cache.cached(repo, &snapshot.commit, f).is_none())
        .map(|f| {
            let partial = std::fs::metadata(hub.cache.incomplete(repo, f)).map_or(0, |m| m.len());
            f.size.saturating_sub(partial)
        })
        .sum();
    let needed = missing + extra + hub.options.space_margin;
    let root = hub.cache.ensure_blobs_dir(repo)?;
    let available = (hub.free_space)(&root)?;
    if needed > available {
        return Err(StoreError::InsufficientSpace {
            needed_mb: needed.div_ceil(1 << 20),
            available_mb: available >> 20,
        });
    }
    Ok(())
}

/// The snapshot already on this device, checked for the files Imp reads.
fn offline(cache: &CheckpointCache, repo: &str, revision: &str) -> Result<FetchedCheckpoint> {
    let not_here = || {
        StoreError::Offline(format!(
            "{repo} ({revision}) is not on this device and HF_HUB_OFFLINE is set"
        ))
    };
    let commit = cache.commit_of(repo, revision).ok_or_else(not_here)?;
    let dir = cache.snapshot_dir(repo, &commit);
    let has = |f: &str| dir.join(f).is_file();
    let tokenizer = has("tokenizer.json") || (has("vocab.json") && has("merges.txt"));
    if !has("config.json") || !tokenizer {
        return Err(not_here());
    }
    let weights: Vec<PathBuf> = match std::fs::read(dir.join("model.safetensors.index.json")) {
        Ok(index) => shards(&index)?.iter().map(|n| dir.join(n)).collect(),
        Err(_) => std::fs::read_dir(&dir)
            .map_err(|e| StoreError::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect(),
    };
    if weights.is_empty() || weights.iter().any(|w| !w.is_file()) {
        return Err(not_here());
    }
    let bytes = weights
        .iter()
        .map(|w| std::fs::metadata(w).map_or(0, |m| m.len()))
        .sum();
    Ok(FetchedCheckpoint { dir, commit, bytes })
}

/// The hub's answers in words: 401 is a gated or private repository, 404 no
/// such repository or revision.
fn explain(e: StoreError, repo: &str, revision: &str) -> StoreError {
    match e {
        StoreError::Http { status: 401, .. } | StoreError::Http { status: 403, .. } => {
            StoreError::InvalidArgument(format!(
                "{repo} is gated or private on the hub; only public checkpoints can be downloaded"
            ))
        }
        StoreError::Http { status: 404, .. } => StoreError::UnknownModel(format!(
            "{repo} at {revision} (no such repository or revision on the hub)"
        )),
        other => other,
    }
}
