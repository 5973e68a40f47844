//! The `mlp2x_gelu` projector: Linear(vision hidden -> H), exact GELU, Linear(H -> H).
//!
//! Reference: MILVLG/imp `imp_llava/model/multimodal_projector/builder.py`.

use candle_core::{Module, Result, Tensor};
use candle_nn::{linear, Linear, VarBuilder};

pub struct Projector {
    fc1: Linear,
    fc2: Linear,
}

impl Projector {
    /// `vb` points at `model.mm_projector` (sequential indices 0 and 2).
    pub fn new(vision_hidden: usize, text_hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            fc1: linear(vision_hidden, text_hidden, vb.pp("0"))?,
            fc2: linear(text_hidden, text_hidden, vb.pp("2"))?,
        })
    }

    pub fn forward(&self, features: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(features)?.gelu_erf()?)
    }
}
