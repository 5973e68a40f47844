//! The checkpoint's `config.json`, as MILVLG publishes it.
//!
//! Imp's config is its language model's config (Phi-2, Qwen2 or Phi-3, at top
//! level) plus the `mm_*` fields and a `vision_tower_config` object. The variant
//! is `model_type` (`imp`, `imp_qwen2`, `imp_phi3`), cross-checked with
//! `architectures`. The published Phi-2 checkpoints omit every language-model
//! dimension (transformers writes only the difference from the defaults in the
//! repo's `configuration_imp.py`), so absent keys take Phi-2's values, and both
//! spellings of the Phi keys (phi-msft `n_embd` and HF `hidden_size`) are
//! accepted. Qwen2 and Phi-3 configs are complete, so their dimensions are
//! required.

use serde::Deserialize;
use std::path::Path;

use crate::error::{ImpError, Result};

mod text;
mod vision;

pub use text::{TextArch, TextConfig};
pub use vision::{AspectMode, VisionConfig};

/// Far beyond any Imp checkpoint (3072 to 4096), small enough to allocate.
const MAX_CONTEXT: usize = 1 << 17;
/// Far beyond SigLIP's 384 px.
pub(crate) const MAX_IMAGE_SIZE: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
pub struct ImpConfig {
    pub model_type: String,
    pub text: TextConfig,
    pub vision: VisionConfig,
    pub mm_hidden_size: usize,
    pub mm_projector_type: String,
    pub mm_vision_select_layer: i64,
    pub mm_vision_select_feature: String,
    pub image_aspect_ratio: AspectMode,
    pub image_token_index: u32,
    pub eos_token_ids: Vec<u32>,
    /// The longest sequence (prompt + image tokens + answer) the model was trained on.
    pub context_length: usize,
}

impl ImpConfig {
    /// Vision encoder layers Imp actually runs: the reference deletes every layer
    /// after `mm_vision_select_layer`.
    pub fn vision_layers_used(&self) -> Result<usize> {
        let total = self.vision.num_hidden_layers as i64;
        let used = if self.mm_vision_select_layer < 0 {
            total + 1 + self.mm_vision_select_layer
        } else {
            self.mm_vision_select_layer
        };
        if used < 1 || used > total {
            return Err(ImpError::UnsupportedModel(format!(
                "mm_vision_select_layer {} does not fit a {total}-layer vision tower",
                self.mm_vision_select_layer
            )));
        }
        Ok(used as usize)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ImpError::io(path, e))?;
        Self::from_json(&text)
            .map_err(|e| ImpError::InvalidModel(format!("{}: {e}", path.display())))
    }

    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        raw.resolve()
    }
}

/// `eos_token_id` is an int in Phi-2 configs and a list in Phi-3's.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(u32),
    Many(Vec<u32>),
}

#[derive(Debug, Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    #[serde(default)]
    architectures: Vec<String>,
    vocab_size: Option<usize>,
    #[serde(alias = "n_embd")]
    hidden_size: Option<usize>,
    #[serde(alias = "n_inner")]
    intermediate_size: Option<usize>,
    #[serde(alias = "n_layer")]
    num_hidden_layers: Option<usize>,
    #[serde(alias = "n_head")]
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    rotary_dim: Option<usize>,
    partial_rotary_factor: Option<f64>,
    rope_theta: Option<f64>,
    #[serde(alias = "layer_norm_epsilon")]
    layer_norm_eps: Option<f64>,
    rms_norm_eps: Option<f64>,
    sliding_window: Option<usize>,
    use_sliding_window: Option<bool>,
    rope_scaling: Option<serde_json::Value>,
    #[serde(alias = "activation_function")]
    hidden_act: Option<String>,
    #[serde(alias = "n_positions")]
    max_position_embeddings: Option<usize>,
    tokenizer_model_max_length: Option<usize>,
    mm_hidden_size: Option<usize>,
    mm_projector_type: Option<String>,
    mm_vision_select_layer: Option<i64>,
    mm_vision_select_feature: Option<String>,
    image_aspect_ratio: Option<String>,
    image_token_index: Option<u32>,
    eos_token_id: Option<OneOrMany>,
    vision_tower_config: Option<VisionConfig>,
}

