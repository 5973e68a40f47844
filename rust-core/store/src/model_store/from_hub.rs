//! A model from the authors' float checkpoint on the hub, made on this
//! device: downloaded and verified into the checkpoint cache, converted to
//! the same q4_k file `imp convert --quant q4_k` writes, hashed, installed by
//! one rename. On a phone the checkpoint is deleted once the model is in.
//!
//! Killed at any point, the next call resumes the download where it stopped
//! (each file's blob appears only once verified) or restarts the conversion
//! (its output is a partial file that is never listed); the partial output is
//! locked for the whole install, so two installs of one id cannot interleave.

use candle_core::quantized::GgmlDType;
use std::path::Path;

use imp_core::config::ImpConfig;
use imp_core::CancelToken;
use imp_tools::convert::{convert_cancellable, planned_tensor_bytes, ConvertOptions, QuantPolicy};

use super::{check_id, check_model_file, now_ms, InstalledModel, Manifest, ModelStore, Origin};
use crate::download::{discard_partial, sha256_file, PartialLock};
use crate::error::{Result, StoreError};
use crate::hub::{fetch_checkpoint, CheckpointCache, FetchedCheckpoint, HubEndpoint, HubFetch};

/// Room the output needs beyond its tensors: metadata (the tokenizer's
/// arrays, a few MB) and alignment.
const OUTPUT_SLACK: u64 = 32 << 20;

/// Where hub checkpoints go and whether they stay after conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSettings {
    /// None: `HF_ENDPOINT` / `HF_HUB_OFFLINE` (the hub when unset).
    pub endpoint: Option<HubEndpoint>,
    pub cache: CheckpointCache,
    /// Keep the float checkpoint after converting (a desktop that may run
    /// it with `--float`); a phone deletes it.
    pub keep_checkpoints: bool,
}

impl HubSettings {
    /// The store's own cache under `dir`, emptied after each conversion.
    pub fn private_to(dir: &Path) -> Self {
        Self {
            endpoint: None,
            cache: CheckpointCache::new(dir.join("hub")),
            keep_checkpoints: false,
        }
    }

    pub(crate) fn endpoint(&self) -> Result<HubEndpoint> {
        match &self.endpoint {
            Some(e) => Ok(e.clone()),
            None => HubEndpoint::from_env(),
        }
    }
}

/// What to install from the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubModel {
    pub repo: String,
    pub revision: String,
    /// The installed id.
    pub id: String,
    pub catalog_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallStage {
    Downloading,
    Converting,
    Verifying,
}

/// One figure for the whole install, and where in it we are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstallProgress {
    pub stage: InstallStage,
    /// Within the stage: bytes (downloading, verifying) or tensors.
    pub done: u64,
    pub total: Option<u64>,
    /// 0..=1 over all stages, never going back.
    pub fraction: f64,
}

impl InstallStage {
    /// The share of the whole each stage takes, as measured for Imp-3B on
    /// a fast connection: downloading most, converting a fifth, hashing
    /// the output a little.
    fn span(self) -> (f64, f64) {
        match self {
            InstallStage::Downloading => (0.0, 0.75),
            InstallStage::Converting => (0.75, 0.97),
            InstallStage::Verifying => (0.97, 1.0),
        }
    }

    fn progress(self, done: u64, total: Option<u64>) -> InstallProgress {
        let (from, to) = self.span();
        let within = match total {
            Some(t) if t > 0 => (done as f64 / t as f64).min(1.0),
            _ => 0.0,
        };
        InstallProgress {
            stage: self,
            done,
            total,
            fraction: from + (to - from) * within,
        }
    }
}

impl ModelStore {
    pub fn with_hub(mut self, hub: HubSettings) -> Self {
        self.hub = hub;
        self
    }

    pub fn hub_settings(&self) -> &HubSettings {
        &self.hub
    }

