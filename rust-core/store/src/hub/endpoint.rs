//! Where the hub is, and the names that go into its URLs.

use crate::disk::is_plain_name;
use crate::download::transfer::check_url;
use crate::error::{Result, StoreError};

/// The hub (or a mirror of it) and whether the network may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubEndpoint {
    /// No trailing slash, e.g. `https://huggingface.co`.
    pub base: String,
    /// `HF_HUB_OFFLINE`: use what is on this device, fail at once otherwise.
    pub offline: bool,
}

impl HubEndpoint {
    pub const DEFAULT: &'static str = "https://huggingface.co";

    /// `HF_ENDPOINT` (default the hub) and `HF_HUB_OFFLINE`, as the hub's own
    /// clients read them.
    pub fn from_env() -> Result<Self> {
        let base = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| Self::DEFAULT.to_string());
        let offline = std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        });
        Self::new(&base, offline)
    }

    /// An endpoint the downloader will talk to: https, or http on this device.
    pub fn new(base: &str, offline: bool) -> Result<Self> {
        let base = base.trim().trim_end_matches('/').to_string();
        check_url(&base, None).map_err(StoreError::Refused)?;
        Ok(Self { base, offline })
    }

    pub(crate) fn listing_url(&self, repo: &str, revision: &str) -> String {
        format!(
            "{}/api/models/{repo}/revision/{revision}?blobs=true",
            self.base
        )
    }

    pub(crate) fn resolve_url(&self, repo: &str, commit: &str, file: &str) -> String {
        format!("{}/{repo}/resolve/{commit}/{file}", self.base)
    }
}

/// `owner/name`, each of letters, digits, `-`, `_`, `.`, not starting with a
/// dot: a repo id can then be put in a URL and a directory name as it is.
pub fn check_repo_id(repo: &str) -> Result<()> {
    let part_ok = |p: &str| is_plain_name(p, 96);
    match repo.split_once('/') {
        Some((owner, name)) if part_ok(owner) && part_ok(name) => Ok(()),
        _ => Err(StoreError::InvalidArgument(format!(
            "{repo:?} is not a hub repository id (owner/name)"
        ))),
    }
}

/// A branch, tag or commit usable in a URL path and a file name.
pub(crate) fn check_revision(revision: &str) -> Result<()> {
    if is_plain_name(revision, 128) {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument(format!(
            "{revision:?} is not a revision this client accepts"
        )))
    }
}

/// A file name from a listing: relative, no `..`, no backslash.
pub(crate) fn check_file_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..");
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument(format!(
            "{name:?} is not a file name the hub could list"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_reach_urls_and_paths_are_checked() {
        assert!(check_repo_id("MILVLG/Imp-v1.5-3B-196").is_ok());
        for bad in ["MILVLG", "../x", "a/b/c", "a/..", "a/.git", "a b/c", "/x"] {
            assert!(check_repo_id(bad).is_err(), "{bad}");
        }
        assert!(check_revision("main").is_ok());
        assert!(check_revision("0123456789abcdef0123456789abcdef01234567").is_ok());
        assert!(check_revision("../main").is_err());
        assert!(check_file_name("model-00001-of-00002.safetensors").is_ok());
        for bad in ["../config.json", "/etc/passwd", "a/../b", "a\\b", ""] {
            assert!(check_file_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_are_https_or_on_this_device() {
        assert!(HubEndpoint::new("https://huggingface.co/", false).is_ok());
        assert_eq!(
            HubEndpoint::new("http://127.0.0.1:9/", false).unwrap().base,
            "http://127.0.0.1:9"
        );
        assert!(HubEndpoint::new("http://mirror.example.org", false).is_err());
    }
}
