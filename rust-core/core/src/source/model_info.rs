//! What a checkpoint is and what it will cost, read from `config.json` and the
//! safetensors headers only: an app can decide whether a phone can hold a model
//! before loading a byte of weights.

use std::path::Path;

use crate::config::{ImpConfig, TextArch};
use crate::error::{ImpError, Result};
use crate::source::ModelSource;
use crate::weights::gguf::{is_float, parse_dtype};

/// Bytes per value of the float path (float32 compute, as the reference).
const F32_BYTES: u64 = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The language model under Imp: "imp-phi2", "imp-qwen2" or "imp-phi3".
    pub variant: String,
    /// How the weights are stored on disk (f16, bf16, f32).
    pub weights_dtype: String,
    pub image_size: usize,
    /// Visual embeddings each image becomes.
    pub image_tokens: usize,
    pub context_length: usize,
    pub vision_parameters: u64,
    pub projector_parameters: u64,
    pub text_parameters: u64,
    /// Weights in compute precision plus a KV cache filled to the context length.
    pub estimated_memory_bytes: u64,
}

impl ModelInfo {
    pub fn parameter_count(&self) -> u64 {
        self.vision_parameters + self.projector_parameters + self.text_parameters
    }

    /// Reads a model (checkpoint directory or GGUF file) without loading its weights.
    pub fn inspect(path: &Path, options: &LoadOptions) -> Result<Self> {
        Self::from_source(&ModelSource::open(path)?, options)
    }

    pub fn from_source(source: &ModelSource, options: &LoadOptions) -> Result<Self> {
        let mut config = source.config()?;
        options.apply(&mut config)?;
        let mut info = Self::from_config(&config, source.weights_dtype()?);
        let mapped = source.mapped_bytes();
        if mapped > 0 {
            // Weights used in place from the file cost the file's size, and
            // block-quantized ones keep their KV cache in f16.
            let kv = kv_value_bytes(&info.weights_dtype);
            info.estimated_memory_bytes = estimated_memory(mapped, &config, kv);
        }
        Ok(info)
    }

    pub fn from_config(config: &ImpConfig, weights_dtype: String) -> Self {
        let (vision, projector, text) = parameter_counts(config);
        let weights = (vision + projector + text) * F32_BYTES;
        Self {
            variant: format!("imp-{}", config.text.arch.name()),
            weights_dtype,
            image_size: config.vision.image_size,
            image_tokens: config.vision.num_patches(),
            context_length: config.context_length,
            vision_parameters: vision,
            projector_parameters: projector,
            text_parameters: text,
            estimated_memory_bytes: estimated_memory(weights, config, F32_BYTES),
        }
    }
}

/// Bytes per cached key or value for weights stored as `weights_dtype`: the
/// attention keeps f16 keys and values when its projections are
/// block-quantized (`model::attention`, by the same `is_float`), f32 for
/// float weights or a type it cannot name.
pub fn kv_value_bytes(weights_dtype: &str) -> u64 {
    match parse_dtype(weights_dtype) {
        Some(dtype) if !is_float(dtype) => 2,
        _ => F32_BYTES,
    }
}

/// Weights, a KV cache of `kv_bytes` a value filled to the context, and a
/// tenth on top for the activations of the largest step (the image prefill)
/// and allocator slack, measured to be enough on the fixtures' scale.
pub fn estimated_memory(weight_bytes: u64, config: &ImpConfig, kv_bytes: u64) -> u64 {
    let t = &config.text;
    let kv_cache = 2 * (t.num_hidden_layers * config.context_length * t.hidden_size) as u64;
    let total = weight_bytes + kv_cache * kv_bytes;
    total + total / 10
}

/// What a caller may change about how a checkpoint runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Fewer context positions than the model allows (less KV memory).
    pub context_length: Option<usize>,
    /// Run the vision tower at another input size (e.g. 196 px on a 384-px
    /// checkpoint: 4x fewer image tokens), with interpolated position embeddings.
    pub image_size: Option<usize>,
}

