//! The Llama-shaped layer of Imp-2B (Qwen1.5) and Imp-4B (Phi-3-mini);
//! [`crate::model::decoder::Decoder`] stacks them.
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

use crate::config::TextConfig;
use crate::model::activation::Activation;
use crate::model::attention::CausalSelfAttention;
use crate::model::decoder::Block;
use crate::model::kv_cache::KvCache;
use crate::model::layers::{fused_qkv, GatedMlp};
use crate::model::rotary::Rotary;
use crate::weights::weight_source::WeightSource;

/// One Llama-shaped layer: `h = x + attn(rms(x)); h + mlp(rms(h))`.
pub struct LlamaBlock {
    input_layernorm: RmsNorm,
    self_attn: CausalSelfAttention,
    post_attention_layernorm: RmsNorm,
    mlp: GatedMlp,
}

impl Block for LlamaBlock {
    type Norm = RmsNorm;

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

    fn final_norm(cfg: &TextConfig, model: &WeightSource) -> Result<RmsNorm> {
        model.pp("norm").rms_norm(cfg.hidden_size, cfg.norm_eps)
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
