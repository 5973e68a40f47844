//! "Add a model": what a person types or pastes, read the way they mean it.
//!
//! People paste what their browser shows: a repository id
//! (`MILVLG/Imp-v1.5-3B-196`), the repository's page
//! (`https://huggingface.co/MILVLG/Imp-v1.5-3B-196`, maybe `/tree/main`), a
//! file's page (`.../blob/main/imp.gguf`, which is HTML, not the file) or its
//! download link (`.../resolve/main/imp.gguf?download=true`), or a `.gguf`
//! link anywhere else. Both apps read them here, so they agree.

use imp_core::CancelToken;

use super::{DownloadSource, InstallProgress, InstallStage, InstalledModel, ModelStore};
use crate::catalog::is_sha256_hex;
use crate::error::{Result, StoreError};
use crate::hub::{check_repo_id, HubEndpoint};

/// Where a model the person asked for comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelAddress {
    /// A hub repository holding an Imp float checkpoint, converted here.
    HubRepo { repo: String, revision: String },
    /// A ready `.gguf` file, checked against `sha256` when the person gave one.
    GgufUrl { url: String, sha256: Option<String> },
}

/// The hub's own host names, besides the endpoint the store is set to.
const HUB_HOSTS: [&str; 3] = ["huggingface.co", "www.huggingface.co", "hf.co"];

impl ModelAddress {
    /// Reads `text` (and the optional checksum) as a model address, or says
    /// in words what it is not. `hub` is the store's hub, whose pages count
    /// as hub pages too (a mirror).
    pub fn parse(text: &str, sha256: Option<&str>, hub: Option<&HubEndpoint>) -> Result<Self> {
        let text = text.trim();
        let sha256 = checksum(sha256)?;
        if text.is_empty() {
            return Err(not_an_address(
                "Type a Hugging Face repository, such as MILVLG/Imp-v1.5-3B-196, or paste a link to a .gguf file.",
            ));
        }
        let address = if text.contains("://") {
            from_link(text, hub)?
        } else if HUB_HOSTS.iter().any(|h| text.starts_with(&format!("{h}/"))) {
            from_link(&format!("https://{text}"), hub)?
        } else {
            check_repo_id(text).map_err(|_| {
                not_an_address(&format!(
                    "\"{text}\" is neither a Hugging Face repository (owner/name) nor a link."
                ))
            })?;
            Self::HubRepo {
                repo: text.to_string(),
                revision: "main".to_string(),
            }
        };
        match (address, sha256) {
            (Self::GgufUrl { url, .. }, sha256) => Ok(Self::GgufUrl { url, sha256 }),
            (Self::HubRepo { .. }, Some(_)) => Err(not_an_address(
                "A checksum goes with a .gguf link; a repository's files are checked against the hub's own checksums.",
            )),
            (address, None) => Ok(address),
        }
    }
}

impl ModelStore {
    /// `text` as an address, with this store's hub counting as the hub.
    pub fn model_address(&self, text: &str, sha256: Option<&str>) -> Result<ModelAddress> {
        let hub = self.hub_settings().endpoint().ok();
        ModelAddress::parse(text, sha256, hub.as_ref())
    }

    /// Installs the model at `address`: a repository's checkpoint converted
    /// here, or a `.gguf` downloaded and checked. Progress is one figure
    /// either way (a file has only the download stage).
    pub fn add(
        &self,
        address: &ModelAddress,
        progress: &mut dyn FnMut(InstallProgress),
        cancel: &CancelToken,
    ) -> Result<InstalledModel> {
        match address {
            ModelAddress::HubRepo { repo, revision } => {
                let model = self.hub_model_for_repo(repo, revision)?;
                self.install_from_hub(&model, progress, cancel)
            }
            ModelAddress::GgufUrl { url, sha256 } => {
                let source = DownloadSource::Url {
                    url: url.clone(),
                    sha256: sha256.clone(),
                    size: None,
                    id: None,
                };
                self.download(
                    &source,
                    &mut |p| progress(file_progress(p.done, p.total)),
                    cancel,
                )
            }
        }
    }
}

