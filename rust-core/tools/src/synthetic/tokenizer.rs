//! A small tokenizer for synthetic models, written into their files so that
//! `imp bench --synthetic` loads like a converted checkpoint (no tokenizer can
//! be downloaded here, and a benchmark must not need one).
//!
//! GPT-2 byte-level BPE, as Phi-2's and Qwen's are: the 256 byte symbols, then
//! merges that make each word of the template and of the bench's questions one
//! token, so prompts come out at about the length the real tokenizers give
//! them. The template's markers sit at the ids the config names (`<image>` at
//! `image_token_index`, the stop tokens at `eos_token_id`), the rest after the
//! words.

use std::collections::BTreeMap;

use imp_core::config::ImpConfig;
use imp_core::error::{ImpError, Result};
use imp_core::text::chat_template::ChatTemplate;
use imp_core::text::tokenizer::ImpTokenizer;

/// The tokenizer for `config`, whose prompts use `words` (the bench's
/// question words) besides the template's own text.
pub fn synthetic_tokenizer(config: &ImpConfig, words: &[&str]) -> Result<ImpTokenizer> {
    let template = ChatTemplate::for_arch(config.text.arch);
    let mut vocab: BTreeMap<String, u32> = BTreeMap::new();
    for byte in 0..=255u8 {
        vocab.insert(byte_symbol(byte).to_string(), byte as u32);
    }
    let mut merges: Vec<(String, String)> = Vec::new();
    for piece in pieces(&template_text(template, &words.concat())) {
        add_word(&piece, &mut vocab, &mut merges);
    }
    let fixed = fixed_ids(template, config)?;
    let mut next = vocab.len() as u32;
    let mut markers: Vec<(String, u32)> = Vec::new();
    for marker in template.markers() {
        let id = match fixed.get(marker) {
            Some(&id) => id,
            None => {
                next += 1;
                next - 1
            }
        };
        markers.push((marker.to_string(), id));
    }
    let taken: Vec<u32> = vocab.values().copied().collect();
    if let Some((marker, id)) = markers.iter().find(|(_, id)| taken.contains(id)) {
        return Err(ImpError::InvalidArgument(format!(
            "{marker} at id {id} collides with a word of the synthetic tokenizer"
        )));
    }
    ImpTokenizer::from_json(&tokenizer_json(&vocab, &merges, &markers).to_string())
}

/// The ids the config fixes: `<image>`'s and the stop tokens' (config.json's
/// eos ids list them in the template's order).
fn fixed_ids(template: ChatTemplate, config: &ImpConfig) -> Result<BTreeMap<&'static str, u32>> {
    let mut fixed = BTreeMap::from([(
        imp_core::text::chat_template::IMAGE_PLACEHOLDER,
        config.image_token_index,
    )]);
    for (token, &id) in template.stop_tokens().iter().zip(&config.eos_token_ids) {
        fixed.insert(token, id);
    }
    if fixed
        .values()
        .any(|&id| id as usize >= config.text.vocab_size)
    {
        return Err(ImpError::InvalidArgument(
            "a special token's id is past the vocabulary".into(),
        ));
    }
    Ok(fixed)
}

/// Every text the template puts around a question, with `question` asked.
fn template_text(template: ChatTemplate, question: &str) -> String {
    let mut text = template.first_turn(question) + &template.next_turn(question);
    for marker in template.markers() {
        text = text.replace(marker, "\n");
    }
    text
}

