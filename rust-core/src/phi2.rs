//! The Phi-2 language model, fed input embeddings, with a KV cache.
//!
//! Parallel block `x + attn(LN(x)) + mlp(LN(x))`, partial rotary embedding on the
//! first `rotary_dim` dims of each head (rotate-half style), biases everywhere,
//! final LayerNorm and an LM head with bias. candle-transformers' Phi takes token
//! ids only; Imp splices image features into the embeddings, hence this file.
//!
//! References: transformers `models/phi/modeling_phi.py`; MILVLG/imp
//! `imp_llava/model/language_model/phi2/modeling_phi.py`.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::LayerNorm;

use crate::activation::Activation;
use crate::config::PhiConfig;
use crate::layers::{fused_qkv, Mlp};
use crate::weight_source::{Embedding, Linear, WeightSource};

/// Keys and values of every layer for the tokens seen so far, in buffers written
/// in place that double when full (up to the context): a decode step copies one
/// position per layer instead of the whole history.
#[derive(Default)]
pub struct KvCache {
    /// Per layer: (heads, capacity, head_dim) keys and values.
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    /// Positions already in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every position from `len` on, e.g. to undo a cancelled turn or a
    /// forward pass that failed half-way through the layers (what it wrote past
    /// `len` is never read and gets overwritten).
    pub fn truncate(&mut self, len: usize) -> Result<()> {
        self.len = self.len.min(len);
        Ok(())
    }

    /// Writes `k`, `v` (heads, seq, head_dim) after the cached positions of
    /// `layer`; returns views of all positions so far. `limit` caps the growth.
    fn append(
        &mut self,
        layer: usize,
        k: &Tensor,
        v: &Tensor,
        limit: usize,
    ) -> Result<(Tensor, Tensor)> {
        if self.layers.len() <= layer {
            self.layers.resize(layer + 1, None);
        }
        let (offset, seq) = (self.len, k.dim(1)?);
        let needed = offset + seq;
        let capacity = match &self.layers[layer] {
            Some((buf, _)) => buf.dim(1)?,
            None => 0,
        };
        if capacity < needed {
            let grown = needed.next_power_of_two().clamp(64, limit.max(needed));
            let (heads, _, head_dim) = k.dims3()?;
            let fresh = || Tensor::zeros((heads, grown, head_dim), k.dtype(), k.device());
            let (new_k, new_v) = (fresh()?, fresh()?);
            if let Some((old_k, old_v)) = &self.layers[layer] {
                if offset > 0 {
                    new_k.slice_set(&old_k.narrow(1, 0, offset)?.contiguous()?, 1, 0)?;
                    new_v.slice_set(&old_v.narrow(1, 0, offset)?.contiguous()?, 1, 0)?;
                }
            }
            self.layers[layer] = Some((new_k, new_v));
        }
        let Some((buf_k, buf_v)) = &self.layers[layer] else {
            unreachable!("allocated above")
        };
        buf_k.slice_set(k, 1, offset)?;
        buf_v.slice_set(v, 1, offset)?;
        Ok((buf_k.narrow(1, 0, needed)?, buf_v.narrow(1, 0, needed)?))
    }
}

/// cos/sin tables for the rotary part of each head.
struct Rotary {
    cos: Tensor,
    sin: Tensor,
    dim: usize,
}

