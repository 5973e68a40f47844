//! An Imp `config.json` rebuilt from the metadata keys of llama.cpp's pair,
//! so a pair written by any tool loads like a checkpoint.

use super::pair_arch;
use crate::config::TextArch;
use crate::error::{ImpError, Result};
use crate::weights::gguf::{keys, GgufFile};

/// An Imp config.json rebuilt from llama.cpp's keys: the mmproj holds only the
/// vision layers to run, so all of them are used (`mm_vision_select_layer` -1).
pub(super) fn config_json(text: &GgufFile, mmproj: &GgufFile) -> Result<String> {
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
    let tokens = text
        .get(keys::TOKENIZER_TOKENS)
        .and_then(|v| v.as_array())
        .and_then(|a| a.strings());
    let image_token = tokens
        .and_then(|t| t.iter().position(|s| s == "<image>"))
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
