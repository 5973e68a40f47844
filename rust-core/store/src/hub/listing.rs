//! What a repository holds at a revision, and which files Imp needs of it.

use serde::Deserialize;

use super::endpoint::check_file_name;
use crate::download::Checksum;
use crate::error::{Result, StoreError};

/// The slow tokenizer's files (the Phi-2 checkpoints ship these, not
/// `tokenizer.json`).
const SLOW_TOKENIZER: [&str; 5] = [
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];
const INDEX: &str = "model.safetensors.index.json";

/// One file of the repository, and what its bytes must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    pub name: String,
    pub size: u64,
    pub checksum: Checksum,
}

impl RepoFile {
    /// The name of its blob in the cache: the hub's ETag for it.
    pub fn blob_name(&self) -> &str {
        match &self.checksum {
            Checksum::Sha256(h) | Checksum::GitBlobSha1(h) => h,
        }
    }
}

/// A repository at one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSnapshot {
    pub repo: String,
    pub commit: String,
    pub files: Vec<RepoFile>,
}

#[derive(Deserialize)]
struct ApiModel {
    sha: String,
    #[serde(default)]
    siblings: Vec<ApiSibling>,
}

#[derive(Deserialize)]
struct ApiSibling {
    rfilename: String,
    size: Option<u64>,
    #[serde(rename = "blobId")]
    blob_id: Option<String>,
    lfs: Option<ApiLfs>,
}

#[derive(Deserialize)]
struct ApiLfs {
    sha256: String,
    size: u64,
}

impl RepoSnapshot {
    /// The answer of `/api/models/{repo}/revision/{rev}?blobs=true`.
    pub fn parse(repo: &str, json: &[u8]) -> Result<Self> {
        let bad = |why: String| StoreError::Network {
            url: format!("the hub's listing of {repo}"),
            reason: why,
        };
        let api: ApiModel =
            serde_json::from_slice(json).map_err(|e| bad(format!("not the hub's JSON: {e}")))?;
        if !is_hex(&api.sha, 40) {
            return Err(bad(format!("{:?} is not a commit id", api.sha)));
        }
        let mut files = Vec::with_capacity(api.siblings.len());
        for s in api.siblings {
            if check_file_name(&s.rfilename).is_err() {
                return Err(bad(format!("{:?} is not a file name", s.rfilename)));
            }
            let file = match (s.lfs, s.blob_id, s.size) {
                (Some(lfs), _, _) if is_hex(&lfs.sha256, 64) => RepoFile {
                    name: s.rfilename,
                    size: lfs.size,
                    checksum: Checksum::Sha256(lfs.sha256.to_ascii_lowercase()),
                },
                (None, Some(blob), Some(size)) if is_hex(&blob, 40) => RepoFile {
                    name: s.rfilename,
                    size,
                    checksum: Checksum::GitBlobSha1(blob.to_ascii_lowercase()),
                },
                // A file without checksums cannot be verified: it is listed
                // as nothing, and refused if Imp needs it.
                _ => continue,
            };
            files.push(file);
        }
        Ok(Self {
            repo: repo.to_string(),
            commit: api.sha.to_ascii_lowercase(),
            files,
        })
    }

    pub fn file(&self, name: &str) -> Result<&RepoFile> {
        self.files.iter().find(|f| f.name == name).ok_or_else(|| {
            StoreError::InvalidModel(format!(
                "{} at {} has no verifiable {name}: not an Imp checkpoint",
                self.repo, self.commit
            ))
        })
    }

    fn has(&self, name: &str) -> bool {
        self.files.iter().any(|f| f.name == name)
    }

    /// The files needed before the weights can be named: the config, the
    /// shard index if there is one, and the tokenizer.
    pub fn small_files(&self) -> Result<Vec<&RepoFile>> {
        let mut names = vec!["config.json"];
        if self.has(INDEX) {
            names.push(INDEX);
        }
        if self.has("tokenizer.json") {
            names.push("tokenizer.json");
        } else if self.has("vocab.json") && self.has("merges.txt") {
            names.extend(SLOW_TOKENIZER.iter().filter(|f| self.has(f)));
        } else {
            return Err(StoreError::InvalidModel(format!(
                "{} has neither tokenizer.json nor vocab.json and merges.txt",
                self.repo
            )));
        }
        names.into_iter().map(|n| self.file(n)).collect()
    }

