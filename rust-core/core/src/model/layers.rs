//! Layers the architectures share: the two-layer MLP (SigLIP, Phi-2), the gated
//! MLP (Qwen2, Phi-3) and projections fused into one matmul.

use candle_core::{Module, Result, Tensor, D};

use crate::model::activation::Activation;
use crate::weights::weight_source::{Linear, WeightSource};

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

/// `down(act(gate(x)) * up(x))` with gate;up as one matmul (Qwen2MLP, Phi3MLP).
pub struct GatedMlp {
    gate_up: Linear,
    down: Linear,
    act: Activation,
}

impl GatedMlp {
    pub fn new(
        hidden: usize,
        intermediate: usize,
        act: Activation,
        ws: WeightSource,
    ) -> Result<Self> {
        Ok(Self {
            gate_up: fused(
                &ws,
                &["gate_up_proj"],
                &["gate_proj", "up_proj"],
                hidden,
                intermediate,
            )?,
            down: ws.pp("down_proj").linear(intermediate, hidden)?,
            act,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let gate_up = self.gate_up.forward(xs)?;
        let half = gate_up.dim(D::Minus1)? / 2;
        let gate = self.act.forward(&gate_up.narrow(D::Minus1, 0, half)?)?;
        let up = gate_up.narrow(D::Minus1, half, half)?;
        self.down.forward(&(gate * up)?)
    }
}

/// The q, k and v projections as one (hidden -> 3 * out) layer: `qkv` or
/// `qkv_proj` if the weights store it fused, else `{q,k,v}_proj` joined.
pub fn fused_qkv(hidden: usize, out: usize, ws: &WeightSource) -> Result<Linear> {
    fused(
        ws,
        &["qkv", "qkv_proj"],
        &["q_proj", "k_proj", "v_proj"],
        hidden,
        out,
    )
}

/// Projections of one input, each (hidden -> out), as one layer: stored fused
/// under one of `fused_names`, or stored as `parts` and joined (one matmul when
/// dense; a concatenation of mapped matmuls otherwise).
pub fn fused(
    ws: &WeightSource,
    fused_names: &[&str],
    parts: &[&str],
    hidden: usize,
    out: usize,
) -> Result<Linear> {
    if let Some(name) = fused_names
        .iter()
        .find(|n| ws.contains(&format!("{n}.weight")))
    {
        return ws.pp(name).linear(hidden, parts.len() * out);
    }
    let parts = parts
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
    let bias = match biases.len() {
        0 => None,
        n if n == parts.len() => Some(Tensor::cat(&biases, 0)?),
        _ => candle_core::bail!("some of {} have a bias and some not", parts.len()),
    };
    Ok(Linear::Dense(candle_nn::Linear::new(
        Tensor::cat(&weights, 0)?,
        bias,
    )))
}
