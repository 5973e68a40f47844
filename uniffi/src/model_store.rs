//! The models on the phone: the catalogue, what is installed, downloads with
//! progress and cancel, imports, checks, and whether the phone can run each.
//! Long work runs on a thread this crate owns; the caller awaits it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use imp_store::catalog::Catalog;
use imp_store::device_fit::{self, DeviceProfile as StoreDeviceProfile};
use imp_store::model_store::{self as store, ModelStore as Store};

use crate::cancellation::CancelHandle;
use crate::error::ImpFfiError;
use crate::guard::{guarded, on_worker};
use crate::model_info::ModelInfo;

/// Told how far a download, copy or check is, from its worker thread.
#[uniffi::export(with_foreign)]
pub trait TransferListener: Send + Sync {
    /// `done` bytes of `total` (unknown until the server says).
    fn on_progress(&self, done: u64, total: Option<u64>);
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct PublishedFile {
    pub file_name: String,
    pub url: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub quantization: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct CatalogEntry {
    pub id: String,
    pub display_name: String,
    pub variant: String,
    pub source_repo: String,
    pub source_revision: String,
    pub image_size: u32,
    pub memory_bytes: u64,
    pub good_for: String,
    pub files: Vec<PublishedFile>,
    /// With no published file: how to get one, in words for the person.
    pub how_to_get: Option<String>,
}

impl From<&imp_store::catalog::CatalogEntry> for CatalogEntry {
    fn from(e: &imp_store::catalog::CatalogEntry) -> Self {
        Self {
            id: e.id.clone(),
            display_name: e.display_name.clone(),
            variant: e.variant.clone(),
            source_repo: e.source.repo.clone(),
            source_revision: e.source.revision.clone(),
            image_size: e.image_size,
            memory_bytes: e.memory_bytes,
            good_for: e.good_for.clone(),
            files: e
                .files
                .iter()
                .map(|f| PublishedFile {
                    file_name: f.file_name.clone(),
                    url: f.url.clone(),
                    size_bytes: f.size_bytes,
                    sha256: f.sha256.clone(),
                    quantization: f.quantization.clone(),
                })
                .collect(),
            how_to_get: e.files.is_empty().then(|| e.how_to_get()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ModelOrigin {
    Download {
        url: String,
    },
    Import {
        from: String,
    },
    InPlace {
        path: String,
    },
    Converted {
        from: String,
    },
    /// The authors' checkpoint at `commit`, verified and converted here.
    Hub {
        repo: String,
        revision: String,
        commit: String,
    },
    Adopted,
}

impl From<store::Origin> for ModelOrigin {
    fn from(o: store::Origin) -> Self {
        match o {
            store::Origin::Download { url } => Self::Download { url },
            store::Origin::Import { from } => Self::Import { from },
            store::Origin::InPlace { path } => Self::InPlace { path },
            store::Origin::Converted { from } => Self::Converted { from },
            store::Origin::Hub {
                repo,
                revision,
                commit,
                ..
            } => Self::Hub {
                repo,
                revision,
                commit,
            },
            store::Origin::Adopted => Self::Adopted,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct InstalledModel {
    pub id: String,
    /// What `load_engine` takes.
    pub path: String,
    pub size_bytes: u64,
    pub sha256: Option<String>,
    /// Its checksum matched one the catalogue (or the app) vouched for.
    pub verified: bool,
    pub catalog_id: Option<String>,
    pub origin: ModelOrigin,
    pub installed_at_ms: u64,
    pub info: Option<ModelInfo>,
    /// Why it cannot be used (file missing or damaged), for the person.
    pub problem: Option<String>,
}

impl From<store::InstalledModel> for InstalledModel {
    fn from(m: store::InstalledModel) -> Self {
        Self {
            id: m.id,
            path: m.path.display().to_string(),
            size_bytes: m.size_bytes,
            sha256: m.sha256,
            verified: m.verified,
            catalog_id: m.catalog_id,
            origin: m.origin.into(),
            installed_at_ms: m.installed_at_ms,
            info: m.info.map(Into::into),
            problem: m.problem,
        }
    }
}

#[derive(Debug, Clone, uniffi::Enum)]
pub enum DownloadSource {
    /// A catalogue entry's published file (of `quantization`, or the first).
    Catalog {
        id: String,
        quantization: Option<String>,
    },
    /// Any URL, checked against `sha256` and `size` when given.
    Url {
        url: String,
        sha256: Option<String>,
        size: Option<u64>,
        id: Option<String>,
    },
}

impl From<DownloadSource> for store::DownloadSource {
    fn from(s: DownloadSource) -> Self {
        match s {
            DownloadSource::Catalog { id, quantization } => Self::Catalog { id, quantization },
            DownloadSource::Url {
                url,
                sha256,
                size,
                id,
            } => Self::Url {
                url,
                sha256,
                size,
                id,
            },
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct PendingDownload {
    pub id: String,
    pub done_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ImportMode {
    /// Copied into the store.
    Copy,
    /// Used where it is (removing it from the store leaves the file).
    InPlace,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Verification {
    pub id: String,
    pub sha256: String,
    pub expected: Option<String>,
    pub ok: bool,
}

#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct DeviceProfile {
    pub total_ram_bytes: u64,
    pub available_ram_bytes: Option<u64>,
    pub free_storage_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FitVerdict {
    Fits,
    Tight,
    DoesNotFit,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ModelFit {
    pub catalog_id: String,
    pub installed: bool,
    pub verdict: FitVerdict,
    pub memory_needed_bytes: u64,
    pub storage_needed_bytes: u64,
    pub reason: String,
}

#[derive(uniffi::Object)]
pub struct ModelStore {
    store: Arc<Store>,
}

#[uniffi::export]
impl ModelStore {
    /// The store under `dir`, with the catalogue shipped in this build or
    /// `catalog_json` (e.g. a newer one the app fetched).
    #[uniffi::constructor]
    pub fn open(dir: String, catalog_json: Option<String>) -> Result<Arc<Self>, ImpFfiError> {
        guarded(|| {
            let catalog = match catalog_json {
                Some(json) => Catalog::from_json(&json)?,
                None => Catalog::bundled(),
            };
            let store = Store::open(Path::new(&dir), catalog)?;
            Ok(Arc::new(Self {
                store: Arc::new(store),
            }))
        })
    }

    pub fn catalog(&self) -> Vec<CatalogEntry> {
        self.store.catalog().models.iter().map(Into::into).collect()
    }

    /// Installed models, each with what it is or why it cannot be used.
    pub fn installed(&self) -> Result<Vec<InstalledModel>, ImpFfiError> {
        guarded(|| {
            Ok(self
                .store
                .installed()?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Downloads that stopped before the end (resumed by downloading again).
    pub fn pending_downloads(&self) -> Result<Vec<PendingDownload>, ImpFfiError> {
        guarded(|| {
            Ok(self
                .store
                .pending_downloads()?
                .into_iter()
                .map(|p| PendingDownload {
                    id: p.id,
                    done_bytes: p.done,
                })
                .collect())
        })
    }

    pub fn discard_download(&self, id: String) -> Result<(), ImpFfiError> {
        guarded(|| Ok(self.store.discard_download(&id)?))
    }

    /// Whether this phone can run each catalogue model.
    pub fn device_fit(&self, device: DeviceProfile) -> Result<Vec<ModelFit>, ImpFfiError> {
        guarded(|| {
            let installed = self.store.installed()?;
            let profile = StoreDeviceProfile {
                total_ram_bytes: device.total_ram_bytes,
                available_ram_bytes: device.available_ram_bytes,
                free_storage_bytes: device.free_storage_bytes,
            };
            Ok(self
                .store
                .catalog()
                .models
                .iter()
                .map(|entry| {
                    let is_installed = installed
                        .iter()
                        .any(|m| m.catalog_id.as_deref() == Some(&entry.id) && m.problem.is_none());
                    let fit = device_fit::entry_fit(entry, is_installed, &profile);
                    ModelFit {
                        catalog_id: entry.id.clone(),
                        installed: is_installed,
                        verdict: match fit.verdict {
                            device_fit::Verdict::Fits => FitVerdict::Fits,
                            device_fit::Verdict::Tight => FitVerdict::Tight,
                            device_fit::Verdict::DoesNotFit => FitVerdict::DoesNotFit,
                        },
                        memory_needed_bytes: fit.memory_needed_bytes,
                        storage_needed_bytes: fit.storage_needed_bytes,
                        reason: fit.reason,
                    }
                })
                .collect())
        })
    }

    /// Downloads, verifies and installs a model, resuming an earlier attempt.
    pub async fn download(
        &self,
        source: DownloadSource,
        listener: Option<Arc<dyn TransferListener>>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<InstalledModel, ImpFfiError> {
        let store = self.store.clone();
        on_worker("imp-download", move || {
            let token = token_of(&cancel);
            let model = store.download(&source.into(), &mut report(&listener), &token)?;
            Ok(model.into())
        })
        .await
    }

    /// Installs a `.gguf` the person has (copied in, or used in place).
    pub async fn import_file(
        &self,
        path: String,
        mode: ImportMode,
        expected_sha256: Option<String>,
        listener: Option<Arc<dyn TransferListener>>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<InstalledModel, ImpFfiError> {
        let store = self.store.clone();
        on_worker("imp-import", move || {
            let mode = match mode {
                ImportMode::Copy => store::ImportMode::Copy,
                ImportMode::InPlace => store::ImportMode::InPlace,
            };
            let model = store.import(
                &PathBuf::from(path),
                mode,
                expected_sha256.as_deref(),
                &mut report(&listener),
                &token_of(&cancel),
            )?;
            Ok(model.into())
        })
        .await
    }

    /// Hashes an installed model again against what it must be.
    pub async fn verify(
        &self,
        id: String,
        listener: Option<Arc<dyn TransferListener>>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<Verification, ImpFfiError> {
        let store = self.store.clone();
        on_worker("imp-verify", move || {
            let v = store.verify(&id, &mut report(&listener), &token_of(&cancel))?;
            Ok(Verification {
                id: v.id,
                sha256: v.sha256,
                expected: v.expected,
                ok: v.ok,
            })
        })
        .await
    }

    pub fn remove(&self, id: String) -> Result<(), ImpFfiError> {
        guarded(|| Ok(self.store.remove(&id)?))
    }
}

fn token_of(cancel: &Option<Arc<CancelHandle>>) -> imp_core::CancelToken {
    cancel.as_ref().map(|c| c.token.clone()).unwrap_or_default()
}

/// Forwards progress at most every 100 ms (and the last step): a 2 GB
/// download moves in 8000 chunks, more than a UI wants to redraw.
fn report(
    listener: &Option<Arc<dyn TransferListener>>,
) -> impl FnMut(imp_store::download::TransferProgress) + '_ {
    let mut last: Option<std::time::Instant> = None;
    move |p| {
        let Some(l) = listener else { return };
        let finished = p.total == Some(p.done);
        if finished || last.is_none_or(|t| t.elapsed().as_millis() >= 100) {
            last = Some(std::time::Instant::now());
            l.on_progress(p.done, p.total);
        }
    }
}
