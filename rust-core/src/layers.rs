//! Layers SigLIP and Phi-2 share: the two-layer MLP and the q/k/v projections
//! fused into one matmul.

use candle_core::{Module, Result, Tensor};
use candle_nn::{linear, Linear, VarBuilder};

use crate::activation::Activation;

/// `fc2(act(fc1(x)))`, both with bias (SiglipMLP, PhiMLP).
pub struct Mlp {
    fc1: Linear,
    fc2: Linear,
    act: Activation,
}

impl Mlp {
    pub fn new(
        hidden: usize,
        intermediate: usize,
        act: Activation,
        vb: VarBuilder,
    ) -> Result<Self> {
        Ok(Self {
            fc1: linear(hidden, intermediate, vb.pp("fc1"))?,
            fc2: linear(intermediate, hidden, vb.pp("fc2"))?,
            act,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.act.forward(&self.fc1.forward(xs)?)?)
    }
}

/// Loads `{q,k,v}_proj` as one fused projection: one matmul instead of three.
pub fn fused_qkv(hidden: usize, out: usize, vb: &VarBuilder) -> Result<Linear> {
    let parts = ["q_proj", "k_proj", "v_proj"];
    let weights = parts
        .iter()
        .map(|p| vb.pp(p).get((out, hidden), "weight"))
        .collect::<Result<Vec<_>>>()?;
    let biases = parts
        .iter()
        .map(|p| vb.pp(p).get(out, "bias"))
        .collect::<Result<Vec<_>>>()?;
    Ok(Linear::new(
        Tensor::cat(&weights, 0)?,
        Some(Tensor::cat(&biases, 0)?),
    ))
}
