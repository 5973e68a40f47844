//! The models a person can pick (`models/catalog.json`), read through a typed
//! loader that refuses anything the apps could not act on.
//!
//! No converted Imp file is published anywhere, so entries list no files: a
//! phone makes its own from the authors' checkpoint on the hub
//! (`ModelStore::install_from_hub`), and [`CatalogEntry::how_to_get`] says so
//! in words for the person. When a file is published, its URL, size and
//! SHA-256 go in `files` and the apps download and verify it.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// The catalogue format this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The catalogue this build was shipped with.
const BUNDLED: &str = include_str!("../../../models/catalog.json");

/// The Imp sizes the engine runs, by the names the catalogue uses.
pub const VARIANTS: [&str; 4] = ["imp-2b", "imp-3b-196", "imp-3b", "imp-4b"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub schema_version: u32,
    pub models: Vec<CatalogEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// Stable, lower-case, used in file names and settings.
    pub id: String,
    pub display_name: String,
    /// One of [`VARIANTS`].
    pub variant: String,
    /// The float checkpoint the files are converted from.
    pub source: SourceCheckpoint,
    /// The picture size the vision tower was trained at.
    pub image_size: u32,
    /// What `ModelInfo` estimates the q4_k file needs in memory: the mapped
    /// weights plus a KV cache filled to the context.
    pub memory_bytes: u64,
    /// One line for the picker: what this model is good for.
    pub good_for: String,
    #[serde(default)]
    pub files: Vec<PublishedFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceCheckpoint {
    /// A hub repository, e.g. `MILVLG/Imp-v1.5-3B-196`.
    pub repo: String,
    /// A branch, tag or commit of that repository (`main` where no public
    /// page shows a commit id; the commit downloaded is recorded at install).
    pub revision: String,
    /// What a phone downloads of it: the float weights, config and tokenizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_bytes: Option<u64>,
}

/// A converted file someone published, and what proves it is that file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedFile {
    pub file_name: String,
    pub url: String,
    pub size_bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// The language model's type, e.g. `q4_k`.
    pub quantization: String,
}

impl Catalog {
    /// The catalogue shipped inside this build (`models/catalog.json`).
    pub fn bundled() -> Self {
        Self::from_json(BUNDLED).expect("the bundled catalogue is checked by the tests")
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let catalog: Catalog =
            serde_json::from_str(text).map_err(|e| StoreError::Catalog(e.to_string()))?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// A catalogue published at `url` (e.g. a newer one than the bundled):
    /// https (or this device), within the downloads' timeouts, at most 4 MiB.
    pub fn fetch(url: &str) -> Result<Self> {
        let options = crate::download::DownloadOptions {
            retries: 2,
            ..Default::default()
        };
        let bytes =
            crate::download::fetch_bytes(url, &options, &imp_core::CancelToken::new(), 4 << 20)?;
        let text = String::from_utf8(bytes).map_err(|e| StoreError::Catalog(e.to_string()))?;
        Self::from_json(&text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises")
    }

    pub fn entry(&self, id: &str) -> Result<&CatalogEntry> {
        self.models
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| StoreError::UnknownModel(id.to_string()))
    }

    fn validate(&self) -> Result<()> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(StoreError::Catalog(format!(
                "schema_version {} (this build reads {SCHEMA_VERSION})",
                self.schema_version
            )));
        }
        let mut ids = std::collections::HashSet::new();
        for entry in &self.models {
            entry
                .validate()
                .map_err(|e| StoreError::Catalog(format!("{}: {e}", entry.id)))?;
            if !ids.insert(entry.id.as_str()) {
                return Err(StoreError::Catalog(format!("{} is listed twice", entry.id)));
            }
        }
        Ok(())
    }
}

impl CatalogEntry {
    /// The file to download: the first published one of `quantization`, or
    /// the first of all.
    pub fn file(&self, quantization: Option<&str>) -> Result<&PublishedFile> {
        let file = match quantization {
            Some(q) => self.files.iter().find(|f| f.quantization == q),
            None => self.files.first(),
        };
        file.ok_or_else(|| StoreError::NotPublished {
            id: self.id.clone(),
            how: self.how_to_get(),
        })
    }

