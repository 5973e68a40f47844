//! Random-weight Imp models of the real dimensions, written as Imp GGUF files,
//! so speed and memory can be measured without any checkpoint (speed does not
//! depend on the weights' values).
//!
//! The file has the same tensors and per-tensor types `imp convert` writes for
//! a real checkpoint. Each matrix repeats one small properly quantized random
//! tile, which keeps writing a 2 GB file to seconds instead of quantizing 11 GB
//! of floats; the kernels read every block all the same. Its tokenizer is a
//! small one of the same kind ([`tokenizer`]).

mod tokenizer;

use candle_core::quantized::GgmlDType;
use rand::{Rng, SeedableRng};
use std::io::BufWriter;
use std::path::Path;

use crate::convert::{imp_tensors, quantize_values, tokenizer_metadata, QuantPolicy, TensorRole};
use imp_core::config::ImpConfig;
use imp_core::error::{ImpError, Result};
use imp_core::text::chat_template::ChatTemplate;
use imp_core::weights::gguf::{keys, GgufWriter, Value};
pub use tokenizer::synthetic_tokenizer;

/// The published shapes, by the names `imp bench --synthetic` takes.
pub const PRESETS: [&str; 4] = ["imp-3b-196", "imp-3b-384", "imp-2b", "imp-4b"];

/// The config.json of a preset: the released checkpoints' language models
/// (Phi-2, Qwen1.5-1.8B, Phi-3-mini) on SigLIP so400m, 26 of 27 layers run.
pub fn preset_config(name: &str) -> Result<String> {
    let (image_size, text) = match name {
        "imp-3b-196" => (196, phi2()),
        "imp-3b-384" => (384, phi2()),
        "imp-2b" => (384, qwen1_5()),
        "imp-4b" => (384, phi3_mini()),
        other => {
            return Err(ImpError::InvalidArgument(format!(
                "no synthetic preset {other:?} (known: {})",
                PRESETS.join(", ")
            )))
        }
    };
    let mut config = serde_json::json!({
        "mm_hidden_size": 1152,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch",
        "tokenizer_model_max_length": 3072,
        "vision_tower_config": {
            "hidden_size": 1152, "intermediate_size": 4304, "num_attention_heads": 16,
            "num_hidden_layers": 27, "image_size": image_size, "patch_size": 14,
            "layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh"
        }
    });
    if let (Some(config), serde_json::Value::Object(text)) = (config.as_object_mut(), text) {
        config.extend(text);
    }
    Ok(config.to_string())
}

/// Imp-v1.5-3B: Phi-2 takes the config defaults.
fn phi2() -> serde_json::Value {
    serde_json::json!({
        "model_type": "imp", "architectures": ["ImpForCausalLM"],
        "image_aspect_ratio": "square", "image_token_index": 50296, "eos_token_id": 50295,
    })
}

/// Imp-v1.5-2B: Qwen1.5-1.8B.
fn qwen1_5() -> serde_json::Value {
    serde_json::json!({
        "model_type": "imp_qwen2", "architectures": ["ImpQwen2ForCausalLM"],
        "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 5504,
        "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16,
        "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
        "image_aspect_ratio": "square", "image_token_index": 151646,
        "eos_token_id": [151645, 151643],
    })
}

/// Imp-v1.5-4B: Phi-3-mini (4k context). Its `<image>` id is not recorded in
/// the project's facts; any id below the vocabulary serves a benchmark.
fn phi3_mini() -> serde_json::Value {
    serde_json::json!({
        "model_type": "imp_phi3", "architectures": ["ImpPhi3ForCausalLM"],
        "vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
        "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "hidden_act": "silu",
        "max_position_embeddings": 4096, "sliding_window": 2047,
        "image_aspect_ratio": "pad", "image_token_index": 32011,
        "eos_token_id": [32007, 32000, 32001],
    })
}

