//! The activations named in Imp's configs.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};

use crate::error::ImpError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// GELU in its exact erf form (`gelu`).
    GeluErf,
    /// x * sigmoid(x) (`silu`), the gate of Qwen's and Phi-3's MLP.
    Silu,
}

impl Activation {
    pub fn from_config_name(name: &str) -> std::result::Result<Self, ImpError> {
        match name {
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Self::GeluTanh),
            "gelu" => Ok(Self::GeluErf),
            "silu" | "swish" => Ok(Self::Silu),
            other => Err(ImpError::UnsupportedModel(format!(
                "activation {other:?} is not one Imp uses"
            ))),
        }
    }

    pub fn forward(self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Self::GeluTanh if xs.dtype() == DType::F32 && xs.device().is_cpu() => {
                xs.contiguous()?.apply_op1_no_bwd(&VectorGelu)
            }
            Self::GeluTanh => xs.gelu(),
            Self::GeluErf => xs.gelu_erf(),
            Self::Silu => xs.silu(),
        }
    }
}

/// GELU (tanh approximation) through `kernels::gelu`, vectorized, instead of
/// candle's element-by-element `tanhf`.
struct VectorGelu;

impl CustomOp1 for VectorGelu {
    fn name(&self) -> &'static str {
        "vector-gelu-tanh"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let count = layout.shape().elem_count();
        let mut ys = storage.as_slice::<f32>()?[layout.start_offset()..][..count].to_vec();
        crate::kernels::gelu::gelu_tanh(&mut ys);
        Ok((CpuStorage::F32(ys), layout.shape().clone()))
    }
}
