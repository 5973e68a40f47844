//! The models on this device, in a directory the app gives:
//!
//! ```text
//! <dir>/models/<id>.gguf        the model, only ever complete and verified
//! <dir>/models/<id>.json        its manifest: where it came from, its SHA-256
//! <dir>/downloads/<id>.gguf.partial(.json)   a download or copy under way
//! ```
//!
//! A file reaches `models/` by one rename, after its bytes were checked; a
//! crash before that leaves only the partial file (resumed next time), after it
//! a model whose manifest is rebuilt from the file if it was not yet written.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use imp_core::{CancelToken, LoadOptions, ModelInfo};

use crate::catalog::{Catalog, CatalogEntry};
use crate::disk::{free_space, is_plain_name, sync_dir, write_atomically};
use crate::download::{
    discard_partial, hex, sha256_file, Checksum, Download, DownloadOptions, DownloadRequest,
    FreeSpaceProbe, PartialLock, TransferProgress,
};
use crate::error::{Result, StoreError};
pub use address::ModelAddress;
pub use from_hub::{hub_conversion, HubModel, HubSettings, InstallProgress, InstallStage};

mod address;
mod from_hub;

/// Where an installed model came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    Download {
        url: String,
    },
    /// Copied (or moved) from `from`.
    Import {
        from: String,
    },
    /// Converted on this device from the float checkpoint `from` (stores
    /// before the hub source wrote this for `imp ask --model REPO`).
    Converted {
        from: String,
    },
    /// Downloaded from the hub at `commit` (what `revision` pointed to then),
    /// every file verified against the hub's checksums, and converted here.
    Hub {
        repo: String,
        revision: String,
        commit: String,
        quantization: String,
    },
    /// Used where it is (a file the store does not own and will not delete).
    InPlace {
        path: String,
    },
    /// Found in the store without a manifest (a crash right after the install
    /// rename); its header was checked when it was adopted.
    Adopted,
}

/// What the store records of one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    id: String,
    size_bytes: u64,
    sha256: Option<String>,
    /// The checksum matched one the catalogue (or the caller) vouched for.
    verified: bool,
    catalog_id: Option<String>,
    origin: Origin,
    installed_at_ms: u64,
}

/// An installed model as the apps show it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledModel {
    pub id: String,
    pub path: PathBuf,
    pub size_bytes: u64,
    pub sha256: Option<String>,
    pub verified: bool,
    pub catalog_id: Option<String>,
    pub origin: Origin,
    pub installed_at_ms: u64,
    /// What the file is, from its header; `None` with `problem` if unreadable.
    pub info: Option<ModelInfo>,
    /// Why this model cannot be used, in words for the person.
    pub problem: Option<String>,
}

/// What to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadSource {
    /// A catalogue entry's published file (of this quantization, or the first).
    Catalog {
        id: String,
        quantization: Option<String>,
    },
    /// Any URL; checked against `sha256` and `size` when given.
    Url {
        url: String,
        sha256: Option<String>,
        size: Option<u64>,
        /// The installed id; default: the URL's file name without `.gguf`.
        id: Option<String>,
    },
}

/// A download or copy that did not finish (the app was closed, the network
/// went away): it resumes from `done` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDownload {
    pub id: String,
    pub done: u64,
}

/// How an imported file is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Copied into the store (the app's own storage).
    Copy,
    /// Moved into the store (renamed; copied then deleted across file systems).
    Move,
    /// Used where it is; removing it from the store leaves the file.
    InPlace,
}

/// The result of checking an installed model's bytes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub id: String,
    pub sha256: String,
    /// The checksum the bytes must have, when one is known.
    pub expected: Option<String>,
    pub ok: bool,
}

pub struct ModelStore {
    models: PathBuf,
    downloads: PathBuf,
    catalog: Catalog,
    free_space: Box<FreeSpaceProbe>,
    download_options: DownloadOptions,
    hub: HubSettings,
    /// What each model file's header said, until the file changes: listing
    /// the models (the apps do on every screen) does not re-parse GGUFs.
    headers: Mutex<HashMap<PathBuf, (FileStamp, ModelInfo)>>,
}

