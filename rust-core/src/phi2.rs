//! The Phi-2 language model (Imp-3B), fed input embeddings, with a KV cache.
//!
//! Parallel block `x + attn(LN(x)) + mlp(LN(x))`, partial rotary embedding on the
//! first `rotary_dim` dims of each head (rotate-half style), biases everywhere,
//! final LayerNorm and an LM head with bias. candle-transformers' Phi takes token
//! ids only; Imp splices image features into the embeddings, hence this file.
//!
//! References: transformers `models/phi/modeling_phi.py`; MILVLG/imp
//! `imp_llava/model/language_model/phi2/modeling_phi.py`.

use candle_core::{Module, Result, Tensor};
use candle_nn::LayerNorm;

use crate::activation::Activation;
use crate::attention::CausalSelfAttention;
use crate::config::TextConfig;
use crate::kv_cache::KvCache;
use crate::layers::{fused_qkv, Mlp};
use crate::rotary::Rotary;
use crate::weight_source::{Embedding, Linear, WeightSource};

fn attention(cfg: &TextConfig, ws: WeightSource) -> Result<CausalSelfAttention> {
    let h = cfg.hidden_size;
    Ok(CausalSelfAttention::new(
        // The phi-msft layout and GGUF files store q;k;v fused as `qkv`.
        fused_qkv(h, h, &ws)?,
        ws.pp("dense").linear(h, h)?,
        cfg.num_attention_heads,
        cfg.head_dim(),
        None,
    ))
}

struct DecoderLayer {
    input_layernorm: LayerNorm,
    self_attn: CausalSelfAttention,
    mlp: Mlp,
}

impl DecoderLayer {
    fn new(cfg: &TextConfig, act: Activation, ws: WeightSource) -> Result<Self> {
        Ok(Self {
            input_layernorm: ws
                .pp("input_layernorm")
                .layer_norm(cfg.hidden_size, cfg.norm_eps)?,
            self_attn: attention(cfg, ws.pp("self_attn"))?,
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
}

impl Phi2 {
    /// `ws` is the checkpoint root (names `model.*` and `lm_head`); `on_layer(i)`
    /// is called after each decoder layer is loaded and may stop loading.
    pub fn new(
        cfg: &TextConfig,
        max_positions: usize,
        ws: WeightSource,
        on_layer: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<Self> {
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
                .layer_norm(cfg.hidden_size, cfg.norm_eps)?,
            lm_head: ws.pp("lm_head").linear(cfg.hidden_size, cfg.vocab_size)?,
            rotary: Rotary::new(cfg.rotary_dim, cfg.rope_theta, max_positions, ws.device())?,
        })
    }

    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        self.embed_tokens.forward(ids)
    }

    /// Runs the layers over `embeds` after the cached positions, appending to the
    /// cache; logits (vocab,) of the last position.
    pub fn run_layers(&self, embeds: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
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
