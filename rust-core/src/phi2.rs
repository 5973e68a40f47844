//! The Phi-2 language model, fed input embeddings, with a KV cache.
//!
//! Parallel block `x + attn(LN(x)) + mlp(LN(x))`, partial rotary embedding on the
//! first `rotary_dim` dims of each head (rotate-half style), biases everywhere,
//! final LayerNorm and an LM head with bias. candle-transformers' Phi takes token
//! ids only; Imp splices image features into the embeddings, hence this file.
//!
//! References: transformers `models/phi/modeling_phi.py`; MILVLG/imp
//! `imp_llava/model/language_model/phi2/modeling_phi.py`.

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::LayerNorm;

use crate::activation::Activation;
use crate::config::PhiConfig;
pub use crate::kv_cache::KvCache;
use crate::layers::{fused_qkv, Mlp};
use crate::rotary::Rotary;
use crate::weight_source::{Embedding, Linear, WeightSource};

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
            rotary: Rotary::new(cfg.rotary_dim, cfg.rope_theta, max_positions, ws.device())?,
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
                cache.advance(seq);
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
