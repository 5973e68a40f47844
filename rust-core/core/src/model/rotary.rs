//! Rotary position embedding, rotate-half (NeoX) style, on the first `dim`
//! dims of each head: Phi-2 rotates 32 of 80, Qwen and Phi-3 the whole head.

use candle_core::{DType, Device, Result, Tensor, D};

/// cos/sin tables for the rotary part of each head.
pub struct Rotary {
    cos: Tensor,
    sin: Tensor,
    dim: usize,
}

impl Rotary {
    /// Rotates the first `dim` dims of each head (all of them when `dim` is the
    /// head size), with frequencies `theta^(-2i/dim)`.
    pub fn new(dim: usize, theta: f64, max_positions: usize, dev: &Device) -> Result<Self> {
        let inv_freq: Vec<f32> = (0..dim)
            .step_by(2)
            .map(|i| 1.0 / (theta as f32).powf(i as f32 / dim as f32))
            .collect();
        let inv_freq = Tensor::from_vec(inv_freq, (1, dim / 2), dev)?;
        let positions = Tensor::arange(0u32, max_positions as u32, dev)?
            .to_dtype(DType::F32)?
            .reshape((max_positions, 1))?;
        let freqs = positions.matmul(&inv_freq)?;
        Ok(Self {
            cos: freqs.cos()?,
            sin: freqs.sin()?,
            dim,
        })
    }

    /// Positions the tables cover: the context length.
    pub fn positions(&self) -> usize {
        self.cos.dim(0).unwrap_or(0)
    }

    /// `xs`: (heads, seq, head_dim), positions `offset..offset + seq`.
    pub fn apply(&self, xs: &Tensor, offset: usize) -> Result<Tensor> {
        let (_, seq, head_dim) = xs.dims3()?;
        let cos = self.cos.narrow(0, offset, seq)?;
        let sin = self.sin.narrow(0, offset, seq)?;
        let rot = xs
            .narrow(D::Minus1, 0, self.dim)?
            .contiguous()?
            .unsqueeze(0)?;
        let rot = candle_nn::rotary_emb::rope(&rot, &cos, &sin)?.squeeze(0)?;
        if self.dim == head_dim {
            return Ok(rot);
        }
        let pass = xs.narrow(D::Minus1, self.dim, head_dim - self.dim)?;
        Tensor::cat(&[&rot, &pass], D::Minus1)
    }
}