impl Rotary {
    fn new(cfg: &PhiConfig, max_positions: usize, dev: &Device) -> Result<Self> {
        let dim = cfg.rotary_dim;
        let inv_freq: Vec<f32> = (0..dim)
            .step_by(2)
            .map(|i| 1.0 / (cfg.rope_theta as f32).powf(i as f32 / dim as f32))
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
    fn positions(&self) -> usize {
        self.cos.dim(0).unwrap_or(0)
    }

    /// `xs`: (heads, seq, head_dim), positions `offset..offset + seq`.
    fn apply(&self, xs: &Tensor, offset: usize) -> Result<Tensor> {
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

struct Attention {
    qkv: Linear,
    dense: Linear,
    num_heads: usize,
    head_dim: usize,
}

impl Attention {
    fn new(cfg: &PhiConfig, ws: WeightSource) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(Self {
            // The phi-msft layout and GGUF files store q;k;v fused as `qkv`.
            qkv: fused_qkv(h, h, &ws)?,
            dense: ws.pp("dense").linear(h, h)?,
            num_heads: cfg.num_attention_heads,
            head_dim: cfg.head_dim(),
        })
    }

    fn forward(
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
        let scale = (self.head_dim as f64).powf(-0.5);
        let scores = (q.contiguous()?.matmul(&k.t()?)? * scale)?;
        let scores = if seq > 1 {
            scores.broadcast_add(&causal_mask(seq, offset, xs.device())?)?
        } else {
            scores
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&v)?.transpose(0, 1)?.reshape((seq, hidden))?;
        self.dense.forward(&out)
    }
}

/// (seq, offset + seq) additive mask: query i sees keys up to `offset + i`.
fn causal_mask(seq: usize, offset: usize, dev: &Device) -> Result<Tensor> {
    let total = offset + seq;
    let mask: Vec<f32> = (0..seq)
        .flat_map(|i| {
            (0..total).map(move |j| {
                if j > offset + i {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Tensor::from_vec(mask, (seq, total), dev)
}

struct DecoderLayer {
    input_layernorm: LayerNorm,
    self_attn: Attention,
    mlp: Mlp,
}

impl DecoderLayer {
    fn new(cfg: &PhiConfig, act: Activation, ws: WeightSource) -> Result<Self> {
        Ok(Self {
            input_layernorm: ws
                .pp("input_layernorm")
                .layer_norm(cfg.hidden_size, cfg.layer_norm_eps)?,
            self_attn: Attention::new(cfg, ws.pp("self_attn"))?,
            mlp: Mlp::new(cfg.hidden_size, cfg.intermediate_size, act, ws.pp("mlp"))?,
        })
    }

    fn forward(
        &self,
        xs: &Tensor,
        rotary: &Rotary,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Tensor> {
        let normed = self.input_layernorm.forward(xs)?;
        let attn = self.self_attn.forward(&normed, rotary, cache, layer)?;
        let mlp = self.mlp.forward(&normed)?;
        (attn + mlp)? + xs
    }
}

pub struct Phi2 {
    embed_tokens: Embedding,
    layers: Vec<DecoderLayer>,
    final_layernorm: LayerNorm,
    lm_head: Linear,
    rotary: Rotary,
    max_positions: usize,
}

impl Phi2 {
    /// `ws` is the checkpoint root (names `model.*` and `lm_head`).
    pub fn new(cfg: &PhiConfig, max_positions: usize, ws: WeightSource) -> Result<Self> {
        Self::new_with_progress(cfg, max_positions, ws, &mut |_| Ok(()))
    }

    /// As `new`, calling `on_layer(i)` after each decoder layer is loaded; an
    /// error from it (e.g. cancellation) stops loading.
    pub fn new_with_progress(
        cfg: &PhiConfig,
        max_positions: usize,
        ws: WeightSource,
        on_layer: &mut dyn FnMut(usize) -> Result<()>,
    ) -> candle_core::Result<Self> {
        let act = Activation::from_config_name(&cfg.hidden_act)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let model = ws.pp("model");
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            layers.push(DecoderLayer::new(cfg, act, model.pp("layers").pp(i))?);
            on_layer(i)?;
        }
        Ok(Self {
            embed_tokens: model
                .pp("embed_tokens")
                .embedding(cfg.vocab_size, cfg.hidden_size)?,
            layers,
            final_layernorm: model
                .pp("final_layernorm")
                .layer_norm(cfg.hidden_size, cfg.layer_norm_eps)?,
            lm_head: ws.pp("lm_head").linear(cfg.hidden_size, cfg.vocab_size)?,
            rotary: Rotary::new(cfg, max_positions, ws.device())?,
            max_positions,
        })
    }

    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// Token ids (seq,) -> embeddings (seq, hidden).
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        self.embed_tokens.forward(ids)
    }

    /// Runs `embeds` (seq, hidden) after what `cache` holds; returns the logits
    /// (vocab,) at the last position.
    pub fn forward_embeds(&self, embeds: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let seq = embeds.dim(0)?;
        if cache.len() + seq > self.max_positions {
            candle_core::bail!(
                "{} positions exceed the model's {}",
                cache.len() + seq,
                self.max_positions
            );
        }
        let before = cache.len();
        let logits = self.run_layers(embeds, cache);
        match logits {
            Ok(logits) => {
                cache.len = before + seq;
                Ok(logits)
            }
            Err(e) => {
                cache.truncate(before)?;
                Err(e)
            }
        }
    }

    fn run_layers(&self, embeds: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let seq = embeds.dim(0)?;
        let mut xs = embeds.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            xs = layer.forward(&xs, &self.rotary, cache, i)?;
        }
        let last = xs.narrow(0, seq - 1, 1)?;
        self.lm_head
            .forward(&self.final_layernorm.forward(&last)?)?
            .squeeze(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(values: &[f32]) -> Tensor {
        // (heads 1, seq, head_dim 2): each position holds its value twice.
        let data: Vec<f32> = values.iter().flat_map(|&v| [v, v]).collect();
        Tensor::from_vec(data, (1, values.len(), 2), &Device::Cpu).unwrap()
    }

    fn column(t: &Tensor) -> Vec<f32> {
        t.narrow(2, 0, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn cache_grows_keeps_history_and_overwrites_after_truncation() {
        let mut cache = KvCache::default();
        let step = |cache: &mut KvCache, values: &[f32]| {
            let (k, v) = cache
                .append(0, &positions(values), &positions(values), 1000)
                .unwrap();
            cache.len += values.len();
            (column(&k), column(&v))
        };
        let first: Vec<f32> = (0..60).map(|i| i as f32).collect();
        step(&mut cache, &first);
        // 60 + 10 crosses the first 64-position buffer.
        let (k, v) = step(&mut cache, &[100.0; 10]);
        assert_eq!(k.len(), 70);
        assert_eq!(&k[..60], &first[..]);
        assert_eq!(&k[60..], &[100.0; 10]);
        assert_eq!(k, v);

        cache.truncate(2).unwrap();
        let (k, _) = step(&mut cache, &[7.0]);
        assert_eq!(k, [0.0, 1.0, 7.0]);
    }
}
