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

use crate::error::{ImpError, Result};
use crate::model::kv_cache::KvCache;
use crate::model::ImpModel;
use crate::text::chat_template::ChatTemplate;
use crate::text::tokenizer::ImpTokenizer;

/// The system part of the opening prompt and its KV, shared by conversations.
pub struct SystemPrefix {
    /// The opening prompt's ids up to and including `<image>`.
    pub ids: Vec<u32>,
    /// The KV of `ids` without the image token; `None` when the opening
    /// prompt leaves no room in the context for a question and an answer.
    cache: Option<KvCache>,
}

impl SystemPrefix {
    /// Runs the system part through the model (call inside the engine's
    /// pool). The engine does this at load, so that no conversation, the
    /// first included, waits for it.
    pub fn compute(
        model: &ImpModel,
        tokenizer: &ImpTokenizer,
        template: ChatTemplate,
    ) -> Result<Self> {
        let ids = opening_ids_before_question(model, tokenizer, template)?;
        if model.sequence_len(&ids) + 2 >= model.config().context_length {
            return Ok(Self { ids, cache: None });
        }
        let system = &ids[..ids.len() - 1];
        let mut cache = KvCache::default();
        if !system.is_empty() {
            model.forward(&model.embed_prompt(system, None)?, &mut cache)?;
        }
        Ok(Self {
            ids,
            cache: Some(cache),
        })
    }

    /// A fresh cache holding the system part, for one conversation to extend,
    /// or `None` if nothing should be prefilled ahead.
    pub fn cache(&self) -> Result<Option<KvCache>> {
        Ok(match &self.cache {
            Some(cache) => Some(cache.duplicate()?),
            None => None,
        })
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