/// Enough of a file's metadata to tell that it changed since it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

impl ModelStore {
    /// The store under `dir` (created if needed), picking models from
    /// `catalog`. Opening is the one step that repairs: a model file left
    /// without its manifest (a crash between the install rename and the
    /// manifest write) is adopted here; reads after it only read.
    pub fn open(dir: &Path, catalog: Catalog) -> Result<Self> {
        let models = dir.join("models");
        let downloads = dir.join("downloads");
        for d in [&models, &downloads] {
            std::fs::create_dir_all(d).map_err(|e| StoreError::io(d, e))?;
        }
        let store = Self {
            models,
            downloads,
            catalog,
            free_space: Box::new(free_space),
            download_options: DownloadOptions::default(),
            hub: HubSettings::private_to(dir),
            headers: Mutex::default(),
        };
        store.adopt_orphans();
        Ok(store)
    }

    /// Replaces how free space is measured (tests simulate a full disk).
    pub fn with_free_space_probe(mut self, probe: Box<FreeSpaceProbe>) -> Self {
        self.free_space = probe;
        self
    }

    pub fn with_download_options(mut self, options: DownloadOptions) -> Self {
        self.download_options = options;
        self
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Installed models, oldest first; a model whose file is missing or
    /// unreadable is listed with its `problem`, not hidden.
    pub fn installed(&self) -> Result<Vec<InstalledModel>> {
        let mut models = Vec::new();
        for entry in read_dir(&self.models)? {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match read_manifest(&path) {
                Ok(manifest) => models.push(self.describe(manifest)),
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "skipping a manifest"),
            }
        }
        models.sort_by(|a, b| (a.installed_at_ms, &a.id).cmp(&(b.installed_at_ms, &b.id)));
        Ok(models)
    }

    pub fn get(&self, id: &str) -> Result<InstalledModel> {
        check_id(id)?;
        let manifest = read_manifest(&self.manifest_path(id))
            .map_err(|_| StoreError::UnknownModel(id.to_string()))?;
        Ok(self.describe(manifest))
    }

    /// Downloads and installs a model; an earlier partial download of the same
    /// model resumes. `progress` gets the bytes on disk so far.
    pub fn download(
        &self,
        source: &DownloadSource,
        progress: &mut dyn FnMut(TransferProgress),
        cancel: &CancelToken,
    ) -> Result<InstalledModel> {
        let (id, request, catalog_id) = self.resolve(source)?;
        let partial = self.partial_path(&id);
        let _lock = PartialLock::acquire(&partial)?;
        let done = Download {
            request: &request,
            options: &self.download_options,
            free_space: self.free_space.as_ref(),
            cancel,
        }
        .run(&partial, progress)?;
        let mut manifest = Manifest {
            id: id.clone(),
            size_bytes: done.size,
            sha256: Some(done.sha256),
            verified: request.checksum.is_some(),
            catalog_id,
            origin: Origin::Download { url: request.url },
            installed_at_ms: now_ms(),
        };
        if let Err(e) = check_model_file(&partial) {
            discard_partial(&partial);
            return Err(e);
        }
        self.identify(&partial, &mut manifest);
        self.install(&partial, manifest)
    }

    /// Downloads that did not finish, to offer resuming them.
    pub fn pending_downloads(&self) -> Result<Vec<PendingDownload>> {
        let mut pending = Vec::new();
        for entry in read_dir(&self.downloads)? {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(id) = name.strip_suffix(".gguf.partial") {
                let done = entry.metadata().map(|m| m.len()).unwrap_or(0);
                pending.push(PendingDownload {
                    id: id.to_string(),
                    done,
                });
            }
        }
        pending.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(pending)
    }

    /// Drops a download that will not be resumed.
    pub fn discard_download(&self, id: &str) -> Result<()> {
        check_id(id)?;
        discard_partial(&self.partial_path(id));
        Ok(())
    }