/// The text cut roughly as GPT-2's pre-tokenizer cuts it: a space joins the
/// run of letters, digits or punctuation after it. Where this differs from
/// the real rule, a word only comes out as more than one token.
fn pieces(text: &str) -> Vec<String> {
    fn class(c: char) -> u8 {
        match c {
            c if c.is_alphabetic() => 0,
            c if c.is_numeric() => 1,
            c if c.is_whitespace() => 2,
            _ => 3,
        }
    }
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        let joins = match current.chars().last() {
            None => true,
            Some(' ') if current.len() == 1 => class(c) != 2,
            Some(last) => class(last) == class(c) && class(c) != 2,
        };
        if !joins {
            pieces.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    pieces.push(current);
    pieces.retain(|p| p.chars().count() > 1);
    pieces
}

/// Adds the merges that build `word` left to right, and each prefix as a token.
fn add_word(word: &str, vocab: &mut BTreeMap<String, u32>, merges: &mut Vec<(String, String)>) {
    let symbols: Vec<char> = word.bytes().map(byte_symbol).collect();
    let mut left = symbols[0].to_string();
    for &symbol in &symbols[1..] {
        let joined = format!("{left}{symbol}");
        if !vocab.contains_key(&joined) {
            let id = vocab.len() as u32;
            vocab.insert(joined.clone(), id);
            merges.push((left, symbol.to_string()));
        }
        left = joined;
    }
}

/// GPT-2's printable stand-in for a byte: printable Latin-1 bytes stand for
/// themselves, the others for the code points from U+0100 on, in byte order.
fn byte_symbol(byte: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(byte) {
        return byte as char;
    }
    let rank = (0..byte).filter(|&b| !printable(b)).count() as u32;
    char::from_u32(256 + rank).expect("below U+0200")
}

/// The `tokenizer.json` text of this vocabulary; the markers are in the model's
/// vocabulary too, so the added tokens keep the ids given here. The ids between
/// the words and the markers hold padding tokens that no text produces (a
/// vocabulary with holes is refused by `tokenizers` when it is written out).
fn tokenizer_json(
    vocab: &BTreeMap<String, u32>,
    merges: &[(String, String)],
    markers: &[(String, u32)],
) -> serde_json::Value {
    let mut model_vocab = vocab.clone();
    model_vocab.extend(markers.iter().cloned());
    let taken: std::collections::BTreeSet<u32> = model_vocab.values().copied().collect();
    let last = taken.last().copied().unwrap_or(0);
    for id in (0..last).filter(|id| !taken.contains(id)) {
        model_vocab.insert(format!("[PAD{id}]"), id);
    }
    let added: Vec<serde_json::Value> = markers
        .iter()
        .map(|(content, id)| {
            serde_json::json!({
                "id": id, "content": content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true,
            })
        })
        .collect();
    let byte_level = serde_json::json!({
        "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true,
    });
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": byte_level, "post_processor": null,
        "decoder": byte_level,
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null,
            "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": model_vocab,
            "merges": merges.iter().map(|(a, b)| [a, b]).collect::<Vec<_>>(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{preset_config, PRESETS};
    use imp_core::text::chat_template::SYSTEM;

    const WORDS: [&str; 4] = ["What", " colour", " is", "?"];

    fn tokenizer(preset: &str) -> (ImpConfig, ImpTokenizer) {
        let config = ImpConfig::from_json(&preset_config(preset).unwrap()).unwrap();
        let tokenizer = synthetic_tokenizer(&config, &WORDS).unwrap();
        (config, tokenizer)
    }

    /// What `Engine::load` checks of a tokenizer, and what the conversation
    /// needs: `<image>` and the stop tokens one token each at the config's ids.
    #[test]
    fn markers_sit_at_the_configs_ids() {
        for preset in PRESETS {
            let (config, tokenizer) = tokenizer(preset);
            let template = ChatTemplate::for_arch(config.text.arch);
            assert_eq!(
                tokenizer.encode("<image>").unwrap(),
                [config.image_token_index],
                "{preset}"
            );
            for (stop, id) in template.stop_tokens().iter().zip(&config.eos_token_ids) {
                assert_eq!(tokenizer.token_id(stop), Some(*id), "{preset} {stop}");
            }
            for marker in template.markers() {
                assert_eq!(tokenizer.encode(marker).unwrap().len(), 1, "{marker}");
            }
            assert!(tokenizer.vocab_size() <= config.text.vocab_size);
        }
    }

    /// Words come out whole, so prompts are about as long as the real
    /// tokenizers make them (Phi-2's makes the system text 31 tokens), and any
    /// text still encodes, byte by byte where no word fits.
    #[test]
    fn words_are_single_tokens_and_any_text_round_trips() {
        let (_, tokenizer) = tokenizer("imp-3b-196");
        assert_eq!(tokenizer.encode("What colour is?").unwrap().len(), 4);
        let system = tokenizer.encode(SYSTEM).unwrap().len();
        assert!((28..=34).contains(&system), "{system} tokens");
        let text = "Zebra 42 — ünïcode\n";
        let ids = tokenizer.encode(text).unwrap();
        assert_eq!(tokenizer.decode(&ids).unwrap(), text);
    }

    /// The bytes' stand-ins are GPT-2's: 256 distinct symbols, printable ones
    /// unchanged, space as `Ġ` and newline as `Ċ`.
    #[test]
    fn byte_symbols_are_gpt2s() {
        let symbols: std::collections::BTreeSet<char> = (0..=255).map(byte_symbol).collect();
        assert_eq!(symbols.len(), 256);
        assert_eq!(byte_symbol(b'a'), 'a');
        assert_eq!(byte_symbol(b' '), 'Ġ');
        assert_eq!(byte_symbol(b'\n'), 'Ċ');
    }
}
