//! Finding and opening a checkpoint's safetensors, and hiding which of the two
//! published weight layouts it uses.
//!
//! The model code asks for the current ("phi-2 version") names, e.g.
//! `model.layers.3.self_attn.q_proj.weight`. Older uploads (phi-msft style,
//! e.g. Imp-v1.5-3B-196) use `transformer.h.3.mixer.Wqkv` with q, k and v fused;
//! a renaming backend maps the current names onto those, and the attention block
//! accepts either a fused `qkv` or separate projections.

use candle_core::{safetensors::MmapedSafetensors, DType, Device};
use candle_nn::VarBuilder;
use std::path::{Path, PathBuf};

use crate::error::{candle_message, ImpError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightLayout {
    /// `model.layers.N.self_attn.{q,k,v}_proj`, `model.final_layernorm`, `lm_head`.
    Current,
    /// `transformer.h.N.mixer.Wqkv`, `lm_head.ln`, `lm_head.linear`.
    PhiMsft,
}

/// The safetensors files of a checkpoint directory, single or sharded.
pub fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        return shards_from_index(dir, &index);
    }
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ImpError::io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "safetensors"))
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(ImpError::InvalidModel(format!(
            "{} holds no .safetensors weights",
            dir.display()
        )));
    }
    Ok(found)
}

fn shards_from_index(dir: &Path, index: &Path) -> Result<Vec<PathBuf>> {
    #[derive(serde::Deserialize)]
    struct Index {
        weight_map: std::collections::BTreeMap<String, String>,
    }
    let text = std::fs::read_to_string(index).map_err(|e| ImpError::io(index, e))?;
    let parsed: Index = serde_json::from_str(&text)
        .map_err(|e| ImpError::InvalidModel(format!("{}: {e}", index.display())))?;
    let mut shards: Vec<String> = parsed.weight_map.into_values().collect();
    shards.sort();
    shards.dedup();
    shards
        .into_iter()
        .map(|name| {
            // A shard name is a file in this directory, never a path elsewhere.
            if name.contains('/') || name.contains('\\') || name.starts_with('.') {
                return Err(ImpError::InvalidModel(format!(
                    "{}: shard name {name:?} is not a plain file name",
                    index.display()
                )));
            }
            let path = dir.join(&name);
            if !path.exists() {
                return Err(ImpError::InvalidModel(format!(
                    "shard {name} listed in {} is missing",
                    index.display()
                )));
            }
            Ok(path)
        })
        .collect()
}

/// Opens the checkpoint's weights as a `VarBuilder` speaking the current names.
pub fn open_checkpoint(
    files: &[PathBuf],
    dtype: DType,
    device: &Device,
) -> Result<(VarBuilder<'static>, WeightLayout)> {
    // SAFETY: the files are memory-mapped read-only; like every mmap-based loader we
    // rely on them not being truncated while the model is alive.
    let tensors = unsafe { MmapedSafetensors::multi(files) }.map_err(|e| {
        ImpError::InvalidModel(format!("cannot read safetensors: {}", candle_message(&e)))
    })?;
    let layout = if tensors
        .tensors()
        .iter()
        .any(|(name, _)| name.starts_with("transformer."))
    {
        WeightLayout::PhiMsft
    } else {
        WeightLayout::Current
    };
    let vb = VarBuilder::from_backend(Box::new(tensors), dtype, device.clone());
    let vb = match layout {
        WeightLayout::Current => vb,
        WeightLayout::PhiMsft => vb.rename_f(phi_msft_name),
    };
    Ok((vb, layout))
}

/// Maps a current-layout name to its phi-msft spelling.
fn phi_msft_name(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("model.layers.") {
        let (layer, tail) = rest.split_once('.').unwrap_or((rest, ""));
        let tail = tail
            .replace("input_layernorm.", "ln.")
            .replace("self_attn.qkv.", "mixer.Wqkv.")
            .replace("self_attn.dense.", "mixer.out_proj.");
        return format!("transformer.h.{layer}.{tail}");
    }
    if let Some(rest) = name.strip_prefix("model.final_layernorm.") {
        return format!("lm_head.ln.{rest}");
    }
    if let Some(rest) = name.strip_prefix("lm_head.") {
        return format!("lm_head.linear.{rest}");
    }
    if let Some(rest) = name.strip_prefix("model.embed_tokens.") {
        return format!("transformer.embd.wte.{rest}");
    }
    if let Some(rest) = name.strip_prefix("model.") {
        return format!("transformer.{rest}");
    }
    name.to_string()
}

/// The dtype of a checkpoint's first tensor ("f16", "bf16", ...), read from the
/// safetensors headers only.
pub fn safetensors_dtype(dir: &Path) -> Result<String> {
    let files = safetensors_files(dir)?;
    // SAFETY: read-only map, only the header is looked at.
    let tensors = unsafe { MmapedSafetensors::multi(&files) }.map_err(|e| {
        ImpError::InvalidModel(format!("cannot read safetensors: {}", candle_message(&e)))
    })?;
    Ok(tensors
        .tensors()
        .first()
        .map(|(_, view)| format!("{:?}", view.dtype()).to_lowercase())
        .unwrap_or_else(|| "unknown".into()))
}

#[cfg(test)]
mod tests {
    use super::phi_msft_name;

    #[test]
    fn current_names_map_onto_phi_msft() {
        let cases = [
            ("model.embed_tokens.weight", "transformer.embd.wte.weight"),
            ("model.layers.7.input_layernorm.bias", "transformer.h.7.ln.bias"),
            ("model.layers.0.self_attn.qkv.weight", "transformer.h.0.mixer.Wqkv.weight"),
            ("model.layers.12.self_attn.dense.bias", "transformer.h.12.mixer.out_proj.bias"),
            ("model.layers.3.mlp.fc1.weight", "transformer.h.3.mlp.fc1.weight"),
            ("model.final_layernorm.weight", "lm_head.ln.weight"),
            ("lm_head.bias", "lm_head.linear.bias"),
            ("model.mm_projector.2.weight", "transformer.mm_projector.2.weight"),
            (
                "model.vision_tower.vision_tower.vision_model.embeddings.patch_embedding.weight",
                "transformer.vision_tower.vision_tower.vision_model.embeddings.patch_embedding.weight",
            ),
        ];
        for (current, legacy) in cases {
            assert_eq!(phi_msft_name(current), legacy);
        }
    }
}
