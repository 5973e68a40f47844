//! Random-weight Imp models of the real dimensions, written as Imp GGUF files,
//! so speed and memory can be measured without any checkpoint (speed does not
//! depend on the weights' values).
//!
//! The file has the same tensors and per-tensor types `imp convert` writes for
//! a real checkpoint. Each matrix repeats one small properly quantized random
//! tile, which keeps writing a 2 GB file to seconds instead of quantizing 11 GB
//! of floats; the kernels read every block all the same.

use candle_core::quantized::GgmlDType;
use rand::{Rng, SeedableRng};
use std::io::BufWriter;
use std::path::Path;

use crate::config::ImpConfig;
use crate::convert::{imp_tensors, quantize_values, QuantPolicy, TensorRole};
use crate::error::{ImpError, Result};
use crate::gguf::{keys, GgufWriter, Value};

/// The published shapes, by the names `imp bench --synthetic` takes.
pub const PRESETS: [&str; 4] = ["imp-3b-196", "imp-3b-384", "imp-2b", "imp-4b"];

/// The config.json of a preset.
pub fn preset_config(name: &str) -> Result<String> {
    let image_size = match name {
        "imp-3b-196" => 196,
        "imp-3b-384" => 384,
        "imp-2b" | "imp-4b" => {
            return Err(ImpError::UnsupportedModel(format!(
                "{name}: its language model (Qwen1.5 / Phi-3) is not implemented yet"
            )))
        }
        other => {
            return Err(ImpError::InvalidArgument(format!(
                "no synthetic preset {other:?} (known: {})",
                PRESETS.join(", ")
            )))
        }
    };
    // Imp-v1.5-3B: Phi-2 (the config defaults) and SigLIP so400m, 26 of 27 layers.
    Ok(serde_json::json!({
        "model_type": "imp",
        "architectures": ["ImpForCausalLM"],
        "mm_hidden_size": 1152,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch",
        "image_aspect_ratio": "square",
        "image_token_index": 50296,
        "eos_token_id": 50295,
        "tokenizer_model_max_length": 3072,
        "vision_tower_config": {
            "hidden_size": 1152, "intermediate_size": 4304, "num_attention_heads": 16,
            "num_hidden_layers": 27, "image_size": image_size, "patch_size": 14,
            "layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh"
        }
    })
    .to_string())
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
    let metadata: Vec<(String, Value)> = vec![
        (keys::ARCHITECTURE.into(), keys::IMP_ARCH.into()),
        (keys::NAME.into(), format!("synthetic {name}").into()),
        (
            keys::FORMAT_VERSION.into(),
            keys::CURRENT_FORMAT_VERSION.into(),
        ),
        (keys::CONFIG.into(), config_text.into()),
        (keys::CHAT_TEMPLATE.into(), "phi2".into()),
        (
            keys::QUANT.into(),
            crate::convert::dtype_name(policy.text).into(),
        ),
        (keys::QUANT_POLICY.into(), policy.describe().into()),
    ];
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
