//! What every language model under Imp is: token embedding, a stack of
//! [`Block`]s, a final norm and the LM head ([`Decoder`]). Each architecture
//! supplies its block ([`super::phi2::Phi2Block`], [`super::llama::LlamaBlock`]).

use candle_core::{Module, Result, Tensor};

use crate::config::TextConfig;
use crate::model::activation::Activation;
use crate::model::kv_cache::KvCache;
use crate::model::rotary::Rotary;
use crate::weights::weight_source::{Embedding, Linear, WeightSource};

/// One decoder layer of an architecture, and the norm after the last one.
pub trait Block: Sized {
    type Norm: Module;

    /// Layer `ws` (`model.layers.N`).
    fn new(cfg: &TextConfig, act: Activation, ws: WeightSource) -> Result<Self>;

    /// The final norm under `model` (`model.*`).
    fn final_norm(cfg: &TextConfig, model: &WeightSource) -> Result<Self::Norm>;

    /// `xs` (seq, hidden) after the cached positions of `layer`.
    fn forward(
        &self,
        xs: &Tensor,
        rotary: &Rotary,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Tensor>;
}

/// Embedding -> blocks -> final norm -> LM head, fed input embeddings.
pub struct Decoder<B: Block> {
    embed_tokens: Embedding,
    layers: Vec<B>,
    norm: B::Norm,
    lm_head: Linear,
    rotary: Rotary,
}

impl<B: Block> Decoder<B> {
    /// `ws` is the checkpoint root (names `model.*` and `lm_head`); `on_layer(i)`
    /// is called after each layer is loaded and may stop loading.
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
            layers.push(B::new(cfg, act, model.pp("layers").pp(i))?);
            on_layer(i)?;
        }
        Ok(Self {
            embed_tokens: model
                .pp("embed_tokens")
                .embedding(cfg.vocab_size, cfg.hidden_size)?,
            layers,
            norm: B::final_norm(cfg, &model)?,
            lm_head: ws.pp("lm_head").linear(cfg.hidden_size, cfg.vocab_size)?,
            rotary: Rotary::new(cfg.rotary_dim, cfg.rope_theta, max_positions, ws.device())?,
        })
    }

    pub(super) fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        self.embed_tokens.forward(ids)
    }

    /// Runs the layers over `embeds`, appending to the cache; logits (vocab,)
    /// of the last position.
    pub(super) fn run_layers(&self, embeds: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let seq = embeds.dim(0)?;
        let mut xs = embeds.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            xs = layer.forward(&xs, &self.rotary, cache, i)?;
        }
        let last = xs.narrow(0, seq - 1, 1)?;
        self.lm_head.forward(&self.norm.forward(&last)?)?.squeeze(0)
    }
}