    /// Installs a model file the person has: its header must be a model this
    /// build runs, and its checksum `expected_sha256` when given (a file whose
    /// checksum a catalogue entry lists is marked verified too).
    pub fn import(
        &self,
        file: &Path,
        mode: ImportMode,
        expected_sha256: Option<&str>,
        progress: &mut dyn FnMut(TransferProgress),
        cancel: &CancelToken,
    ) -> Result<InstalledModel> {
        let id = id_from_name(&file.to_string_lossy())?;
        self.import_as(file, &id, mode, expected_sha256, progress, cancel)
    }

    /// `import` under a chosen id.
    pub fn import_as(
        &self,
        file: &Path,
        id: &str,
        mode: ImportMode,
        expected_sha256: Option<&str>,
        progress: &mut dyn FnMut(TransferProgress),
        cancel: &CancelToken,
    ) -> Result<InstalledModel> {
        check_model_file(file)?;
        check_id(id)?;
        let id = id.to_string();
        let size = std::fs::metadata(file)
            .map_err(|e| StoreError::io(file, e))?
            .len();
        // One writer per partial file (a second import or download of the
        // same id waits its turn by failing at once).
        let _lock = match mode {
            ImportMode::InPlace => None,
            _ => Some(PartialLock::acquire(&self.partial_path(&id))?),
        };
        let (installed_from, sha256) = match mode {
            ImportMode::Copy => {
                let partial = self.partial_path(&id);
                let sha = self.copy_in(file, &partial, size, progress, cancel)?;
                (partial, sha)
            }
            ImportMode::Move => {
                let partial = self.partial_path(&id);
                let sha = match std::fs::rename(file, &partial) {
                    Ok(()) => sha256_file(&partial, cancel, &mut |done| {
                        progress(TransferProgress {
                            done,
                            total: Some(size),
                        })
                    })?,
                    // Another file system: copy, then delete the original.
                    Err(_) => {
                        let sha = self.copy_in(file, &partial, size, progress, cancel)?;
                        std::fs::remove_file(file).map_err(|e| StoreError::io(file, e))?;
                        sha
                    }
                };
                (partial, sha)
            }
            ImportMode::InPlace => {
                let sha = sha256_file(file, cancel, &mut |done| {
                    progress(TransferProgress {
                        done,
                        total: Some(size),
                    })
                })?;
                (file.to_path_buf(), sha)
            }
        };
        if let Some(expected) = expected_sha256.filter(|e| *e != sha256) {
            if mode != ImportMode::InPlace {
                discard_partial(&installed_from);
            }
            return Err(StoreError::ChecksumMismatch {
                file: file.display().to_string(),
                kind: "SHA-256".into(),
                expected: expected.to_string(),
                actual: sha256,
            });
        }
        let published = self.published_with(&sha256);
        let origin = match mode {
            ImportMode::Copy | ImportMode::Move => Origin::Import {
                from: file.display().to_string(),
            },
            ImportMode::InPlace => Origin::InPlace {
                path: absolute(file).display().to_string(),
            },
        };
        let mut manifest = Manifest {
            id,
            size_bytes: size,
            verified: expected_sha256.is_some() || published.is_some(),
            sha256: Some(sha256),
            catalog_id: published,
            origin,
            installed_at_ms: now_ms(),
        };
        self.identify(&installed_from, &mut manifest);
        match mode {
            ImportMode::Copy | ImportMode::Move => self.install(&installed_from, manifest),
            ImportMode::InPlace => {
                self.write_manifest(&manifest)?;
                Ok(self.describe(manifest))
            }
        }
    }

    /// Installs a file just converted from the float checkpoint `from`
    /// (moved in, hashed, its header checked).
    pub fn install_converted(
        &self,
        file: &Path,
        id: &str,
        from: &str,
        cancel: &CancelToken,
    ) -> Result<InstalledModel> {
        self.import_as(file, id, ImportMode::Move, None, &mut |_| {}, cancel)?;
        let mut manifest = read_manifest(&self.manifest_path(id))?;
        manifest.origin = Origin::Converted {
            from: from.to_string(),
        };
        self.write_manifest(&manifest)?;
        Ok(self.describe(manifest))
    }

