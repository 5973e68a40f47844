//! A conversation about one image: the image is encoded once, every turn's
//! tokens stay in the KV cache, and a follow-up question only prefills its own
//! tokens. The opening prompt up to the question (the engine's system prompt,
//! then the picture) is prefilled when the conversation starts, so the first
//! question too runs only its own tokens (see `prefix`).
//!
//! The cache holds the tokens the model actually generated, followed by the
//! template's turn separator. (Re-tokenising the answer text, as the reference's
//! `get_prompt()` would, almost always gives the same ids; where it does not, the
//! cached ids are the more faithful history.)

use candle_core::Tensor;
use std::time::Instant;

use crate::error::{ImpError, Result};
use crate::generation::answer::{
    AnswerSummary, CancelToken, GenerationParams, StopReason, TokenEvent,
};
use crate::generation::engine::Engine;
use crate::generation::prefix;
use crate::generation::sampling::{top_logprobs, Sampler};
use crate::model::language_model::KvCache;
use crate::picture::resample::Rgb8;
use crate::text::chat_template::ChatTemplate;
use crate::text::text_stream::TextStream;

pub struct Conversation {
    engine: Engine,
    image: Tensor,
    cache: KvCache,
    /// Sampled but not yet run through the model (the last token of a turn).
    unfed: Option<u32>,
    turns: usize,
    vision_ms: f64,
    /// Before the first question: the opening prompt's ids the cache already
    /// holds (system prompt and `<image>`), prefilled ahead.
    ahead: Option<Vec<u32>>,
    /// Time spent prefilling them.
    ahead_ms: f64,
}

/// The cache goes back to the engine for the next conversation.
impl Drop for Conversation {
    fn drop(&mut self) {
        let cache = std::mem::take(&mut self.cache);
        self.engine.system_prefix().take_back(cache);
    }
}

impl Conversation {
    /// Starts a conversation with `engine` about an encoded image (JPEG,
    /// PNG, WebP, GIF, BMP).
    pub fn start(engine: &Engine, image_bytes: &[u8]) -> Result<Conversation> {
        let rgb = crate::picture::preprocess::decode_rgb(image_bytes)?;
        Self::start_rgb(engine, &rgb)
    }

    /// Starts a conversation about an image the platform already decoded:
    /// encodes it and prefills the opening prompt up to the question.
    pub fn start_rgb(engine: &Engine, rgb: &Rgb8) -> Result<Conversation> {
        let start = Instant::now();
        let device = engine.model().device().clone();
        let image = engine.run(|| {
            let pixels = engine.preprocessor().preprocess_rgb(rgb, &device)?;
            engine.model().encode_image(&pixels)
        })?;
        let vision_ms = ms_since(start);
        let mut conversation = Conversation::new(engine.clone(), image, vision_ms);
        engine.run(|| conversation.prefill_ahead())?;
        Ok(conversation)
    }

    fn new(engine: Engine, image: Tensor, vision_ms: f64) -> Self {
        Self {
            engine,
            image,
            cache: KvCache::default(),
            unfed: None,
            turns: 0,
            vision_ms,
            ahead: None,
            ahead_ms: 0.0,
        }
    }

    /// Fills the cache with the engine's system prompt and the picture's
    /// patches: everything of the opening prompt that precedes the question.
    /// Nothing is prefilled if that leaves no room for a question and an
    /// answer (`ask` then reports the overflow).
    fn prefill_ahead(&mut self) -> Result<()> {
        let start = Instant::now();
        let model = self.engine.model();
        let system = self.engine.system_prefix();
        let Some(mut cache) = system.cache()? else {
            return Ok(());
        };
        model.forward(&self.image, &mut cache)?;
        self.cache = cache;
        self.ahead = Some(system.ids.clone());
        self.ahead_ms = ms_since(start);
        Ok(())
    }

    /// Time spent when the conversation started prefilling its picture after
    /// the engine's system prompt.
    pub fn ahead_ms(&self) -> f64 {
        self.ahead_ms
    }

    /// Positions of the context used so far.
    pub fn context_used(&self) -> usize {
        self.cache.len()
    }

    pub fn turns(&self) -> usize {
        self.turns
    }

    /// Asks a question about the image, streaming tokens to `on_token`.
    ///
    /// An error leaves the conversation as it was before the question. A
    /// cancelled answer stays in the history as far as it got.
    pub fn ask(
        &mut self,
        question: &str,
        params: &GenerationParams,
        cancel: &CancelToken,
        on_token: &mut (dyn FnMut(&TokenEvent) + Send),
    ) -> Result<AnswerSummary> {
        params.sampling.validate()?;
        let engine = self.engine.clone();
        engine.run(|| {
            let (len, unfed, turns) = (self.cache.len(), self.unfed, self.turns);
            let result = self.ask_inner(question, params, cancel, on_token);
            if result.is_err() {
                // A first question that could not use the prefilled prefix
                // dropped it: the cache then restarts from nothing.
                let keep = if turns == 0 && self.ahead.is_none() {
                    0
                } else {
                    len
                };
                self.cache.truncate(keep)?;
                (self.unfed, self.turns) = (unfed, turns);
            }
            result
        })
    }

