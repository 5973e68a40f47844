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
use crate::guard::{call_back, guarded, on_worker};
use crate::model_info::ModelInfo;

/// Told how far a download, copy or check is, from its worker thread.
#[uniffi::export(with_foreign)]
pub trait TransferListener: Send + Sync {
    /// `done` bytes of `total` (unknown until the server says).
    fn on_progress(&self, done: u64, total: Option<u64>);
}

/// Told how far an install from the hub is, from its worker thread.
#[uniffi::export(with_foreign)]
pub trait InstallListener: Send + Sync {
    fn on_progress(&self, progress: InstallProgress);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum InstallStage {
    /// The checkpoint's files, each verified as it completes.
    Downloading,
    /// Turned into the 4-bit file this app runs.
    Converting,
    /// The new file checked before it is listed.
    Verifying,
}

#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct InstallProgress {
    pub stage: InstallStage,
    /// Within the stage: bytes (downloading, verifying) or tensors.
    pub done: u64,
    pub total: Option<u64>,
    /// 0 to 1 over the whole install, never going back: the one figure to show
    /// and to announce.
    pub fraction: f64,
}

impl From<store::InstallProgress> for InstallProgress {
    fn from(p: store::InstallProgress) -> Self {
        Self {
            stage: match p.stage {
                store::InstallStage::Downloading => InstallStage::Downloading,
                store::InstallStage::Converting => InstallStage::Converting,
                store::InstallStage::Verifying => InstallStage::Verifying,
            },
            done: p.done,
            total: p.total,
            fraction: p.fraction,
        }
    }
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
    /// What installing it from the hub downloads.
    pub download_bytes: Option<u64>,
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
            download_bytes: e.source.download_bytes,
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

/// Where a model the person asked for comes from ("Add a model").
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ModelAddress {
    /// A hub repository holding an Imp checkpoint, converted on the device.
    HubRepo { repo: String, revision: String },
    /// A ready `.gguf`, checked against `sha256` when given.
    GgufUrl { url: String, sha256: Option<String> },
}

impl From<store::ModelAddress> for ModelAddress {
    fn from(a: store::ModelAddress) -> Self {
        match a {
            store::ModelAddress::HubRepo { repo, revision } => Self::HubRepo { repo, revision },
            store::ModelAddress::GgufUrl { url, sha256 } => Self::GgufUrl { url, sha256 },
        }
    }
}

impl From<ModelAddress> for store::ModelAddress {
    fn from(a: ModelAddress) -> Self {
        match a {
            ModelAddress::HubRepo { repo, revision } => Self::HubRepo { repo, revision },
            ModelAddress::GgufUrl { url, sha256 } => Self::GgufUrl { url, sha256 },
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

/// The memory limit to load a model with on `device`: the line past which
/// the models screen says a model does not fit (the same rule, so a model it
/// calls tight still loads). Depends on the phone's RAM only, not on what is
/// free this moment.
#[uniffi::export]
pub fn memory_budget(device: DeviceProfile) -> Result<u64, ImpFfiError> {
    guarded(|| Ok(device_fit::memory_budget(device.total_ram_bytes)))
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
        guarded(|| Self::open_with_hub(dir, catalog_json, None))
    }

    /// `open`, with the hub at `hub_endpoint` (a mirror, or the tests'
    /// loopback hub) instead of huggingface.co: https, or http on this device.
    #[uniffi::constructor]
    pub fn open_with_hub(
        dir: String,
        catalog_json: Option<String>,
        hub_endpoint: Option<String>,
    ) -> Result<Arc<Self>, ImpFfiError> {
        guarded(|| {
            let catalog = match catalog_json {
                Some(json) => Catalog::from_json(&json)?,
                None => Catalog::bundled(),
            };
            let dir = Path::new(&dir);
            let mut hub = store::HubSettings::private_to(dir);
            hub.endpoint = match hub_endpoint {
                Some(url) => Some(imp_store::hub::HubEndpoint::new(&url, false)?),
                // The phone has no environment to read: the hub itself.
                None => Some(imp_store::hub::HubEndpoint::new(
                    imp_store::hub::HubEndpoint::DEFAULT,
                    false,
                )?),
            };
            let store = Store::open(dir, catalog)?.with_hub(hub);
            Ok(Arc::new(Self {
                store: Arc::new(store),
            }))
        })
    }

    pub fn catalog(&self) -> Result<Vec<CatalogEntry>, ImpFfiError> {
        guarded(|| Ok(self.store.catalog().models.iter().map(Into::into).collect()))
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
            let watch = Watch::new(&cancel);
            let result =
                store.download(&source.into(), &mut report(&listener, &watch), &watch.token);
            Ok(watch.finish(result)?.into())
        })
        .await
    }

