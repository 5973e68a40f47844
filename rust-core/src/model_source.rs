//! The files a model comes in, and what each kind yields: the config, the
//! weights, the tokenizer and the chat template.
//!
//! - A checkpoint directory as MILVLG publishes it (config.json, safetensors,
//!   tokenizer files): float weights.
//! - One Imp GGUF file written by `imp convert`: everything in one file, the
//!   weights used in place from the memory map.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::chat_template::ChatTemplate;
use crate::config::ImpConfig;
use crate::error::{ImpError, Result};
use crate::gguf::{keys, GgufFile};
use crate::tokenizer::ImpTokenizer;
use crate::weight_source::WeightSource;
use crate::weights::{open_checkpoint, safetensors_files};

pub enum ModelSource {
    Checkpoint { dir: PathBuf },
    Gguf { file: Arc<Vec<GgufFile>> },
}

impl ModelSource {
    /// A checkpoint directory or a `.gguf` file (recognised by its magic bytes,
    /// whatever its name).
    pub fn open(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| ImpError::io(path, e))?;
        if meta.is_dir() {
            return Ok(ModelSource::Checkpoint {
                dir: path.to_path_buf(),
            });
        }
        let file = GgufFile::open(path)?;
        let arch = file.string(keys::ARCHITECTURE)?;
        if arch != keys::IMP_ARCH {
            return Err(ImpError::UnsupportedModel(format!(
                "{} is a GGUF of architecture {arch:?}, not an Imp model (\"imp\"); \
                 a llama.cpp text model needs its mmproj file too",
                path.display()
            )));
        }
        Ok(ModelSource::Gguf {
            file: Arc::new(vec![file]),
        })
    }

    pub fn config(&self) -> Result<ImpConfig> {
        match self {
            ModelSource::Checkpoint { dir } => {
                let path = dir.join("config.json");
                if !path.is_file() {
                    return Err(ImpError::InvalidModel(format!(
                        "{} has no config.json: not a checkpoint directory",
                        dir.display()
                    )));
                }
                ImpConfig::from_file(&path)
            }
            ModelSource::Gguf { file } => {
                let gguf = &file[0];
                ImpConfig::from_json(gguf.string(keys::CONFIG)?).map_err(|e| {
                    ImpError::InvalidModel(format!(
                        "{}: {}: {e}",
                        gguf.path().display(),
                        keys::CONFIG
                    ))
                })
            }
        }
    }

    /// The weights, speaking the checkpoint's current names.
    pub fn weights(&self) -> Result<WeightSource> {
        match self {
            ModelSource::Checkpoint { dir } => {
                let files = safetensors_files(dir)?;
                let (vb, layout) =
                    open_checkpoint(&files, candle_core::DType::F32, &candle_core::Device::Cpu)?;
                tracing::info!(?layout, files = files.len(), "opened checkpoint");
                Ok(WeightSource::float(vb))
            }
            ModelSource::Gguf { file } => Ok(WeightSource::gguf(file.clone(), |name| {
                Some(name.to_string())
            })),
        }
    }

    pub fn tokenizer(&self) -> Result<ImpTokenizer> {
        match self {
            ModelSource::Checkpoint { dir } => ImpTokenizer::from_dir(dir),
            ModelSource::Gguf { file } => {
                let gguf = &file[0];
                ImpTokenizer::from_json(gguf.string(keys::TOKENIZER_HF_JSON)?)
            }
        }
    }

    pub fn chat_template(&self) -> Result<ChatTemplate> {
        match self {
            ModelSource::Checkpoint { .. } => Ok(ChatTemplate::Phi2),
            ModelSource::Gguf { file } => {
                let name = file[0].string(keys::CHAT_TEMPLATE)?;
                ChatTemplate::from_name(name)
                    .ok_or_else(|| ImpError::UnsupportedModel(format!("chat template {name:?}")))
            }
        }
    }

    /// How the weights are stored, for `ModelInfo`: e.g. "f16" or "q4_k".
    pub fn weights_dtype(&self) -> Result<String> {
        match self {
            ModelSource::Checkpoint { dir } => crate::model_info::safetensors_dtype(dir),
            ModelSource::Gguf { file } => Ok(file[0]
                .get(keys::QUANT)
                .and_then(|v| v.as_str())
                .unwrap_or("gguf")
                .to_string()),
        }
    }

    /// Bytes of the memory-mapped files (file-backed, reclaimable), 0 for a
    /// checkpoint whose weights are converted to f32 in anonymous memory.
    pub fn mapped_bytes(&self) -> u64 {
        match self {
            ModelSource::Checkpoint { .. } => 0,
            ModelSource::Gguf { file } => file.iter().map(|f| f.mmap().len() as u64).sum(),
        }
    }
}
