//! The files a model comes in, and what each kind yields: the config, the
//! weights, the tokenizer and the chat template.
//!
//! - A checkpoint directory as MILVLG publishes it (config.json, safetensors,
//!   tokenizer files): float weights.
//! - One Imp GGUF file written by `imp convert`: everything in one file, the
//!   weights used in place from the memory map.
//! - llama.cpp's pair for this shape (a `phi2` text GGUF and a `clip` mmproj),
//!   whether `imp convert --llama-cpp` wrote it or another tool did: the config
//!   is rebuilt from llama.cpp's metadata keys.

mod llama_cpp_pair;
pub mod model_info;

pub use model_info::{LoadOptions, ModelInfo};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::ImpConfig;
use crate::config::TextArch;
use crate::error::{ImpError, Result};
use crate::text::chat_template::ChatTemplate;
use crate::text::tokenizer::ImpTokenizer;
use crate::weights::checkpoint::{open_checkpoint, safetensors_files};
use crate::weights::gguf::{keys, GgufFile};
use crate::weights::llama_cpp::names_for;
use crate::weights::weight_source::WeightSource;

pub enum ModelSource {
    Checkpoint {
        dir: PathBuf,
    },
    Gguf {
        file: Arc<Vec<GgufFile>>,
    },
    /// llama.cpp's pair: a `phi2` text GGUF and a `clip` mmproj GGUF.
    LlamaCppPair {
        files: Arc<Vec<GgufFile>>,
    },
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

    /// llama.cpp's text GGUF (architecture `phi2`, `qwen2` or `phi3`) with its
    /// mmproj (`clip`).
    pub fn open_llama_cpp_pair(text: &Path, mmproj: &Path) -> Result<Self> {
        let text = GgufFile::open(text)?;
        let mmproj = GgufFile::open(mmproj)?;
        let found = text.string(keys::ARCHITECTURE)?;
        if TextArch::from_name(found).is_none() {
            return Err(ImpError::UnsupportedModel(format!(
                "{} is a GGUF of architecture {found:?}; the pair needs a \"phi2\", \"qwen2\" \
                 or \"phi3\" text file here",
                text.path().display()
            )));
        }
        let found = mmproj.string(keys::ARCHITECTURE)?;
        if found != "clip" {
            return Err(ImpError::UnsupportedModel(format!(
                "{} is a GGUF of architecture {found:?}; the pair needs a \"clip\" file here",
                mmproj.path().display()
            )));
        }
        let projector = mmproj.string("clip.projector_type")?;
        if projector != "mlp" {
            return Err(ImpError::UnsupportedModel(format!(
                "{}: projector type {projector:?}, Imp's is \"mlp\"",
                mmproj.path().display()
            )));
        }
        Ok(ModelSource::LlamaCppPair {
            files: Arc::new(vec![text, mmproj]),
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
            ModelSource::LlamaCppPair { files } => {
                let json = llama_cpp_pair::config_json(&files[0], &files[1])?;
                ImpConfig::from_json(&json).map_err(|e| {
                    ImpError::InvalidModel(format!("{}: {e}", files[0].path().display()))
                })
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
            ModelSource::LlamaCppPair { files } => {
                let arch = pair_arch(&files[0]).unwrap_or(TextArch::Phi2);
                Ok(WeightSource::gguf(files.clone(), names_for(arch)))
            }
        }
    }

    pub fn tokenizer(&self) -> Result<ImpTokenizer> {
        match self {
            ModelSource::Checkpoint { dir } => ImpTokenizer::from_dir(dir),
            ModelSource::Gguf { file } | ModelSource::LlamaCppPair { files: file } => {
                let gguf = &file[0];
                match gguf.get(keys::TOKENIZER_HF_JSON).and_then(|v| v.as_str()) {
                    Some(json) => ImpTokenizer::from_json(json),
                    None => ImpTokenizer::from_gguf_arrays(gguf),
                }
            }
        }
    }

    /// The prompt format; `config` is this source's config (already read by
    /// the caller).
    pub fn chat_template(&self, config: &ImpConfig) -> Result<ChatTemplate> {
        match self {
            // The template each language model was trained with (llama.cpp's
            // pair says nothing of Imp's template).
            ModelSource::Checkpoint { .. } | ModelSource::LlamaCppPair { .. } => {
                Ok(ChatTemplate::for_arch(config.text.arch))
            }
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
            ModelSource::Checkpoint { dir } => crate::weights::checkpoint::safetensors_dtype(dir),
            ModelSource::Gguf { file } => Ok(file[0]
                .get(keys::QUANT)
                .and_then(|v| v.as_str())
                .unwrap_or("gguf")
                .to_string()),
            ModelSource::LlamaCppPair { files } => Ok(files[0]
                .tensors
                .get("blk.0.ffn_up.weight")
                .map(|t| crate::weights::gguf::dtype_name(t.dtype).to_string())
                .unwrap_or_else(|| "gguf".into())),
        }
    }

    /// Reads the mapped files into memory (see [`crate::weights::read_ahead`]);
    /// nothing for a checkpoint, which loading converts and so reads anyway.
    pub fn read_ahead(&self, progress: &mut dyn FnMut(f32) -> bool) -> Result<()> {
        match self {
            ModelSource::Checkpoint { .. } => Ok(()),
            ModelSource::Gguf { file } | ModelSource::LlamaCppPair { files: file } => {
                let maps: Vec<_> = file.iter().map(|f| &**f.mmap()).collect();
                crate::weights::read_ahead::read_ahead(&maps, progress)
            }
        }
    }

    /// Bytes of the memory-mapped files (file-backed, reclaimable), 0 for a
    /// checkpoint whose weights are converted to f32 in anonymous memory.
    pub fn mapped_bytes(&self) -> u64 {
        match self {
            ModelSource::Checkpoint { .. } => 0,
            ModelSource::Gguf { file } | ModelSource::LlamaCppPair { files: file } => {
                file.iter().map(|f| f.mmap().len() as u64).sum()
            }
        }
    }
}

/// The language model of a llama.cpp text file, by its `general.architecture`.
fn pair_arch(text: &GgufFile) -> Option<TextArch> {
    TextArch::from_name(text.string(keys::ARCHITECTURE).ok()?)
}