    /// The hub install of a catalogue entry: its repository and pinned
    /// revision, installed under the entry's id.
    pub fn hub_model(&self, catalog_id: &str) -> Result<HubModel> {
        let entry = self.catalog().entry(catalog_id)?;
        Ok(HubModel {
            repo: entry.source.repo.clone(),
            revision: entry.source.revision.clone(),
            id: entry.id.clone(),
            catalog_id: Some(entry.id.clone()),
        })
    }

    /// What installing hub repository `repo` at `revision` means: its
    /// catalogue entry's model when one has that repository (so every way in
    /// shares one installed model), else `{name}-q4_k`.
    pub fn hub_model_for_repo(&self, repo: &str, revision: &str) -> Result<HubModel> {
        crate::hub::check_repo_id(repo)?;
        if let Some(entry) = self.catalog().models.iter().find(|m| m.source.repo == repo) {
            return Ok(HubModel {
                revision: revision.to_string(),
                ..self.hub_model(&entry.id)?
            });
        }
        let name = repo.rsplit('/').next().unwrap_or("model").to_lowercase();
        Ok(HubModel {
            repo: repo.to_string(),
            revision: revision.to_string(),
            id: format!("{name}-q4_k"),
            catalog_id: None,
        })
    }

    /// The float checkpoint alone, in the hub cache (for `--float`).
    pub fn fetch_checkpoint(
        &self,
        repo: &str,
        revision: &str,
        progress: &mut dyn FnMut(InstallProgress),
        cancel: &CancelToken,
    ) -> Result<FetchedCheckpoint> {
        let endpoint = self.hub.endpoint()?;
        let hub = HubFetch {
            endpoint: &endpoint,
            cache: &self.hub.cache,
            options: &self.download_options,
            free_space: self.free_space.as_ref(),
            cancel,
        };
        fetch_checkpoint(&hub, repo, revision, &|_| Ok(0), &mut |p| {
            progress(InstallStage::Downloading.progress(p.done, p.total))
        })
    }

    /// Downloads, verifies, converts and installs `model`; an installed model
    /// of the same id and repository is returned as it is.
    pub fn install_from_hub(
        &self,
        model: &HubModel,
        progress: &mut dyn FnMut(InstallProgress),
        cancel: &CancelToken,
    ) -> Result<InstalledModel> {
        check_id(&model.id)?;
        if let Some(installed) = self.installed_from(model)? {
            return Ok(installed);
        }
        let partial = self.partial_path(&model.id);
        let _lock = PartialLock::acquire(&partial)?;
        let endpoint = self.hub.endpoint()?;
        let hub = HubFetch {
            endpoint: &endpoint,
            cache: &self.hub.cache,
            options: &self.download_options,
            free_space: self.free_space.as_ref(),
            cancel,
        };
        let checkpoint =
            fetch_checkpoint(&hub, &model.repo, &model.revision, &output_room, &mut |p| {
                progress(InstallStage::Downloading.progress(p.done, p.total))
            })?;
        let result = self.convert_and_install(model, &checkpoint, &partial, progress, cancel);
        if result.is_err() {
            discard_partial(&partial);
        }
        let installed = result?;
        if !self.hub.keep_checkpoints {
            if let Err(e) = self.hub.cache.remove_repo(&model.repo) {
                tracing::warn!(error = %e, "the checkpoint stays in the cache");
            }
        }
        Ok(installed)
    }

    fn installed_from(&self, model: &HubModel) -> Result<Option<InstalledModel>> {
        Ok(self.get(&model.id).ok().filter(|m| {
            m.problem.is_none()
                && matches!(&m.origin, Origin::Hub { repo, .. } if *repo == model.repo)
        }))
    }