impl RawConfig {
    fn resolve(self) -> std::result::Result<ImpConfig, String> {
        let model_type = self.model_type.clone().unwrap_or_default();
        let arch = TextArch::detect(&model_type, &self.architectures)?;
        let text = match arch {
            TextArch::Phi2 => self.phi2()?,
            TextArch::Qwen2 | TextArch::Phi3 => self.llama_shaped(arch)?,
        };
        check_sizes(&[
            ("vocab_size", text.vocab_size, 1 << 22),
            ("hidden_size", text.hidden_size, 1 << 16),
            ("intermediate_size", text.intermediate_size, 1 << 18),
            ("num_hidden_layers", text.num_hidden_layers, 1 << 10),
            ("num_attention_heads", text.num_attention_heads, 1 << 10),
        ])?;
        let vision = self
            .vision_tower_config
            .ok_or("config.json has no vision_tower_config")?;
        // 384 is not a multiple of 14: the stride-14 convolution covers 27 patches
        // (378 px) and never reads the last 6 rows and columns.
        if vision.patch_size == 0 || vision.image_size < vision.patch_size {
            return Err(format!(
                "image size {} does not hold a {}-pixel patch",
                vision.image_size, vision.patch_size
            ));
        }
        if vision.num_attention_heads == 0 || vision.hidden_size % vision.num_attention_heads != 0 {
            return Err("vision hidden size is not a multiple of its heads".into());
        }
        // These sizes allocate before any tensor is read (rotary tables, pixel
        // buffers), so a hostile config must not be able to ask for terabytes.
        check_sizes(&[
            ("vision hidden_size", vision.hidden_size, 1 << 16),
            (
                "vision intermediate_size",
                vision.intermediate_size,
                1 << 18,
            ),
            (
                "vision num_hidden_layers",
                vision.num_hidden_layers,
                1 << 10,
            ),
            ("mm_hidden_size", self.mm_hidden_size.unwrap_or(1), 1 << 16),
        ])?;
        if vision.image_size > MAX_IMAGE_SIZE {
            return Err(format!(
                "image size {} is beyond the {MAX_IMAGE_SIZE} px this build supports",
                vision.image_size
            ));
        }
        let eos_token_ids = match self.eos_token_id {
            Some(OneOrMany::One(id)) => vec![id],
            Some(OneOrMany::Many(ids)) if !ids.is_empty() => ids,
            // The released checkpoints' ids, for configs that leave them out.
            _ => match arch {
                TextArch::Phi2 => vec![50295],
                TextArch::Qwen2 => vec![151645, 151643],
                TextArch::Phi3 => vec![32007, 32000, 32001],
            },
        };
        let image_token_index = match (self.image_token_index, arch) {
            (Some(id), _) => id,
            (None, TextArch::Phi2) => 50296,
            (None, TextArch::Qwen2) => 151646,
            (None, TextArch::Phi3) => return Err("config.json has no image_token_index".into()),
        };
        let mm_projector_type = self
            .mm_projector_type
            .unwrap_or_else(|| "mlp2x_gelu".into());
        if mm_projector_type != "mlp2x_gelu" {
            return Err(format!(
                "unsupported mm_projector_type {mm_projector_type:?} (Imp uses mlp2x_gelu)"
            ));
        }
        let mm_vision_select_feature = self
            .mm_vision_select_feature
            .unwrap_or_else(|| "patch".into());
        if mm_vision_select_feature != "patch" {
            return Err(format!(
                "unsupported mm_vision_select_feature {mm_vision_select_feature:?}"
            ));
        }
        let context_length = self
            .tokenizer_model_max_length
            .or(self.max_position_embeddings)
            .unwrap_or(2048);
        if context_length == 0 || context_length > MAX_CONTEXT {
            return Err(format!(
                "context length {context_length} is outside 1..={MAX_CONTEXT}"
            ));
        }
        Ok(ImpConfig {
            model_type,
            mm_hidden_size: self.mm_hidden_size.unwrap_or(vision.hidden_size),
            text,
            mm_projector_type,
            mm_vision_select_layer: self.mm_vision_select_layer.unwrap_or(-2),
            mm_vision_select_feature,
            image_aspect_ratio: match self.image_aspect_ratio.as_deref() {
                Some("pad") => AspectMode::Pad,
                _ => AspectMode::Squash,
            },
            image_token_index,
            eos_token_ids,
            context_length,
            vision,
        })
    }
}

