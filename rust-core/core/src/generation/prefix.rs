//! Picture-ahead: what comes before the question is prefilled before the
//! question is asked.
//!
//! Every opening prompt is `system text + <image> + question + turn end`. The
//! system part (everything before `<image>`, Phi-3's BOS included) is the same
//! for every conversation: its KV is computed once, at load ([`SystemPrefix`]),
//! and copied into each new conversation, which then prefills its picture's
//! patches at once (the apps hand the picture over at capture). When the
//! question comes, only its own tokens remain to run.
//!
//! The ids prefilled ahead are taken from tokenising a whole opening prompt;
//! when the real question arrives, its whole prompt is tokenised again and
//! used only if it starts with exactly those ids (`<image>` is a special
//! token, so the text before it tokenises alone in every fixture's tokenizer,
//! but a tokenizer that merged across it would fall back to prefilling the
//! whole prompt from scratch, never to different ids).

use std::sync::Mutex;

use crate::error::{ImpError, Result};
use crate::model::kv_cache::KvCache;
use crate::model::ImpModel;
use crate::text::chat_template::ChatTemplate;
use crate::text::tokenizer::ImpTokenizer;

/// Positions a conversation's cache is sized for past the picture when it
/// starts: a question's turn and a default-length answer, so that answers
/// of the usual length never grow the cache half-way through.
pub const TURN_POSITIONS: usize = 32 + crate::generation::answer::DEFAULT_MAX_NEW_TOKENS;

/// The system part of the opening prompt and its KV, shared by conversations.
pub struct SystemPrefix {
    /// The opening prompt's ids up to and including `<image>`.
    pub ids: Vec<u32>,
    /// The KV of `ids` without the image token; `None` when the opening
    /// prompt leaves no room in the context for a question and an answer.
    cache: Option<KvCache>,
    /// Positions of a conversation's cache: the opening prompt up to the
    /// question and [`TURN_POSITIONS`].
    capacity: usize,
    /// One conversation's cache, kept for the next. Allocated at load, so
    /// that the first conversation does not pay for fresh memory (its first
    /// touch: page faults and zeroing), and taken back when a conversation
    /// ends; the apps hold one conversation at a time.
    spare: Mutex<Option<KvCache>>,
}

impl SystemPrefix {
    /// Runs the system part through the model and allocates one
    /// conversation's cache (call inside the engine's pool). The engine does
    /// this at load, so that no conversation, the first included, waits for it.
    pub fn compute(
        model: &ImpModel,
        tokenizer: &ImpTokenizer,
        template: ChatTemplate,
    ) -> Result<Self> {
        let ids = opening_ids_before_question(model, tokenizer, template)?;
        let context = model.config().context_length;
        let opening = model.sequence_len(&ids);
        let capacity = (opening + TURN_POSITIONS).min(context);
        if opening + 2 >= context {
            return Ok(Self::without_cache(ids, capacity));
        }
        let system = &ids[..ids.len() - 1];
        let mut cache = KvCache::default();
        if !system.is_empty() {
            model.forward(&model.embed_prompt(system, None)?, &mut cache)?;
        }
        let mut spare = KvCache::with_capacity(capacity);
        spare.restart_from(&cache)?;
        Ok(Self {
            ids,
            cache: Some(cache),
            capacity,
            spare: Mutex::new(Some(spare)),
        })
    }

    fn without_cache(ids: Vec<u32>, capacity: usize) -> Self {
        Self {
            ids,
            cache: None,
            capacity,
            spare: Mutex::new(None),
        }
    }

    /// A cache holding the system part, for one conversation to extend (the
    /// spare if there is one), or `None` if nothing should be prefilled ahead.
    pub fn cache(&self) -> Result<Option<KvCache>> {
        let Some(system) = &self.cache else {
            return Ok(None);
        };
        let mut cache = match self.slot().take() {
            Some(mut spare) => {
                spare.restart_from(system)?;
                spare
            }
            None => system.duplicate()?,
        };
        cache.reserve(self.capacity);
        Ok(Some(cache))
    }

    /// Keeps a finished conversation's cache as the spare, unless there is one
    /// or it grew past twice a conversation's size (a long chat's cache is
    /// not held while idle).
    pub fn take_back(&self, cache: KvCache) {
        let size = cache.capacity();
        if self.cache.is_some() && size >= self.capacity && size <= 2 * self.capacity {
            let mut slot = self.slot();
            if slot.is_none() {
                *slot = Some(cache);
            }
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<KvCache>> {
        self.spare.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The ids of an opening prompt up to and including its `<image>` token.
fn opening_ids_before_question(
    model: &ImpModel,
    tokenizer: &ImpTokenizer,
    template: ChatTemplate,
) -> Result<Vec<u32>> {
    let image = model.config().image_token_index;
    let mut ids = tokenizer.encode_opening(&template.first_turn("?"))?;
    let at = ids
        .iter()
        .position(|&id| id == image)
        .ok_or_else(|| ImpError::InvalidModel("the opening prompt has no <image> token".into()))?;
    ids.truncate(at + 1);
    Ok(ids)
}

/// The part of a whole opening prompt's `ids` left to run after `ahead` was
/// prefilled, or `None` if the prompt does not start with exactly `ahead`.
pub fn remainder<'a>(ids: &'a [u32], ahead: &[u32], image: u32) -> Option<&'a [u32]> {
    let rest = ids.strip_prefix(ahead)?;
    (!rest.contains(&image)).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remainder_needs_the_exact_prefix() {
        assert_eq!(
            remainder(&[1, 2, 9, 4, 5], &[1, 2, 9], 9),
            Some(&[4, 5][..])
        );
        assert_eq!(remainder(&[1, 3, 9, 4], &[1, 2, 9], 9), None);
        assert_eq!(remainder(&[1, 2], &[1, 2, 9], 9), None);
        assert_eq!(remainder(&[1, 2, 9, 9], &[1, 2, 9], 9), None);
    }
}
