//! The language model under Imp, whichever it is: a [`Decoder`] of Phi-2
//! ([`Phi2Block`]) or of the Llama-shaped Qwen1.5 and Phi-3 ([`LlamaBlock`])
//! layers, as the config says; the context limit, and keeping the KV cache
//! whole when a step fails.

use candle_core::{Result, Tensor};

use crate::config::{TextArch, TextConfig};
use crate::model::decoder::Decoder;
pub use crate::model::kv_cache::KvCache;
use crate::model::llama::LlamaBlock;
use crate::model::phi2::Phi2Block;
use crate::weights::weight_source::WeightSource;

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
