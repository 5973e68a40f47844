//! The `mlp2x_gelu` projector: Linear(vision hidden -> H), exact GELU, Linear(H -> H).
//!
//! Reference: MILVLG/imp `imp_llava/model/multimodal_projector/builder.py`.

use crate::weights::weight_source::{Linear, WeightSource};
use candle_core::{Module, Result, Tensor};

pub struct Projector {
    fc1: Linear,
    fc2: Linear,
}

impl Projector {
    /// `ws` points at `model.mm_projector` (sequential indices 0 and 2).
    pub fn new(vision_hidden: usize, text_hidden: usize, ws: WeightSource) -> Result<Self> {
        Ok(Self {
            fc1: ws.pp("0").linear(vision_hidden, text_hidden)?,
            fc2: ws.pp("2").linear(text_hidden, text_hidden)?,
        })
    }

    pub fn forward(&self, features: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(features)?.gelu_erf()?)
    }
}
