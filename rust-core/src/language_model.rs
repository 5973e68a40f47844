//! The language model under Imp, whichever it is: Phi-2 ([`Phi2Block`]) or the
//! Llama-shaped Qwen1.5 and Phi-3 ([`LlamaBlock`]). What they share lives here:
//! token embedding, the stack of blocks, final norm and LM head ([`Decoder`]),
//! the context limit, and keeping the KV cache whole when a step fails.

use candle_core::{Module, Result, Tensor};

use crate::activation::Activation;
use crate::config::{TextArch, TextConfig};
pub use crate::kv_cache::KvCache;
use crate::llama::LlamaBlock;
use crate::phi2::Phi2Block;
use crate::rotary::Rotary;
use crate::weight_source::{Embedding, Linear, WeightSource};

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

    fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        self.embed_tokens.forward(ids)
    }

    /// Runs the layers over `embeds`, appending to the cache; logits (vocab,)
    /// of the last position.
    fn run_layers(&self, embeds: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let seq = embeds.dim(0)?;
        let mut xs = embeds.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            xs = layer.forward(&xs, &self.rotary, cache, i)?;
        }
        let last = xs.narrow(0, seq - 1, 1)?;
        self.lm_head.forward(&self.norm.forward(&last)?)?.squeeze(0)
    }
}

pub struct LanguageModel {
    inner: Inner,
    max_positions: usize,
}

enum Inner {
    Phi2(Decoder<Phi2Block>),
    Llama(Decoder<LlamaBlock>),
}

impl LanguageModel {
    /// Builds the model `cfg.arch` names from `ws` (the checkpoint root), for
    /// sequences up to `max_positions`; `on_layer(i)` as each layer loads.
    pub fn new(
        cfg: &TextConfig,
        max_positions: usize,
        ws: WeightSource,
        on_layer: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<Self> {
        let inner = match cfg.arch {
            TextArch::Phi2 => Inner::Phi2(Decoder::new(cfg, max_positions, ws, on_layer)?),
            TextArch::Qwen2 | TextArch::Phi3 => {
                Inner::Llama(Decoder::new(cfg, max_positions, ws, on_layer)?)
            }
        };
        Ok(Self {
            inner,
            max_positions,
        })
    }

    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// Token ids (seq,) -> embeddings (seq, hidden).
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        match &self.inner {
            Inner::Phi2(m) => m.embed(ids),
            Inner::Llama(m) => m.embed(ids),
        }
    }

    /// Runs `embeds` (seq, hidden) after what `cache` holds; returns the logits
    /// (vocab,) at the last position. On error the cache is as it was.
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
        let logits = match &self.inner {
            Inner::Phi2(m) => m.run_layers(embeds, cache),
            Inner::Llama(m) => m.run_layers(embeds, cache),
        };
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
}