/// Each (name, value, limit) must be in 1..=limit: limits far beyond any Imp
/// checkpoint, small enough that a hostile config cannot make the loader
/// reserve unbounded memory or overflow a size computation before the first
/// tensor is checked against the file.
fn check_sizes(sizes: &[(&str, usize, usize)]) -> std::result::Result<(), String> {
    for &(what, value, limit) in sizes {
        if value == 0 || value > limit {
            return Err(format!("{what} {value} is outside 1..={limit}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISHED_STYLE: &str = r#"{
        "model_type": "imp", "architectures": ["ImpForCausalLM"],
        "mm_hidden_size": 1152, "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2, "image_aspect_ratio": "square",
        "image_token_index": 50296, "eos_token_id": 50295,
        "tokenizer_model_max_length": 3072,
        "vision_tower_config": {"hidden_size": 1152, "image_size": 196,
            "intermediate_size": 4304, "layer_norm_eps": 1e-6,
            "num_attention_heads": 16, "num_hidden_layers": 27, "patch_size": 14}
    }"#;

    #[test]
    fn absent_language_keys_take_phi2_values() {
        let cfg = ImpConfig::from_json(PUBLISHED_STYLE).unwrap();
        assert_eq!(cfg.image_aspect_ratio, AspectMode::Squash);
        let json = PUBLISHED_STYLE.replace("\"square\"", "\"pad\"");
        assert_eq!(
            ImpConfig::from_json(&json).unwrap().image_aspect_ratio,
            AspectMode::Pad
        );
        assert_eq!(cfg.text.hidden_size, 2560);
        assert_eq!(cfg.text.num_hidden_layers, 32);
        assert_eq!(cfg.text.intermediate_size, 10240);
        assert_eq!(cfg.text.rotary_dim, 32);
        assert_eq!(cfg.text.vocab_size, 51200);
        assert_eq!(cfg.vision.num_patches(), 196);
        assert_eq!(cfg.vision_layers_used().unwrap(), 26);
        assert_eq!(cfg.context_length, 3072);
    }

    #[test]
    fn phi_msft_spellings_are_accepted() {
        let json = PUBLISHED_STYLE.replace(
            "\"model_type\": \"imp\",",
            "\"model_type\": \"imp\", \"n_embd\": 64, \"n_layer\": 2, \"n_head\": 4, \
             \"rotary_dim\": 8, \"layer_norm_epsilon\": 1e-5, \"n_positions\": 512,",
        );
        let cfg = ImpConfig::from_json(&json).unwrap();
        assert_eq!(cfg.text.hidden_size, 64);
        assert_eq!(cfg.text.num_hidden_layers, 2);
        assert_eq!(cfg.text.num_attention_heads, 4);
        assert_eq!(cfg.text.rotary_dim, 8);
        assert_eq!(cfg.text.intermediate_size, 256);
    }

    #[test]
    fn absurd_sizes_are_refused() {
        let json = PUBLISHED_STYLE.replace("3072", "1000000000000");
        assert!(ImpConfig::from_json(&json)
            .unwrap_err()
            .contains("context length"));
        let json = PUBLISHED_STYLE.replace(
            "\"model_type\": \"imp\",",
            "\"model_type\": \"imp\", \"n_layer\": 1000000000000,",
        );
        assert!(ImpConfig::from_json(&json)
            .unwrap_err()
            .contains("num_hidden_layers"));
        let json = PUBLISHED_STYLE.replace("\"image_size\": 196", "\"image_size\": 1000000");
        assert!(ImpConfig::from_json(&json)
            .unwrap_err()
            .contains("image size"));
    }

    /// Imp-v1.5-2B-Qwen1.5 and 4B-Phi3 as their configs list the language model.
    fn llama_shaped(model_type: &str, class: &str, extra: &str) -> String {
        PUBLISHED_STYLE
            .replace("\"imp\"", &format!("\"{model_type}\""))
            .replace("ImpForCausalLM", class)
            .replace(
                "\"mm_hidden_size\"",
                &format!(
                    "\"vocab_size\": 151936, \"hidden_size\": 2048, \"intermediate_size\": 5504, \
                     \"num_hidden_layers\": 24, \"num_attention_heads\": 16, {extra} \
                     \"mm_hidden_size\""
                ),
            )
    }

    #[test]
    fn qwen2_and_phi3_variants_are_detected() {
        let qwen = llama_shaped(
            "imp_qwen2",
            "ImpQwen2ForCausalLM",
            "\"num_key_value_heads\": 16,",
        );
        let cfg = ImpConfig::from_json(&qwen.replace("\"eos_token_id\": 50295,", "")).unwrap();
        assert_eq!(cfg.text.arch, TextArch::Qwen2);
        assert_eq!(cfg.text.rotary_dim, 128);
        assert_eq!(cfg.text.rope_theta, 1e6);
        assert_eq!(cfg.text.norm_eps, 1e-6);
        assert_eq!(cfg.text.sliding_window, None);
        assert_eq!(cfg.eos_token_ids, [151645, 151643]);
        let phi3 = llama_shaped(
            "imp_phi3",
            "ImpPhi3ForCausalLM",
            "\"sliding_window\": 2047,",
        );
        let cfg = ImpConfig::from_json(&phi3).unwrap();
        assert_eq!(cfg.text.arch, TextArch::Phi3);
        assert_eq!(cfg.text.sliding_window, Some(2047));
        assert_eq!(cfg.text.norm_eps, 1e-5);
        // A class that contradicts model_type, GQA, and RoPE scaling are refused by name.
        let err = ImpConfig::from_json(&phi3.replace("ImpPhi3", "ImpQwen2")).unwrap_err();
        assert!(err.contains("contradicts"), "{err}");
        let err = ImpConfig::from_json(&llama_shaped(
            "imp_qwen2",
            "ImpQwen2ForCausalLM",
            "\"num_key_value_heads\": 4,",
        ))
        .unwrap_err();
        assert!(err.contains("grouped-query"), "{err}");
        let err = ImpConfig::from_json(&llama_shaped(
            "imp_phi3",
            "ImpPhi3ForCausalLM",
            "\"rope_scaling\": {\"type\": \"su\"},",
        ))
        .unwrap_err();
        assert!(err.contains("rope_scaling"), "{err}");
        // Qwen and Phi-3 configs are complete: a missing dimension is an error.
        let err =
            ImpConfig::from_json(&qwen.replace("\"num_hidden_layers\": 24,", "")).unwrap_err();
        assert!(err.contains("num_hidden_layers"), "{err}");
    }

    #[test]
    fn unknown_model_type_is_named() {
        let json = PUBLISHED_STYLE.replace("\"imp\"", "\"llava\"");
        let err = ImpConfig::from_json(&json).unwrap_err();
        assert!(err.contains("llava"), "{err}");
    }
}