fn file_progress(done: u64, total: Option<u64>) -> InstallProgress {
    InstallProgress {
        stage: InstallStage::Downloading,
        done,
        total,
        fraction: total
            .filter(|t| *t > 0)
            .map_or(0.0, |t| (done as f64 / t as f64).min(1.0)),
    }
}

fn from_link(text: &str, hub: Option<&HubEndpoint>) -> Result<ModelAddress> {
    let url = url::Url::parse(text)
        .map_err(|_| not_an_address(&format!("\"{text}\" is not a link that can be opened.")))?;
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    if is_hub_page(&url, hub) {
        if let Some(address) = hub_address(&url, &segments) {
            return Ok(address);
        }
    }
    if segments.last().is_some_and(|f| f.ends_with(".gguf")) {
        return Ok(ModelAddress::GgufUrl {
            url: url.to_string(),
            sha256: None,
        });
    }
    Err(not_an_address(
        "This link is neither a Hugging Face repository nor a .gguf file.",
    ))
}

fn is_hub_page(url: &url::Url, hub: Option<&HubEndpoint>) -> bool {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    HUB_HOSTS.contains(&host.as_str())
        || hub
            .and_then(|h| url::Url::parse(&h.base).ok())
            .is_some_and(|base| base.origin() == url.origin())
}

/// `owner/name`, `owner/name/tree/REV`, and a `.gguf`'s `blob` page or
/// `resolve` link (the page turned into the file's link).
fn hub_address(url: &url::Url, segments: &[&str]) -> Option<ModelAddress> {
    let repo = |s: &[&str]| format!("{}/{}", s[0], s[1]);
    match segments {
        [_, _] => Some(ModelAddress::HubRepo {
            repo: repo(segments),
            revision: "main".to_string(),
        }),
        [_, _, "tree", revision] => Some(ModelAddress::HubRepo {
            repo: repo(segments),
            revision: revision.to_string(),
        }),
        [_, _, "blob" | "resolve", revision, file @ ..]
            if file.last().is_some_and(|f| f.ends_with(".gguf")) =>
        {
            let mut link = url.clone();
            link.set_query(None);
            link.set_fragment(None);
            link.set_path(&format!(
                "{}/resolve/{revision}/{}",
                repo(segments),
                file.join("/")
            ));
            Some(ModelAddress::GgufUrl {
                url: link.to_string(),
                sha256: None,
            })
        }
        _ => None,
    }
    .filter(|a| match a {
        ModelAddress::HubRepo { repo, .. } => check_repo_id(repo).is_ok(),
        ModelAddress::GgufUrl { .. } => true,
    })
}

/// A SHA-256 as people paste it: any case, spaces around, maybe with the
/// `sha256:` prefix the hub shows.
fn checksum(sha256: Option<&str>) -> Result<Option<String>> {
    let Some(sha) = sha256.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let sha = sha
        .strip_prefix("sha256:")
        .unwrap_or(sha)
        .to_ascii_lowercase();
    if is_sha256_hex(&sha) {
        Ok(Some(sha))
    } else {
        Err(not_an_address(
            "The checksum must be a SHA-256: 64 digits and letters a to f.",
        ))
    }
}