    /// Makes a catalogue model on this device from its authors' checkpoint
    /// on the hub: downloaded and verified file by file, converted, checked
    /// and installed; the checkpoint is deleted afterwards. Resumes where an
    /// earlier call stopped; an installed model is returned as it is.
    pub async fn install_from_hub(
        &self,
        catalog_id: String,
        listener: Option<Arc<dyn InstallListener>>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<InstalledModel, ImpFfiError> {
        let store = self.store.clone();
        on_worker("imp-install", move || {
            let model = store.hub_model(&catalog_id)?;
            let watch = Watch::new(&cancel);
            let result = store.install_from_hub(
                &model,
                &mut report_install(&listener, &watch),
                &watch.token,
            );
            Ok(watch.finish(result)?.into())
        })
        .await
    }

    /// Reads what the person typed into "Add a model" (a repository id or
    /// page, a `.gguf` link) and the optional SHA-256, or says in words
    /// (`InvalidAddress`) what it is not. Cheap: call it as they type.
    pub fn model_address(
        &self,
        text: String,
        sha256: Option<String>,
    ) -> Result<ModelAddress, ImpFfiError> {
        guarded(|| Ok(self.store.model_address(&text, sha256.as_deref())?.into()))
    }

    /// Installs the model at `address`, with one progress figure: a
    /// repository is downloaded, converted and checked; a `.gguf` downloaded
    /// and checked. Resumes an earlier call.
    pub async fn add_model(
        &self,
        address: ModelAddress,
        listener: Option<Arc<dyn InstallListener>>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<InstalledModel, ImpFfiError> {
        let store = self.store.clone();
        on_worker("imp-add", move || {
            let watch = Watch::new(&cancel);
            let result = store.add(
                &address.into(),
                &mut report_install(&listener, &watch),
                &watch.token,
            );
            Ok(watch.finish(result)?.into())
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
            let watch = Watch::new(&cancel);
            let result = store.import(
                &PathBuf::from(path),
                mode,
                expected_sha256.as_deref(),
                &mut report(&listener, &watch),
                &watch.token,
            );
            Ok(watch.finish(result)?.into())
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
            let watch = Watch::new(&cancel);
            let result = store.verify(&id, &mut report(&listener, &watch), &watch.token);
            let v = watch.finish(result)?;
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

/// Long work's cancel token, and what a listener that throws leaves: its
/// first failure cancels the work (which stops at its next check and keeps
/// what it has, for a resume) and is what the call then returns, instead of
/// a panic unwinding through the store.
struct Watch {
    token: imp_core::CancelToken,
    failure: std::cell::OnceCell<ImpFfiError>,
}

impl Watch {
    fn new(cancel: &Option<Arc<CancelHandle>>) -> Self {
        Self {
            token: token_of(cancel),
            failure: std::cell::OnceCell::new(),
        }
    }

    /// Calls the listener, unless an earlier call failed.
    fn tell(&self, call: impl FnOnce()) {
        if self.failure.get().is_none() {
            if let Err(e) = call_back(call) {
                let _ = self.failure.set(e);
                self.token.cancel();
            }
        }
    }

    fn finish<T, E: Into<ImpFfiError>>(self, result: Result<T, E>) -> Result<T, ImpFfiError> {
        match self.failure.into_inner() {
            Some(failure) => Err(failure),
            None => result.map_err(Into::into),
        }
    }
}

/// Forwards progress at most every 100 ms (and the last step): a 2 GB
/// download moves in 8000 chunks, more than a UI wants to redraw.
fn report<'a>(
    listener: &'a Option<Arc<dyn TransferListener>>,
    watch: &'a Watch,
) -> impl FnMut(imp_store::download::TransferProgress) + 'a {
    let mut last: Option<std::time::Instant> = None;
    move |p| {
        let Some(l) = listener else { return };
        let finished = p.total == Some(p.done);
        if finished || last.is_none_or(|t| t.elapsed().as_millis() >= 100) {
            last = Some(std::time::Instant::now());
            watch.tell(|| l.on_progress(p.done, p.total));
        }
    }
}

/// Forwards install progress at most every 100 ms, at each change of stage
/// and at the end.
fn report_install<'a>(
    listener: &'a Option<Arc<dyn InstallListener>>,
    watch: &'a Watch,
) -> impl FnMut(store::InstallProgress) + 'a {
    let mut last: Option<(std::time::Instant, store::InstallStage)> = None;
    move |p| {
        let Some(l) = listener else { return };
        let due = match last {
            None => true,
            Some((at, stage)) => {
                stage != p.stage || p.fraction >= 1.0 || at.elapsed().as_millis() >= 100
            }
        };
        if due {
            last = Some((std::time::Instant::now(), p.stage));
            watch.tell(|| l.on_progress(p.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on::block_on;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Seen(Mutex<Vec<InstallProgress>>);

    impl InstallListener for Seen {
        fn on_progress(&self, progress: InstallProgress) {
            self.0.lock().unwrap().push(progress);
        }
    }

    fn hub_with_entry(entry: &str) -> imp_test_hub::HubServer {
        let server = imp_test_hub::HubServer::start();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tiny-imp-384");
        let repo = Catalog::bundled().entry(entry).unwrap().source.repo.clone();
        server.add(&repo, imp_test_hub::Repo::from_dir(&fixture).unwrap());
        server
    }

    #[test]
    fn a_catalogue_model_installs_from_the_hub_with_one_rising_figure() {
        let server = hub_with_entry("imp-3b");
        let dir = tempfile_dir();
        let store = ModelStore::open_with_hub(dir.clone(), None, Some(server.endpoint())).unwrap();
        let seen = Arc::new(Seen::default());
        let listener: Arc<dyn InstallListener> = seen.clone();
        let model =
            block_on(store.install_from_hub("imp-3b".into(), Some(listener), None)).unwrap();
        assert!(
            matches!(model.origin, ModelOrigin::Hub { .. }),
            "{:?}",
            model.origin
        );
        assert!(model.verified && model.problem.is_none());
        let seen = seen.0.lock().unwrap();
        assert!(seen.windows(2).all(|w| w[0].fraction <= w[1].fraction));
        assert_eq!(seen.last().unwrap().fraction, 1.0);
        assert_eq!(store.installed().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A listener that throws (UniFFI hands that over as a panic) stops the
    /// install through its cancel token, not by unwinding through the store:
    /// the call fails with the listener's error, nothing half-made is listed,
    /// and the next call installs.
    #[test]
    fn a_listener_that_throws_stops_the_install_cleanly() {
        struct Throws;
        impl InstallListener for Throws {
            fn on_progress(&self, _: InstallProgress) {
                panic!("the app's listener threw");
            }
        }
        let server = hub_with_entry("imp-3b");
        let dir = tempfile_dir();
        let store = ModelStore::open_with_hub(dir.clone(), None, Some(server.endpoint())).unwrap();
        let cancel = Arc::new(CancelHandle::new());
        let err = block_on(store.install_from_hub(
            "imp-3b".into(),
            Some(Arc::new(Throws)),
            Some(cancel.clone()),
        ));
        assert!(
            matches!(&err, Err(ImpFfiError::Internal { reason }) if reason.contains("threw")),
            "{err:?}"
        );
        assert!(cancel.is_cancelled());
        assert!(store.installed().unwrap().is_empty());
        let model = block_on(store.install_from_hub("imp-3b".into(), None, None)).unwrap();
        assert!(model.verified && model.problem.is_none());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_cancelled_install_lists_nothing_and_plain_http_elsewhere_is_refused() {
        let server = hub_with_entry("imp-3b");
        let dir = tempfile_dir();
        let store = ModelStore::open_with_hub(dir.clone(), None, Some(server.endpoint())).unwrap();
        let cancel = Arc::new(CancelHandle::new());
        cancel.cancel();
        let err = block_on(store.install_from_hub("imp-3b".into(), None, Some(cancel)));
        assert!(matches!(err, Err(ImpFfiError::Cancelled)), "{err:?}");
        assert!(store.installed().unwrap().is_empty());
        let refused =
            ModelStore::open_with_hub(dir.clone(), None, Some("http://example.org".into()));
        assert!(refused.is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn add_a_model_reads_the_address_and_says_what_is_wrong_with_it() {
        let server = hub_with_entry("imp-3b");
        let dir = tempfile_dir();
        let store = ModelStore::open_with_hub(dir.clone(), None, Some(server.endpoint())).unwrap();
        let repo = Catalog::bundled()
            .entry("imp-3b")
            .unwrap()
            .source
            .repo
            .clone();
        let page = format!("{}/{repo}", server.endpoint());
        let address = store.model_address(page, None).unwrap();
        assert_eq!(
            address,
            ModelAddress::HubRepo {
                repo,
                revision: "main".into()
            }
        );
        let seen = Arc::new(Seen::default());
        let listener: Arc<dyn InstallListener> = seen.clone();
        let model = block_on(store.add_model(address, Some(listener), None)).unwrap();
        assert_eq!(model.catalog_id.as_deref(), Some("imp-3b"));
        assert_eq!(seen.0.lock().unwrap().last().unwrap().fraction, 1.0);

        let bad = store.model_address("Imp 3B please".into(), None);
        assert!(
            matches!(&bad, Err(ImpFfiError::InvalidAddress { reason }) if reason.contains("repository")),
            "{bad:?}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> String {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "imp-ffi-hub-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        dir.display().to_string()
    }
}