    /// The installed model converted from hub repo `repo`, if any and usable.
    pub fn converted_from(&self, repo: &str) -> Result<Option<InstalledModel>> {
        Ok(self.installed()?.into_iter().find(|m| {
            m.problem.is_none()
                && match &m.origin {
                    Origin::Converted { from } => from == repo,
                    Origin::Hub { repo: r, .. } => r == repo,
                    _ => false,
                }
        }))
    }

    /// Where downloads and conversions are written before they are installed
    /// (the same file system as the models, so installing is a rename).
    pub fn scratch_dir(&self) -> &Path {
        &self.downloads
    }

    /// Hashes an installed model again and compares with what it must be (the
    /// catalogue's checksum, else the one recorded at install). A model that
    /// fails is marked unverified; its file is left for the person to remove.
    pub fn verify(
        &self,
        id: &str,
        progress: &mut dyn FnMut(TransferProgress),
        cancel: &CancelToken,
    ) -> Result<Verification> {
        check_id(id)?;
        let mut manifest = read_manifest(&self.manifest_path(id))
            .map_err(|_| StoreError::UnknownModel(id.to_string()))?;
        let path = self.file_of(&manifest);
        check_model_file(&path)?;
        let size = manifest.size_bytes;
        let sha256 = sha256_file(&path, cancel, &mut |done| {
            progress(TransferProgress {
                done,
                total: Some(size),
            })
        })?;
        let expected = self
            .catalog_sha(&manifest)
            .or_else(|| manifest.sha256.clone());
        let ok = expected.as_ref().is_none_or(|e| *e == sha256);
        // Still vouched for if the bytes match what was vouched for before.
        let verified = ok && (manifest.verified || self.catalog_sha(&manifest).is_some());
        if manifest.verified != verified || manifest.sha256.is_none() {
            manifest.verified = verified;
            manifest.sha256.get_or_insert(sha256.clone());
            self.write_manifest(&manifest)?;
        }
        Ok(Verification {
            id: id.to_string(),
            sha256,
            expected,
            ok,
        })
    }