fn not_an_address(reason: &str) -> StoreError {
    StoreError::NotAnAddress(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ModelAddress> {
        ModelAddress::parse(text, None, None)
    }

    fn repo(repo: &str, revision: &str) -> ModelAddress {
        ModelAddress::HubRepo {
            repo: repo.into(),
            revision: revision.into(),
        }
    }

    fn gguf(url: &str) -> ModelAddress {
        ModelAddress::GgufUrl {
            url: url.into(),
            sha256: None,
        }
    }

    #[test]
    fn repository_ids_and_pages_name_the_repository() {
        let want = repo("MILVLG/Imp-v1.5-3B-196", "main");
        for text in [
            "MILVLG/Imp-v1.5-3B-196",
            "  MILVLG/Imp-v1.5-3B-196\n",
            "https://huggingface.co/MILVLG/Imp-v1.5-3B-196",
            "https://huggingface.co/MILVLG/Imp-v1.5-3B-196/",
            "huggingface.co/MILVLG/Imp-v1.5-3B-196",
            "https://hf.co/MILVLG/Imp-v1.5-3B-196?library=transformers#top",
        ] {
            assert_eq!(parse(text).unwrap(), want, "{text}");
        }
        assert_eq!(
            parse("https://huggingface.co/MILVLG/Imp-v1.5-3B-196/tree/2b4a7c1").unwrap(),
            repo("MILVLG/Imp-v1.5-3B-196", "2b4a7c1")
        );
    }

    #[test]
    fn a_gguf_page_becomes_its_download_link() {
        let want = gguf("https://huggingface.co/someone/imp-gguf/resolve/main/q4/imp.gguf");
        for text in [
            "https://huggingface.co/someone/imp-gguf/blob/main/q4/imp.gguf",
            "https://huggingface.co/someone/imp-gguf/resolve/main/q4/imp.gguf?download=true",
        ] {
            assert_eq!(parse(text).unwrap(), want, "{text}");
        }
        assert_eq!(
            parse("https://example.org/models/imp.gguf").unwrap(),
            gguf("https://example.org/models/imp.gguf")
        );
    }

    #[test]
    fn the_stores_hub_counts_as_the_hub() {
        let hub = HubEndpoint::new("http://127.0.0.1:8123", false).unwrap();
        assert_eq!(
            ModelAddress::parse(
                "http://127.0.0.1:8123/MILVLG/Imp-v1.5-3B-196",
                None,
                Some(&hub)
            )
            .unwrap(),
            repo("MILVLG/Imp-v1.5-3B-196", "main")
        );
        // Another port is another site: only a .gguf there is a model.
        assert!(ModelAddress::parse(
            "http://127.0.0.1:9/MILVLG/Imp-v1.5-3B-196",
            None,
            Some(&hub)
        )
        .is_err());
    }

    #[test]
    fn a_checksum_is_read_as_pasted_and_only_for_a_file() {
        let sha = "AB".repeat(32);
        let parsed = ModelAddress::parse(
            "https://example.org/imp.gguf",
            Some(&format!(" sha256:{sha} ")),
            None,
        )
        .unwrap();
        assert_eq!(
            parsed,
            ModelAddress::GgufUrl {
                url: "https://example.org/imp.gguf".into(),
                sha256: Some("ab".repeat(32)),
            }
        );
        assert!(ModelAddress::parse("https://example.org/imp.gguf", Some("  "), None).is_ok());
        let short = ModelAddress::parse("https://example.org/imp.gguf", Some("abc"), None);
        assert!(short.unwrap_err().to_string().contains("SHA-256"));
        let on_repo = ModelAddress::parse("MILVLG/Imp-v1.5-3B-196", Some(&sha), None);
        assert!(on_repo
            .unwrap_err()
            .to_string()
            .contains("hub's own checksums"));
    }

    #[test]
    fn anything_else_is_refused_in_words() {
        for text in [
            "",
            "   ",
            "Imp",
            "../../etc/passwd",
            "MILVLG/Imp/extra",
            "https://huggingface.co/MILVLG",
            "https://huggingface.co/MILVLG/Imp-v1.5-3B-196/blob/main/config.json",
            "https://example.org/model.bin",
            "not a link://",
        ] {
            let err = parse(text).unwrap_err();
            assert!(
                matches!(err, StoreError::NotAnAddress(_)),
                "{text:?}: {err:?}"
            );
        }
    }
}
