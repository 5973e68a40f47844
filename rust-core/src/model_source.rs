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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::chat_template::ChatTemplate;
use crate::config::ImpConfig;
use crate::config::TextArch;
use crate::error::{ImpError, Result};
use crate::gguf::llama_cpp::names_for;
use crate::gguf::{keys, GgufFile};
use crate::tokenizer::ImpTokenizer;
use crate::weight_source::WeightSource;
use crate::weights::{open_checkpoint, safetensors_files};

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
                let json = pair_config(&files[0], &files[1])?;
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
            ModelSource::Checkpoint { dir } => crate::model_info::safetensors_dtype(dir),
            ModelSource::Gguf { file } => Ok(file[0]
                .get(keys::QUANT)
                .and_then(|v| v.as_str())
                .unwrap_or("gguf")
                .to_string()),
            ModelSource::LlamaCppPair { files } => Ok(files[0]
                .tensors
                .get("blk.0.ffn_up.weight")
                .map(|t| crate::convert::dtype_name(t.dtype))
                .unwrap_or_else(|| "gguf".into())),
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

/// An Imp config.json rebuilt from llama.cpp's keys: the mmproj holds only the
/// vision layers to run, so all of them are used (`mm_vision_select_layer` -1).
fn pair_config(text: &GgufFile, mmproj: &GgufFile) -> Result<String> {
    let arch = pair_arch(text).unwrap_or(TextArch::Phi2);
    let prefix = arch.name();
    let t = |k: &str| text.u64(&format!("{prefix}.{k}"));
    let v = |k: &str| mmproj.u64(&format!("clip.vision.{k}"));
    let float = |f: &GgufFile, k: &str| -> Result<f64> {
        f.get(k).and_then(|v| v.as_f64()).ok_or_else(|| {
            ImpError::InvalidModel(format!("{}: metadata {k} is missing", f.path().display()))
        })
    };
    let embd = text.tensors.get("token_embd.weight").ok_or_else(|| {
        ImpError::InvalidModel(format!("{}: no token_embd.weight", text.path().display()))
    })?;
    let tokens = text.get(keys::TOKENIZER_TOKENS).and_then(|v| v.as_array());
    let image_token = tokens
        .and_then(|t| t.iter().position(|v| v.as_str() == Some("<image>")))
        .ok_or_else(|| {
            ImpError::InvalidModel(format!(
                "{}: the vocabulary has no <image> token",
                text.path().display()
            ))
        })?;
    let heads = t("attention.head_count")?;
    let mut config = serde_json::json!({
        "model_type": arch.model_type(),
        "vocab_size": embd.shape.dims()[0],
        "hidden_size": t("embedding_length")?,
        "intermediate_size": t("feed_forward_length")?,
        "num_hidden_layers": t("block_count")?,
        "num_attention_heads": heads,
        "num_key_value_heads": t("attention.head_count_kv").unwrap_or(heads),
        "rope_theta": float(text, &format!("{prefix}.rope.freq_base")).unwrap_or(10_000.0),
        "tokenizer_model_max_length": t("context_length")?,
        "eos_token_id": text.u64(keys::TOKENIZER_EOS)?,
        "image_token_index": image_token,
        "mm_hidden_size": v("embedding_length")?,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -1,
        "vision_tower_config": {
            "hidden_size": v("embedding_length")?,
            "intermediate_size": v("feed_forward_length")?,
            "num_attention_heads": v("attention.head_count")?,
            "num_hidden_layers": v("block_count")?,
            "image_size": v("image_size")?,
            "patch_size": v("patch_size")?,
            "layer_norm_eps": float(mmproj, "clip.vision.attention.layer_norm_epsilon")?,
            "hidden_act": "gelu_pytorch_tanh",
        },
    });
    let text_keys = match arch {
        TextArch::Phi2 => serde_json::json!({
            "rotary_dim": t("rope.dimension_count")?,
            "layer_norm_eps": float(text, "phi2.attention.layer_norm_epsilon")?,
            "image_aspect_ratio": "square",
        }),
        TextArch::Qwen2 | TextArch::Phi3 => serde_json::json!({
            "rms_norm_eps": float(text, &format!("{prefix}.attention.layer_norm_rms_epsilon"))?,
            "sliding_window": t("attention.sliding_window").ok(),
            // Imp-4B pads images to a square; llama.cpp's keys do not say so.
            "image_aspect_ratio": if arch == TextArch::Phi3 { "pad" } else { "square" },
        }),
    };
    if let (Some(config), serde_json::Value::Object(extra)) = (config.as_object_mut(), text_keys) {
        config.extend(extra);
    }
    Ok(config.to_string())
}
