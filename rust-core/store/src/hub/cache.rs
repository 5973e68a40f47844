//! The hub's cache layout, as `huggingface_hub` writes it:
//!
//! ```text
//! <root>/models--{owner}--{name}/blobs/{etag}          a complete, verified file
//! <root>/models--{owner}--{name}/blobs/{etag}.incomplete  (.json, .lock)  a download
//! <root>/models--{owner}--{name}/snapshots/{commit}/{file} -> ../../blobs/{etag}
//! <root>/models--{owner}--{name}/refs/{revision}       the commit it pointed to
//! ```
//!
//! A blob gets its final name only after its checksum matched, so a file in
//! a snapshot is always whole.

use std::path::{Path, PathBuf};

use super::listing::RepoFile;
use crate::disk::write_atomically;
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointCache {
    root: PathBuf,
}

impl CheckpointCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`:
    /// where a desktop's other hub clients keep the same files.
    pub fn desktop_default() -> Self {
        let root = std::env::var_os("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
            })
            .unwrap_or_else(|| PathBuf::from(".cache/huggingface/hub"));
        Self::new(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        self.root
            .join(format!("models--{}", repo.replace('/', "--")))
    }

    pub fn snapshot_dir(&self, repo: &str, commit: &str) -> PathBuf {
        self.repo_dir(repo).join("snapshots").join(commit)
    }

    pub(crate) fn blob(&self, repo: &str, file: &RepoFile) -> PathBuf {
        self.repo_dir(repo).join("blobs").join(file.blob_name())
    }

    pub(crate) fn incomplete(&self, repo: &str, file: &RepoFile) -> PathBuf {
        self.repo_dir(repo)
            .join("blobs")
            .join(format!("{}.incomplete", file.blob_name()))
    }

    /// The commit `revision` pointed to when last seen (a commit id is its
    /// own answer).
    pub fn commit_of(&self, repo: &str, revision: &str) -> Option<String> {
        if revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit()) {
            return Some(revision.to_ascii_lowercase());
        }
        let text = std::fs::read_to_string(self.repo_dir(repo).join("refs").join(revision)).ok()?;
        let commit = text.trim();
        (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| commit.to_string())
    }

    pub(crate) fn set_ref(&self, repo: &str, revision: &str, commit: &str) -> Result<()> {
        if revision == commit {
            return Ok(());
        }
        let refs = self.repo_dir(repo).join("refs");
        std::fs::create_dir_all(&refs).map_err(|e| StoreError::io(&refs, e))?;
        write_atomically(&refs.join(revision), commit.as_bytes())
    }

    /// The snapshot's path to `file`, if its verified blob is there.
    pub(crate) fn cached(&self, repo: &str, commit: &str, file: &RepoFile) -> Option<PathBuf> {
        let link = self.snapshot_dir(repo, commit).join(&file.name);
        let blob = self.blob(repo, file);
        let len = std::fs::metadata(&blob).ok()?.len();
        (len == file.size && link.exists()).then_some(link)
    }

    /// A verified download becomes the blob, and the snapshot points at it.
    pub(crate) fn commit_blob(
        &self,
        repo: &str,
        commit: &str,
        file: &RepoFile,
        verified: &Path,
    ) -> Result<PathBuf> {
        let blob = self.blob(repo, file);
        std::fs::rename(verified, &blob).map_err(|e| StoreError::io(&blob, e))?;
        self.link(repo, commit, file)
    }

    /// Points the snapshot's `file` at its blob (already there).
    pub(crate) fn link(&self, repo: &str, commit: &str, file: &RepoFile) -> Result<PathBuf> {
        let link = self.snapshot_dir(repo, commit).join(&file.name);
        let parent = link.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
        let _ = std::fs::remove_file(&link);
        let depth = file.name.matches('/').count() + 2;
        let target = PathBuf::from("../".repeat(depth))
            .join("blobs")
            .join(file.blob_name());
        make_link(&target, &self.blob(repo, file), &link)?;
        Ok(link)
    }

    /// Removes everything kept of `repo` (after it was converted, on a phone).
    pub fn remove_repo(&self, repo: &str) -> Result<()> {
        let dir = self.repo_dir(repo);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(&dir, e)),
            _ => Ok(()),
        }
    }

    pub(crate) fn ensure_blobs_dir(&self, repo: &str) -> Result<PathBuf> {
        let dir = self.repo_dir(repo).join("blobs");
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(dir)
    }
}

#[cfg(unix)]
fn make_link(relative: &Path, _blob: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(relative, link).map_err(|e| StoreError::io(link, e))
}

#[cfg(not(unix))]
fn make_link(_relative: &Path, blob: &Path, link: &Path) -> Result<()> {
    std::fs::hard_link(blob, link).map_err(|e| StoreError::io(link, e))
}
