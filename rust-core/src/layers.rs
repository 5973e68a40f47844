//! Layers SigLIP and Phi-2 share: the two-layer MLP and the q/k/v projections
//! fused into one matmul.

use candle_core::{Module, Result, Tensor};

use crate::activation::Activation;
use crate::weight_source::{Linear, WeightSource};

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
        ws: WeightSource,
    ) -> Result<Self> {
        Ok(Self {
            fc1: ws.pp("fc1").linear(hidden, intermediate)?,
            fc2: ws.pp("fc2").linear(intermediate, hidden)?,
            act,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.act.forward(&self.fc1.forward(xs)?)?)
    }
}

/// The q, k and v projections as one (hidden -> 3 * out) layer: `qkv` if the
/// weights store it fused, else `{q,k,v}_proj` joined (one matmul when dense).
pub fn fused_qkv(hidden: usize, out: usize, ws: &WeightSource) -> Result<Linear> {
    if ws.contains("qkv.weight") {
        return ws.pp("qkv").linear(hidden, 3 * out);
    }
    let parts = ["q_proj", "k_proj", "v_proj"]
        .iter()
        .map(|p| ws.pp(p).linear(hidden, out))
        .collect::<Result<Vec<_>>>()?;
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for part in &parts {
        match part {
            Linear::Dense(l) => {
                weights.push(l.weight().clone());
                biases.extend(l.bias().cloned());
            }
            _ => return Ok(Linear::Concat(parts)),
        }
    }
    let bias = if biases.len() == 3 {
        Some(Tensor::cat(&biases, 0)?)
    } else {
        None
    };
    Ok(Linear::Dense(candle_nn::Linear::new(
        Tensor::cat(&weights, 0)?,
        bias,
    )))
}