    /// Removes a model: its manifest, and its file unless it was used in place.
    pub fn remove(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let manifest_path = self.manifest_path(id);
        let manifest =
            read_manifest(&manifest_path).map_err(|_| StoreError::UnknownModel(id.to_string()))?;
        if !matches!(manifest.origin, Origin::InPlace { .. }) {
            let file = self.file_of(&manifest);
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StoreError::io(&file, e))
                }
                _ => {}
            }
        }
        std::fs::remove_file(&manifest_path).map_err(|e| StoreError::io(&manifest_path, e))?;
        sync_dir(&self.models);
        Ok(())
    }

    /// The id, request and catalogue entry of a download.
    fn resolve(
        &self,
        source: &DownloadSource,
    ) -> Result<(String, DownloadRequest, Option<String>)> {
        match source {
            DownloadSource::Catalog { id, quantization } => {
                let entry = self.catalog.entry(id)?;
                let file = entry.file(quantization.as_deref())?;
                let request = DownloadRequest {
                    url: file.url.clone(),
                    expected_size: Some(file.size_bytes),
                    checksum: Some(Checksum::Sha256(file.sha256.clone())),
                };
                Ok((
                    id_from_name(&file.file_name)?,
                    request,
                    Some(entry.id.clone()),
                ))
            }
            DownloadSource::Url {
                url,
                sha256,
                size,
                id,
            } => {
                if let Some(sha) = sha256
                    .as_deref()
                    .filter(|s| !crate::catalog::is_sha256_hex(s))
                {
                    return Err(StoreError::InvalidArgument(format!(
                        "{sha:?} is not a SHA-256 (64 lower-case hex digits)"
                    )));
                }
                let id = match id {
                    Some(id) => {
                        check_id(id)?;
                        id.clone()
                    }
                    None => id_from_name(url.split(['?', '#']).next().unwrap_or(url))?,
                };
                let request = DownloadRequest {
                    url: url.clone(),
                    expected_size: *size,
                    checksum: sha256.clone().map(Checksum::Sha256),
                };
                let catalog_id = sha256.as_deref().and_then(|s| self.published_with(s));
                Ok((id, request, catalog_id))
            }
        }
    }

    /// Copies `from` to `partial`, hashing as it goes.
    fn copy_in(
        &self,
        from: &Path,
        partial: &Path,
        size: u64,
        progress: &mut dyn FnMut(TransferProgress),
        cancel: &CancelToken,
    ) -> Result<String> {
        let available = (self.free_space)(&self.downloads)?;
        let needed = size + self.download_options.space_margin;
        if needed > available {
            return Err(StoreError::InsufficientSpace {
                needed_mb: needed.div_ceil(1 << 20),
                available_mb: available >> 20,
            });
        }
        let result = copy_hashing(from, partial, size, progress, cancel);
        if result.is_err() {
            discard_partial(partial);
        }
        result
    }

    /// The one rename that makes a checked file an installed model, then its
    /// manifest.
    fn install(&self, partial: &Path, manifest: Manifest) -> Result<InstalledModel> {
        let target = self.model_path(&manifest.id);
        std::fs::rename(partial, &target).map_err(|e| StoreError::io(&target, e))?;
        sync_dir(&self.models);
        discard_partial(partial);
        self.write_manifest(&manifest)?;
        Ok(self.describe(manifest))
    }

    /// Links a file to its catalogue entry by the checkpoint it was converted
    /// from (`general.name`, which `imp convert` sets to the hub repo).
    fn identify(&self, file: &Path, manifest: &mut Manifest) {
        if manifest.catalog_id.is_some() {
            return;
        }
        let name = imp_core::weights::gguf::GgufFile::open(file)
            .ok()
            .and_then(|g| {
                g.string(imp_core::weights::gguf::keys::NAME)
                    .ok()
                    .map(str::to_string)
            });
        manifest.catalog_id = name.and_then(|n| {
            self.catalog
                .models
                .iter()
                .find(|m: &&CatalogEntry| m.source.repo == n)
                .map(|m| m.id.clone())
        });
    }

    /// The catalogue entry whose published file has this checksum.
    fn published_with(&self, sha256: &str) -> Option<String> {
        self.catalog
            .models
            .iter()
            .find(|m| m.files.iter().any(|f| f.sha256 == sha256))
            .map(|m| m.id.clone())
    }

    /// The checksum the catalogue publishes for this model's file, if any.
    fn catalog_sha(&self, manifest: &Manifest) -> Option<String> {
        let entry = self.catalog.entry(manifest.catalog_id.as_deref()?).ok()?;
        let recorded = manifest.sha256.as_deref();
        entry
            .files
            .iter()
            .find(|f| Some(f.sha256.as_str()) == recorded || f.size_bytes == manifest.size_bytes)
            .map(|f| f.sha256.clone())
    }

    /// Gives a manifest to every model file that lacks one (a crash between
    /// the install rename and the manifest write).
    fn adopt_orphans(&self) {
        let Ok(entries) = read_dir(&self.models) else {
            return;
        };
        for entry in entries {
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".gguf"))
            else {
                continue;
            };
            if self.manifest_path(id).exists() || check_model_file(&path).is_err() {
                continue;
            }
            let mut manifest = Manifest {
                id: id.to_string(),
                size_bytes: entry.metadata().map(|m| m.len()).unwrap_or(0),
                sha256: None,
                verified: false,
                catalog_id: None,
                origin: Origin::Adopted,
                installed_at_ms: now_ms(),
            };
            self.identify(&path, &mut manifest);
            if let Err(e) = self.write_manifest(&manifest) {
                tracing::warn!(error = %e, "cannot adopt {}", path.display());
            }
        }
    }

    fn describe(&self, manifest: Manifest) -> InstalledModel {
        let path = self.file_of(&manifest);
        let (info, problem) = match self.header(&path) {
            Ok(info) => (Some(info), None),
            Err(_) if !path.exists() => (None, Some("the model file is missing".to_string())),
            Err(e) => (None, Some(format!("the model file is damaged: {e}"))),
        };
        InstalledModel {
            path,
            id: manifest.id,
            size_bytes: manifest.size_bytes,
            sha256: manifest.sha256,
            verified: manifest.verified,
            catalog_id: manifest.catalog_id,
            origin: manifest.origin,
            installed_at_ms: manifest.installed_at_ms,
            info,
            problem,
        }
    }

    /// The model file's description, read again only when its length or
    /// modification time changed. Failures are not kept: a file being
    /// repaired or replaced is read afresh.
    fn header(&self, path: &Path) -> imp_core::Result<ModelInfo> {
        let stamp = FileStamp::of(path);
        let mut headers = self.headers.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(stamp), Some((seen, info))) = (stamp, headers.get(path)) {
            if stamp == *seen {
                return Ok(info.clone());
            }
        }
        let info = ModelInfo::inspect(path, &LoadOptions::default());
        match (&info, stamp) {
            (Ok(info), Some(stamp)) => {
                headers.insert(path.to_path_buf(), (stamp, info.clone()));
            }
            _ => {
                headers.remove(path);
            }
        }
        info
    }

    fn write_manifest(&self, manifest: &Manifest) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(manifest).expect("plain data serialises");
        write_atomically(&self.manifest_path(&manifest.id), &bytes)
    }

    fn file_of(&self, manifest: &Manifest) -> PathBuf {
        match &manifest.origin {
            Origin::InPlace { path } => PathBuf::from(path),
            _ => self.model_path(&manifest.id),
        }
    }

    fn model_path(&self, id: &str) -> PathBuf {
        self.models.join(format!("{id}.gguf"))
    }

    fn manifest_path(&self, id: &str) -> PathBuf {
        self.models.join(format!("{id}.json"))
    }

    fn partial_path(&self, id: &str) -> PathBuf {
        self.downloads.join(format!("{id}.gguf.partial"))
    }
}