/// Writes a random model of preset `name` to `out`, calling `progress(done,
/// total)` after each tensor.
pub fn write_synthetic(
    name: &str,
    policy: QuantPolicy,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<()> {
    let config_text = preset_config(name)?;
    let config = ImpConfig::from_json(&config_text).map_err(ImpError::InvalidModel)?;
    let specs = imp_tensors(&config)?;
    let plan = crate::convert::plan(&specs, &policy);
    let tokenizer = synthetic_tokenizer(&config, &crate::bench::QUESTION_WORDS)?;
    let mut metadata: Vec<(String, Value)> = vec![
        (keys::ARCHITECTURE.into(), keys::IMP_ARCH.into()),
        (keys::NAME.into(), format!("synthetic {name}").into()),
        (
            keys::FORMAT_VERSION.into(),
            keys::CURRENT_FORMAT_VERSION.into(),
        ),
        (keys::CONFIG.into(), config_text.into()),
        (
            keys::CHAT_TEMPLATE.into(),
            ChatTemplate::for_arch(config.text.arch).name().into(),
        ),
        (
            keys::QUANT.into(),
            imp_core::weights::gguf::dtype_name(policy.text).into(),
        ),
        (keys::QUANT_POLICY.into(), policy.describe().into()),
    ];
    metadata.extend(tokenizer_metadata(&tokenizer, &config)?);
    let file = std::fs::File::create(out).map_err(|e| ImpError::io(out, e))?;
    let io = |e: std::io::Error| ImpError::io(out, e);
    let mut writer = GgufWriter::new(BufWriter::new(file), &metadata, plan.clone()).map_err(io)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (i, (spec, planned)) in specs.iter().zip(&plan).enumerate() {
        let bytes = random_tensor(&mut rng, &planned.shape, planned.dtype, spec.role)?;
        writer.write_tensor(&planned.name, &bytes).map_err(io)?;
        progress(i + 1, specs.len());
    }
    writer.finish().map_err(io)?;
    Ok(())
}

/// Rows of one small random tile, quantized, repeated to the tensor's size.
fn random_tensor(
    rng: &mut impl Rng,
    shape: &[usize],
    dtype: GgmlDType,
    role: TensorRole,
) -> Result<Vec<u8>> {
    let row = *shape.last().expect("tensors have a shape");
    let rows: usize = shape.iter().product::<usize>() / row;
    let tile_rows = rows.min(64);
    // Values of a trained model's scale: unit-ish norms, small biases and
    // matrices scaled by 1/sqrt(fan-in), so activations stay finite.
    let (centre, spread) = match role {
        TensorRole::Small if shape.len() == 1 => (0.5, 0.5),
        TensorRole::Small => (0.0, 0.02),
        _ => (0.0, 1.0 / (row as f32).sqrt()),
    };
    let tile: Vec<f32> = (0..tile_rows * row)
        .map(|_| centre + spread * rng.random_range(-1.0f32..1.0))
        .collect();
    let tile_bytes = quantize_values(&tile, dtype);
    let row_bytes = tile_bytes.len() / tile_rows;
    let mut out = Vec::with_capacity(rows * row_bytes);
    while out.len() < rows * row_bytes {
        let take = (rows * row_bytes - out.len()).min(tile_bytes.len());
        out.extend_from_slice(&tile_bytes[..take]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imp_core::config::TextArch;

    /// Every preset is a valid config of the published dimensions (writing the
    /// files takes gigabytes; `imp bench --synthetic` does that).
    #[test]
    fn presets_have_the_published_shapes() {
        let expect = [
            (TextArch::Phi2, 2560, 32, 196),
            (TextArch::Phi2, 2560, 32, 384),
            (TextArch::Qwen2, 2048, 24, 384),
            (TextArch::Phi3, 3072, 32, 384),
        ];
        for (name, (arch, hidden, layers, px)) in PRESETS.iter().zip(expect) {
            let config = ImpConfig::from_json(&preset_config(name).unwrap()).unwrap();
            assert_eq!(config.text.arch, arch, "{name}");
            assert_eq!(config.text.hidden_size, hidden, "{name}");
            assert_eq!(config.text.num_hidden_layers, layers, "{name}");
            assert_eq!(config.vision.image_size, px, "{name}");
            assert_eq!(config.vision_layers_used().unwrap(), 26);
            assert!(!imp_tensors(&config).unwrap().is_empty());
        }
        assert!(preset_config("imp-9b").is_err());
    }

    /// Qwen1.5-1.8B is 1.84 B parameters, Phi-3-mini 3.82 B.
    #[test]
    fn imp_2b_and_4b_counts_match_their_language_models() {
        for (preset, variant, range) in [
            ("imp-2b", "imp-qwen2", 1.83..1.85),
            ("imp-4b", "imp-phi3", 3.81..3.83),
        ] {
            let json = preset_config(preset).unwrap();
            let config = ImpConfig::from_json(&json).unwrap();
            let info = imp_core::source::ModelInfo::from_config(&config, "f16".into());
            let text = info.text_parameters as f64 / 1e9;
            assert!(range.contains(&text), "{preset}: {text}");
            assert_eq!(info.variant, variant);
        }
    }
}
