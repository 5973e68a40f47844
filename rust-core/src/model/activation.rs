//! The activations named in Imp's configs.

use candle_core::{Result, Tensor};

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
            Self::GeluTanh => xs.gelu(),
            Self::GeluErf => xs.gelu_erf(),
            Self::Silu => xs.silu(),
        }
    }
}