/// The file must be a model this build runs (its header and config, no weights read).
pub(crate) fn check_model_file(path: &Path) -> Result<()> {
    ModelInfo::inspect(path, &LoadOptions::default())
        .map(|_| ())
        .map_err(|e| StoreError::InvalidModel(format!("{}: {e}", path.display())))
}

fn copy_hashing(
    from: &Path,
    to: &Path,
    size: u64,
    progress: &mut dyn FnMut(TransferProgress),
    cancel: &CancelToken,
) -> Result<String> {
    use sha2::Digest;
    let mut input = std::fs::File::open(from).map_err(|e| StoreError::io(from, e))?;
    let mut output = std::fs::File::create(to).map_err(|e| StoreError::io(to, e))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(StoreError::Cancelled);
        }
        let n = input.read(&mut buf).map_err(|e| StoreError::io(from, e))?;
        if n == 0 {
            break;
        }
        output
            .write_all(&buf[..n])
            .map_err(|e| StoreError::io(to, e))?;
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(TransferProgress {
            done,
            total: Some(size),
        });
    }
    output.sync_all().map_err(|e| StoreError::io(to, e))?;
    Ok(hex(&hasher.finalize()))
}

fn read_manifest(path: &Path) -> Result<Manifest> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::InvalidModel(format!("{}: {e}", path.display())))
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    std::fs::read_dir(dir)
        .and_then(|entries| entries.collect())
        .map_err(|e| StoreError::io(dir, e))
}

/// An installed id from a file name or URL: its last segment without `.gguf`.
fn id_from_name(name: &str) -> Result<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let id = last.strip_suffix(".gguf").unwrap_or(last).to_string();
    check_id(&id)?;
    Ok(id)
}

/// Ids become file names: letters, digits, `-`, `_`, `.`, not starting with a dot.
pub(crate) fn check_id(id: &str) -> Result<()> {
    if is_plain_name(id, 128) {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument(format!(
            "{id:?} cannot name a model (letters, digits, '-', '_' and '.')"
        )))
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_file_names_and_stay_file_names() {
        assert_eq!(
            id_from_name("https://host/a/imp-3b-196-q4_k.gguf").unwrap(),
            "imp-3b-196-q4_k"
        );
        assert_eq!(id_from_name("C:\\models\\x.gguf").unwrap(), "x");
        for bad in ["", ".hidden", "a b", "../x", "é"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}