    fn prompt_ids(&self, question: &str) -> Result<Vec<u32>> {
        let template: ChatTemplate = self.engine.template();
        let tokenizer = self.engine.tokenizer();
        let mut ids: Vec<u32> = self.unfed.into_iter().collect();
        if self.turns == 0 {
            ids.extend(tokenizer.encode_opening(&template.first_turn(question))?);
        } else {
            ids.extend(tokenizer.encode(&template.next_turn(question))?);
        }
        Ok(ids)
    }

    fn ask_inner(
        &mut self,
        question: &str,
        params: &GenerationParams,
        cancel: &CancelToken,
        on_token: &mut (dyn FnMut(&TokenEvent) + Send),
    ) -> Result<AnswerSummary> {
        let model = self.engine.model();
        let tokenizer = self.engine.tokenizer();
        let eos = self.engine.stop_ids();
        let limit = model.config().context_length;
        let ids = self.prompt_ids(question)?;
        let prefill_tokens = model.sequence_len(&ids);
        // The first question's ids after those prefilled ahead; if its prompt
        // does not start with them, the whole prompt runs from an empty cache.
        let image_id = model.config().image_token_index;
        let (run_ids, image) = match (self.turns, self.ahead.as_deref()) {
            (0, Some(ahead)) => match prefix::remainder(&ids, ahead, image_id) {
                Some(rest) => (rest, None),
                None => {
                    self.ahead = None;
                    self.cache.truncate(0)?;
                    (&ids[..], Some(&self.image))
                }
            },
            (0, None) => (&ids[..], Some(&self.image)),
            _ => (&ids[..], None),
        };
        let before = if self.ahead.is_some() {
            0
        } else {
            self.cache.len()
        };
        // Room for the prompt and at least one answer token.
        if before + prefill_tokens >= limit {
            return Err(ImpError::ContextOverflow {
                tokens: before + prefill_tokens,
                limit,
            });
        }
        let vision_ms = if self.turns == 0 { self.vision_ms } else { 0.0 };
        let mut summary = AnswerSummary {
            text: String::new(),
            tail: String::new(),
            stop_reason: StopReason::Cancelled,
            vision_ms,
            prefill_tokens,
            prefill_ms: 0.0,
            decode_tokens: 0,
            decode_ms: 0.0,
        };
        if cancel.is_cancelled() {
            return Ok(summary);
        }

        let start = Instant::now();
        let embeds = model.embed_prompt(run_ids, image)?;
        let mut logits = model.forward(&embeds, &mut self.cache)?;
        self.unfed = None;
        self.turns += 1;
        self.ahead = None;
        summary.prefill_ms = ms_since(start);

        let start = Instant::now();
        let mut sampler = Sampler::new(params.sampling.clone())?;
        let mut stream = TextStream::default();
        let mut generated = Vec::new();
        let stop = loop {
            if generated.len() >= params.max_new_tokens {
                break StopReason::MaxTokens;
            }
            if cancel.is_cancelled() {
                break StopReason::Cancelled;
            }
            let values: Vec<f32> = logits.to_vec1()?;
            let top = if params.logprobs > 0 {
                top_logprobs(&values, params.logprobs)
            } else {
                Vec::new()
            };
            let id = sampler.sample(&values, &generated);
            if eos.contains(&id) {
                break StopReason::EndOfAnswer;
            }
            generated.push(id);
            let text = stream.push(tokenizer, id)?;
            summary.text.push_str(&text);
            on_token(&TokenEvent {
                id,
                text,
                top_logprobs: top,
            });
            if self.cache.len() + 1 >= limit {
                self.unfed = Some(id);
                break StopReason::ContextFull;
            }
            if generated.len() >= params.max_new_tokens || cancel.is_cancelled() {
                self.unfed = Some(id);
                continue;
            }
            let embeds = model.embed_prompt(&[id], None)?;
            logits = model.forward(&embeds, &mut self.cache)?;
        };
        summary.tail = stream.finish(tokenizer)?;
        summary.text.push_str(&summary.tail);
        summary.stop_reason = stop;
        summary.decode_tokens = generated.len();
        summary.decode_ms = ms_since(start);
        Ok(summary)
    }
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}