    fn convert_and_install(
        &self,
        model: &HubModel,
        checkpoint: &FetchedCheckpoint,
        partial: &Path,
        progress: &mut dyn FnMut(InstallProgress),
        cancel: &CancelToken,
    ) -> Result<InstalledModel> {
        progress(InstallStage::Converting.progress(0, None));
        converted(
            &checkpoint.dir,
            partial,
            &hub_conversion(&model.repo),
            progress,
            cancel,
        )?
        .map_err(|e| match e {
            imp_core::ImpError::Cancelled => StoreError::Cancelled,
            // The rest of the output: what the plan says less what was written.
            imp_core::ImpError::Io { .. } if is_full(&e) => StoreError::InsufficientSpace {
                needed_mb: output_room(&checkpoint.dir)
                    .unwrap_or(0)
                    .saturating_sub(std::fs::metadata(partial).map_or(0, |m| m.len()))
                    .div_ceil(1 << 20),
                available_mb: (self.free_space)(self.scratch_dir()).unwrap_or(0) >> 20,
            },
            other => StoreError::InvalidModel(format!("{}: {other}", model.repo)),
        })?;
        let size = std::fs::metadata(partial)
            .map_err(|e| StoreError::io(partial, e))?
            .len();
        let sha256 = sha256_file(partial, cancel, &mut |done| {
            progress(InstallStage::Verifying.progress(done, Some(size)))
        })?;
        check_model_file(partial)?;
        let manifest = Manifest {
            id: model.id.clone(),
            size_bytes: size,
            sha256: Some(sha256),
            // Every byte it was made from matched the hub's checksums.
            verified: true,
            catalog_id: model.catalog_id.clone(),
            origin: Origin::Hub {
                repo: model.repo.clone(),
                revision: model.revision.clone(),
                commit: checkpoint.commit.clone(),
                quantization: "q4_k".into(),
            },
            installed_at_ms: now_ms(),
        };
        let installed = self.install(partial, manifest)?;
        progress(InstallStage::Verifying.progress(size, Some(size)));
        Ok(installed)
    }
}

/// Converts on threads of the install's own, reporting progress on the
/// calling thread. Not rayon's global pool: its threads would stay, idle, for
/// the app's whole life; these end with the conversion.
fn converted(
    dir: &Path,
    out: &Path,
    options: &ConvertOptions,
    progress: &mut dyn FnMut(InstallProgress),
    cancel: &CancelToken,
) -> Result<imp_core::Result<()>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("imp-convert-{i}"))
        .build()
        .map_err(|e| StoreError::InvalidArgument(format!("no threads to convert with: {e}")))?;
    let (tx, rx) = std::sync::mpsc::channel::<(usize, usize)>();
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("imp-convert".into())
            .spawn_scoped(scope, move || {
                pool.install(|| {
                    convert_cancellable(
                        dir,
                        out,
                        options,
                        &mut |done, total| {
                            let _ = tx.send((done, total));
                        },
                        cancel,
                    )
                    .map(|_| ())
                })
            })
            .map_err(|e| StoreError::InvalidArgument(format!("no thread to convert on: {e}")))?;
        for (done, total) in rx {
            progress(InstallStage::Converting.progress(done as u64, Some(total as u64)));
        }
        worker
            .join()
            .map_err(|_| StoreError::InvalidModel("the conversion stopped on a bug".into()))
    })
}

/// What `imp convert --quant q4_k` does with a hub checkpoint: q4_k text,
/// f16 vision, `general.name` the repository (which links the file to its
/// catalogue entry).
pub fn hub_conversion(repo: &str) -> ConvertOptions {
    ConvertOptions {
        policy: QuantPolicy {
            text: GgmlDType::Q4K,
            vision: GgmlDType::F16,
        },
        name: repo.to_string(),
        llama_cpp: None,
    }
}

/// The bytes the converted file will take, from the downloaded config.
fn output_room(dir: &Path) -> Result<u64> {
    let config = ImpConfig::from_file(&dir.join("config.json"))
        .map_err(|e| StoreError::InvalidModel(format!("config.json: {e}")))?;
    let policy = hub_conversion("").policy;
    let tensors = planned_tensor_bytes(&config, &policy)
        .map_err(|e| StoreError::InvalidModel(format!("config.json: {e}")))?;
    Ok(tensors + OUTPUT_SLACK)
}

fn is_full(e: &imp_core::ImpError) -> bool {
    matches!(e, imp_core::ImpError::Io { source, .. } if crate::download::is_disk_full(source))
}