    /// The weight files: the shards the index names (read from `index`, the
    /// downloaded index file), else every top-level `.safetensors`.
    pub fn weight_files(&self, index: Option<&[u8]>) -> Result<Vec<&RepoFile>> {
        let names: Vec<String> = match index {
            Some(bytes) => shards(bytes)?,
            None => self
                .files
                .iter()
                .filter(|f| f.name.ends_with(".safetensors") && !f.name.contains('/'))
                .map(|f| f.name.clone())
                .collect(),
        };
        if names.is_empty() {
            return Err(StoreError::InvalidModel(format!(
                "{} has no .safetensors weights",
                self.repo
            )));
        }
        names.iter().map(|n| self.file(n)).collect()
    }
}

/// The distinct shard names of a `model.safetensors.index.json`, sorted.
pub(crate) fn shards(index: &[u8]) -> Result<Vec<String>> {
    let json: serde_json::Value = serde_json::from_slice(index)
        .map_err(|e| StoreError::InvalidModel(format!("{INDEX}: {e}")))?;
    let map = json["weight_map"]
        .as_object()
        .ok_or_else(|| StoreError::InvalidModel(format!("{INDEX} has no weight_map")))?;
    let mut files: Vec<String> = map
        .values()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    files.sort();
    files.dedup();
    for f in &files {
        check_file_name(f)?;
    }
    Ok(files)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = r#"{"id": "MILVLG/x", "sha": "0123456789abcdef0123456789abcdef01234567",
      "siblings": [
        {"rfilename": "config.json", "size": 10, "blobId": "ce013625030ba8dba906f756967f9e9ca394464a"},
        {"rfilename": "model.safetensors.index.json", "size": 5, "blobId": "ce013625030ba8dba906f756967f9e9ca394464b"},
        {"rfilename": "model-00001-of-00002.safetensors", "size": 99, "blobId": "0000000000000000000000000000000000000000",
         "lfs": {"sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", "size": 99, "pointerSize": 134}},
        {"rfilename": "vocab.json", "size": 1, "blobId": "ce013625030ba8dba906f756967f9e9ca394464c"},
        {"rfilename": "merges.txt", "size": 1, "blobId": "ce013625030ba8dba906f756967f9e9ca394464d"},
        {"rfilename": "modeling_imp.py", "size": 1}
      ]}"#;

    #[test]
    fn a_listing_gives_each_file_its_checksum_and_imp_its_files() {
        let snap = RepoSnapshot::parse("MILVLG/x", LISTING.as_bytes()).unwrap();
        assert_eq!(snap.commit, "0123456789abcdef0123456789abcdef01234567");
        let weights = snap.file("model-00001-of-00002.safetensors").unwrap();
        assert_eq!(weights.size, 99);
        assert!(matches!(&weights.checksum, Checksum::Sha256(h) if h.starts_with("5891")));
        assert!(
            snap.file("modeling_imp.py").is_err(),
            "no checksum, not listed"
        );
        let small: Vec<&str> = snap
            .small_files()
            .unwrap()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(small, ["config.json", INDEX, "vocab.json", "merges.txt"]);
        let index = br#"{"weight_map": {"a": "model-00001-of-00002.safetensors"}}"#;
        assert_eq!(snap.weight_files(Some(index)).unwrap().len(), 1);
        let missing = br#"{"weight_map": {"a": "model-00002-of-00002.safetensors"}}"#;
        assert!(snap.weight_files(Some(missing)).is_err());
        let escaping = br#"{"weight_map": {"a": "../../x.safetensors"}}"#;
        assert!(snap.weight_files(Some(escaping)).is_err());
    }

    #[test]
    fn hostile_listings_are_refused() {
        for bad in [
            LISTING.replace("0123456789abcdef0123456789abcdef01234567", "main"),
            LISTING.replace("\"vocab.json\"", "\"../vocab.json\""),
            "[]".to_string(),
        ] {
            assert!(
                RepoSnapshot::parse("MILVLG/x", bad.as_bytes()).is_err(),
                "{bad}"
            );
        }
    }
}