    /// How this model gets onto the device when no converted file is
    /// published, in words for the person (no commands).
    pub fn how_to_get(&self) -> String {
        match self.source.download_bytes {
            Some(bytes) => format!(
                "it is made on this device from its authors' version on the Hugging Face hub: \
                 about {:.1} GB to download, then a few minutes to prepare",
                bytes as f64 / 1e9
            ),
            None => "it is made on this device from its authors' version on the Hugging Face hub"
                .to_string(),
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err("an id is lower-case letters, digits, '-' and '_'".into());
        }
        if !VARIANTS.contains(&self.variant.as_str()) {
            return Err(format!(
                "variant {:?} is none of {}",
                self.variant,
                VARIANTS.join(", ")
            ));
        }
        if self.display_name.trim().is_empty() || self.good_for.trim().is_empty() {
            return Err("display_name and good_for must say something".into());
        }
        if !self.source.repo.contains('/') || self.source.revision.is_empty() {
            return Err("source names a hub repository and a revision".into());
        }
        if self.memory_bytes == 0 || self.image_size == 0 {
            return Err("memory_bytes and image_size must be set".into());
        }
        for file in &self.files {
            file.validate()?;
        }
        Ok(())
    }
}

impl PublishedFile {
    fn validate(&self) -> std::result::Result<(), String> {
        let name_ok = self.file_name.ends_with(".gguf")
            && !self.file_name.contains(['/', '\\'])
            && !self.file_name.starts_with('.');
        if !name_ok {
            return Err(format!(
                "file_name {:?} is not a plain .gguf name",
                self.file_name
            ));
        }
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            return Err(format!("url {:?} is not http(s)", self.url));
        }
        if !is_sha256_hex(&self.sha256) {
            return Err(format!(
                "sha256 {:?} is not 64 lower-case hex digits",
                self.sha256
            ));
        }
        if self.size_bytes == 0 || self.quantization.is_empty() {
            return Err("size_bytes and quantization must be set".into());
        }
        Ok(())
    }
}

pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(file: &str) -> String {
        let bundled = Catalog::bundled().to_json();
        bundled.replacen("\"files\": []", &format!("\"files\": [{file}]"), 1)
    }

    const GOOD_FILE: &str = r#"{"file_name": "a.gguf", "url": "https://example.org/a.gguf",
        "size_bytes": 10, "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
        "quantization": "q4_k"}"#;

    #[test]
    fn bundled_catalogue_lists_every_variant_without_invented_files() {
        let catalog = Catalog::bundled();
        for variant in VARIANTS {
            assert!(
                catalog.models.iter().any(|m| m.variant == variant),
                "{variant}"
            );
        }
        for entry in &catalog.models {
            assert!(
                entry.files.is_empty(),
                "{}: nothing is published yet",
                entry.id
            );
            let err = entry.file(None).unwrap_err().to_string();
            assert!(err.contains("Hugging Face hub"), "{err}");
            assert!(
                !err.contains('`') && !err.contains("imp "),
                "no command: {err}"
            );
        }
    }

    #[test]
    fn published_files_are_checked() {
        let catalog = Catalog::from_json(&with_file(GOOD_FILE)).unwrap();
        assert_eq!(catalog.models[0].file(Some("q4_k")).unwrap().size_bytes, 10);
        assert!(catalog.models[0].file(Some("q8_0")).is_err());
        for (from, to) in [
            ("a.gguf\"", "../a.gguf\""),
            ("https://", "ftp://"),
            ("\"0000", "\"X000"),
            ("\"size_bytes\": 10", "\"size_bytes\": 0"),
        ] {
            let bad = with_file(&GOOD_FILE.replacen(from, to, 1));
            assert!(Catalog::from_json(&bad).is_err(), "{from} -> {to}");
        }
    }

    #[test]
    fn malformed_catalogues_are_refused() {
        let good = Catalog::bundled().to_json();
        let first_id = &Catalog::bundled().models[0].id;
        for bad in [
            good.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1),
            good.replacen("\"variant\": \"", "\"variant\": \"x", 1),
            good.replacen("\"display_name\"", "\"colour\": 1, \"display_name\"", 1),
            good.replacen(
                &format!("\"id\": \"{}\"", Catalog::bundled().models[1].id),
                &format!("\"id\": \"{first_id}\""),
                1,
            ),
            "{".to_string(),
        ] {
            assert!(Catalog::from_json(&bad).is_err(), "{bad}");
        }
    }
}
