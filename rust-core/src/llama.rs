//! The Llama-shaped language models of Imp-2B (Qwen1.5) and Imp-4B (Phi-3-mini),
//! fed input embeddings, with a KV cache.
//!
//! Pre-norm sequential block `h = x + attn(rms(x)); h + mlp(rms(h))`, rotary on
//! the whole head, SiLU-gated MLP, final RMSNorm, LM head without bias. The two
//! differ only in what the checkpoint stores: Qwen has separate q/k/v
//! projections with biases and separate gate/up; Phi-3 stores `qkv_proj` and
//! `gate_up_proj` fused, has no biases, and attends within a sliding window.
//! The layers find either layout by name ([`fused_qkv`], [`GatedMlp`]).
//!
//! References: transformers `models/qwen2/modeling_qwen2.py`,
//! `models/phi3/modeling_phi3.py`; MILVLG/imp
//! `imp_llava/model/language_model/imp_qwen1_5.py`, `imp_phi3.py`.

use candle_core::{Module, Result, Tensor};
use candle_nn::RmsNorm;

use crate::activation::Activation;
use crate::attention::CausalSelfAttention;
use crate::config::TextConfig;
use crate::kv_cache::KvCache;
use crate::layers::{fused_qkv, GatedMlp};
use crate::rotary::Rotary;
use crate::weight_source::{Embedding, Linear, WeightSource};

struct DecoderLayer {
    input_layernorm: RmsNorm,
    self_attn: CausalSelfAttention,
    post_attention_layernorm: RmsNorm,
    mlp: GatedMlp,
}

impl DecoderLayer {
    fn new(cfg: &TextConfig, act: Activation, ws: WeightSource) -> Result<Self> {
        let (h, eps) = (cfg.hidden_size, cfg.norm_eps);
        let attn = ws.pp("self_attn");
        Ok(Self {
            input_layernorm: ws.pp("input_layernorm").rms_norm(h, eps)?,
            self_attn: CausalSelfAttention::new(
                fused_qkv(h, h, &attn)?,
                attn.pp("o_proj").linear(h, h)?,
                cfg.num_attention_heads,
                cfg.head_dim(),
                cfg.sliding_window,
            ),
            post_attention_layernorm: ws.pp("post_attention_layernorm").rms_norm(h, eps)?,
            mlp: GatedMlp::new(h, cfg.intermediate_size, act, ws.pp("mlp"))?,
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
        let xs = (self.self_attn.forward(&normed, rotary, cache, layer)? + xs)?;
        let mlp = self
            .mlp
            .forward(&self.post_attention_layernorm.forward(&xs)?)?;
        mlp + xs
    }
}

pub struct Llama {
    embed_tokens: Embedding,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Linear,
    rotary: Rotary,
}

impl Llama {
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
            norm: model.pp("norm").rms_norm(cfg.hidden_size, cfg.norm_eps)?,
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
        self.lm_head.forward(&self.norm.forward(&last)?)?.squeeze(0)
    }
}