impl LoadOptions {
    /// Applies the overrides to a checkpoint's config.
    pub fn apply(&self, config: &mut ImpConfig) -> Result<()> {
        match self.context_length {
            None => {}
            Some(0) => {
                return Err(ImpError::InvalidArgument(
                    "context length must be at least 1".into(),
                ))
            }
            Some(n) => config.context_length = n.min(config.context_length),
        }
        if let Some(size) = self.image_size {
            let patch = config.vision.patch_size;
            if size < patch || size > crate::config::MAX_IMAGE_SIZE {
                return Err(ImpError::InvalidArgument(format!(
                    "image size {size} is outside {patch}..={}",
                    crate::config::MAX_IMAGE_SIZE
                )));
            }
            config.vision.image_size = size;
        }
        Ok(())
    }
}

/// Parameters Imp runs: (vision tower as truncated, projector, language model).
fn parameter_counts(config: &ImpConfig) -> (u64, u64, u64) {
    let v = &config.vision;
    let (vh, vi) = (v.hidden_size as u64, v.intermediate_size as u64);
    let patch = vh * (v.num_channels * v.patch_size * v.patch_size) as u64 + vh;
    let position = v.num_patches() as u64 * vh;
    let vision_layer = 4 * (vh * vh + vh) + 2 * 2 * vh + (vh * vi + vi) + (vi * vh + vh);
    let layers_used = config.vision_layers_used().unwrap_or(0) as u64;
    let vision = patch + position + layers_used * vision_layer;

    let t = &config.text;
    let (h, i, vocab) = (
        t.hidden_size as u64,
        t.intermediate_size as u64,
        t.vocab_size as u64,
    );
    let projector = (config.mm_hidden_size as u64 * h + h) + (h * h + h);
    let (text_layer, head) = match t.arch {
        // q, k, v, dense with biases; one LayerNorm; fc1, fc2 with biases.
        TextArch::Phi2 => (
            4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h),
            2 * h + (h * vocab + vocab),
        ),
        // q, k, v (Qwen's with biases), o; two RMSNorms; gate, up, down.
        TextArch::Qwen2 | TextArch::Phi3 => {
            let qkv_bias = if t.arch == TextArch::Qwen2 { 3 * h } else { 0 };
            (4 * h * h + qkv_bias + 2 * h + 3 * h * i, h + h * vocab)
        }
    };
    let text = vocab * h + t.num_hidden_layers as u64 * text_layer + head;
    (vision, projector, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imp_3b_counts_match_the_published_size() {
        let json = r#"{"model_type": "imp", "tokenizer_model_max_length": 3072,
            "vision_tower_config": {"image_size": 384}}"#;
        let config = ImpConfig::from_json(json).unwrap();
        let info = ModelInfo::from_config(&config, "f16".into());
        // Phi-2 is 2.78 B parameters; SigLIP so400m truncated to 26 layers ~0.41 B.
        let text = info.text_parameters as f64 / 1e9;
        let vision = info.vision_parameters as f64 / 1e9;
        assert!((2.77..2.79).contains(&text), "{text}");
        assert!((0.39..0.43).contains(&vision), "{vision}");
        assert_eq!(info.image_tokens, 729);
        assert_eq!(info.variant, "imp-phi2");
    }

    /// A quantized file's estimate counts an f16 KV cache: for Imp-3B at
    /// 3072 positions, 0.94 GiB where f32 would be 1.9 GiB, the difference
    /// between a phone refused and one that runs it.
    #[test]
    fn quantized_weights_count_an_f16_kv_cache() {
        let json = r#"{"model_type": "imp", "tokenizer_model_max_length": 3072,
            "vision_tower_config": {"image_size": 196}}"#;
        let config = ImpConfig::from_json(json).unwrap();
        let weights = 2_000_000_000;
        let kv = |dtype: &str| {
            estimated_memory(weights, &config, kv_value_bytes(dtype)) * 10 / 11 - weights
        };
        assert_eq!(kv("q4_k"), 2 * 32 * 3072 * 2560 * 2);
        assert_eq!(kv("q8_0"), kv("q4_k"));
        for float in ["f32", "f16", "bf16", "gguf"] {
            assert_eq!(kv(float), 2 * kv("q4_k"), "{float}");
        }
    }
}
