//! What a model is and what it costs, before or after loading it.

use std::path::Path;

use crate::error::ImpFfiError;
use crate::guard::guarded;

#[derive(Debug, Clone, uniffi::Record)]
pub struct ModelInfo {
    pub variant: String,
    /// How the weights are stored (f16, bf16, f32; q4_k... with GGUF).
    pub weights_dtype: String,
    pub image_size: u32,
    pub image_tokens: u32,
    pub context_length: u32,
    pub parameter_count: u64,
    pub estimated_memory_bytes: u64,
}

impl From<imp_core::ModelInfo> for ModelInfo {
    fn from(info: imp_core::ModelInfo) -> Self {
        Self {
            parameter_count: info.parameter_count(),
            variant: info.variant,
            weights_dtype: info.weights_dtype,
            image_size: info.image_size as u32,
            image_tokens: info.image_tokens as u32,
            context_length: info.context_length as u32,
            estimated_memory_bytes: info.estimated_memory_bytes,
        }
    }
}

/// Reads a model's description without loading its weights (fast).
#[uniffi::export]
pub fn inspect_model(model_path: String) -> Result<ModelInfo, ImpFfiError> {
    guarded(|| {
        Ok(imp_core::ModelInfo::inspect(Path::new(&model_path), &Default::default())?.into())
    })
}
