//! The Phi-2 layer (Imp-3B); [`crate::model::decoder::Decoder`] stacks them.
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

use crate::config::TextConfig;
use crate::model::activation::Activation;
use crate::model::attention::CausalSelfAttention;
use crate::model::decoder::Block;
use crate::model::kv_cache::KvCache;
use crate::model::layers::{fused_qkv, Mlp};
use crate::model::rotary::Rotary;
use crate::weights::weight_source::WeightSource;

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

/// One Phi-2 layer: `x + attn(LN(x)) + mlp(LN(x))`.
pub struct Phi2Block {
    input_layernorm: LayerNorm,
    self_attn: CausalSelfAttention,
    mlp: Mlp,
}

impl Block for Phi2Block {
    type Norm = LayerNorm;

    fn new(cfg: &TextConfig, act: Activation, ws: WeightSource) -> Result<Self> {
        Ok(Self {
            input_layernorm: ws
                .pp("input_layernorm")
                .layer_norm(cfg.hidden_size, cfg.norm_eps)?,
            self_attn: attention(cfg, ws.pp("self_attn"))?,
            mlp: Mlp::new(cfg.hidden_size, cfg.intermediate_size, act, ws.pp("mlp"))?,
        })
    }

    fn final_norm(cfg: &TextConfig, model: &WeightSource) -> Result<LayerNorm> {
        model
            .pp("final_layernorm")
            .layer_norm(cfg.hidden_size, cfg.norm_eps)
    }

    fn forward(
        &self,
        xs: &Tensor,
        rotary: &Rotary,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Tensor> {
        let normed = self.input_layernorm.forward(xs)?;
        // The two branches read the same input and meet only in the sum, so
        // they run as one parallel region: a thread that finishes its share
        // of one branch's products takes the other's, instead of waiting at
        // each of the four products (and the steps between them) in turn.
        let (attn, mlp) = rayon::join(
            || self.self_attn.forward(&normed, rotary, cache, layer),
            || self.mlp.forward(&normed),
        );
        (attn? + mlp?)? + xs
    }
}
