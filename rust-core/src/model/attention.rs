//! Causal self-attention over a KV cache, as Phi-2, Qwen2 and Phi-3 compute it:
//! one fused q;k;v projection, rotary on q and k, softmax in f32, an output
//! projection; optionally a sliding window (Phi-3).
//!
//! References: transformers `models/{phi,qwen2,phi3}/modeling_*.py` (eager
//! attention) and `masking_utils.py` (`sliding_window_overlay`: a query at
//! position p sees keys j with p - window < j <= p).

use candle_core::{Device, Module, Result, Tensor};

use crate::model::kv_cache::KvCache;
use crate::model::rotary::Rotary;
use crate::weights::weight_source::Linear;

pub struct CausalSelfAttention {
    qkv: Linear,
    out: Linear,
    num_heads: usize,
    head_dim: usize,
    sliding_window: Option<usize>,
}

impl CausalSelfAttention {
    /// `qkv` maps hidden -> 3 * hidden (rows q;k;v), `out` hidden -> hidden.
    pub fn new(
        qkv: Linear,
        out: Linear,
        num_heads: usize,
        head_dim: usize,
        sliding_window: Option<usize>,
    ) -> Self {
        Self {
            qkv,
            out,
            num_heads,
            head_dim,
            sliding_window,
        }
    }

    /// `xs` (seq, hidden) after the `cache.len()` cached positions of `layer`.
    pub fn forward(
        &self,
        xs: &Tensor,
        rotary: &Rotary,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Tensor> {
        let (seq, hidden) = xs.dims2()?;
        let offset = cache.len();
        let qkv = self
            .qkv
            .forward(xs)?
            .reshape((seq, 3, self.num_heads, self.head_dim))?
            .permute((1, 2, 0, 3))?;
        let q = rotary.apply(&qkv.get(0)?, offset)?;
        let k = rotary.apply(&qkv.get(1)?, offset)?;
        let v = qkv.get(2)?.contiguous()?;
        let (k, v) = cache.append(layer, &k.contiguous()?, &v, rotary.positions())?;
        let total = offset + seq;
        let (k, v, mask) = match self.sliding_window {
            // One query sees exactly the last `window` keys: narrow instead of masking.
            Some(window) if seq == 1 && total > window => (
                k.narrow(1, total - window, window)?,
                v.narrow(1, total - window, window)?,
                None,
            ),
            _ if seq > 1 => {
                let mask = attention_mask(seq, offset, self.sliding_window, xs.device())?;
                (k, v, Some(mask))
            }
            _ => (k, v, None),
        };
        let scale = (self.head_dim as f64).powf(-0.5);
        let scores = (q.contiguous()?.matmul(&k.t()?)? * scale)?;
        let scores = match mask {
            Some(mask) => scores.broadcast_add(&mask)?,
            None => scores,
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs
            .matmul(&v.contiguous()?)?
            .transpose(0, 1)?
            .reshape((seq, hidden))?;
        self.out.forward(&out)
    }
}

/// (seq, offset + seq) additive mask: query i (position offset + i) sees keys
/// up to itself and, with a window, only the last `window` of those.
fn attention_mask(
    seq: usize,
    offset: usize,
    window: Option<usize>,
    dev: &Device,
) -> Result<Tensor> {
    let total = offset + seq;
    let mask: Vec<f32> = (0..seq)
        .flat_map(|i| {
            let p = offset + i;
            (0..total).map(move |j| {
                let visible = j <= p && window.is_none_or(|w| j + w > p);
                if visible {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
        })
        .collect();
    Tensor::from_vec(mask, (seq, total), dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible(seq: usize, offset: usize, window: Option<usize>) -> Vec<Vec<bool>> {
        let m: Vec<Vec<f32>> = attention_mask(seq, offset, window, &Device::Cpu)
            .unwrap()
            .to_vec2()
            .unwrap();
        m.iter()
            .map(|r| r.iter().map(|x| *x == 0.0).collect())
            .collect()
    }

    #[test]
    fn causal_and_windowed_masks() {
        let t = true;
        let f = false;
        assert_eq!(
            visible(2, 1, None),
            [vec![t, t, f], vec![t, t, t]],
            "after one cached position"
        );
        // A window of 2: each query sees itself and the one before.
        assert_eq!(
            visible(3, 0, Some(2)),
            [vec![t, f, f], vec![t, t, f], vec![f, t, t]]
        );
    }
}
