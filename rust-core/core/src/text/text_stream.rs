//! Turns a stream of token ids into text pieces that are always whole UTF-8.
//!
//! Byte-level BPE and byte-fallback tokens can end in the middle of a multi-byte
//! character; decoding such a prefix yields U+FFFD. A piece is released only once
//! the decoded text grows without ending in an incomplete character. Bytes that
//! never form a character (a random or confused model) decode to U+FFFD once
//! released, and a later token may regroup them: then only what differs from
//! the text already released is sent, cut at a character boundary.

use crate::error::Result;
use crate::text::tokenizer::ImpTokenizer;

#[derive(Default)]
pub struct TextStream {
    ids: Vec<u32>,
    /// Start of the window re-decoded for context (leading-space handling).
    prefix_start: usize,
    /// Ids from here on have not been released as text yet.
    pending_start: usize,
}

impl TextStream {
    /// Adds a token; returns the text it completes ("" while a character is partial).
    pub fn push(&mut self, tokenizer: &ImpTokenizer, id: u32) -> Result<String> {
        let released = tokenizer.decode(&self.ids[self.prefix_start..self.pending_start])?;
        self.ids.push(id);
        let text = tokenizer.decode(&self.ids[self.prefix_start..])?;
        let piece = after(&released, &text);
        if piece.is_empty() || text.ends_with('\u{FFFD}') {
            return Ok(String::new());
        }
        let piece = piece.to_string();
        self.prefix_start = self.pending_start;
        self.pending_start = self.ids.len();
        Ok(piece)
    }

    /// Whatever is still held back (an incomplete character at the very end).
    pub fn finish(&mut self, tokenizer: &ImpTokenizer) -> Result<String> {
        let released = tokenizer.decode(&self.ids[self.prefix_start..self.pending_start])?;
        let text = tokenizer.decode(&self.ids[self.prefix_start..])?;
        self.prefix_start = self.pending_start;
        self.pending_start = self.ids.len();
        Ok(after(&released, &text).to_string())
    }
}

/// What `text` adds to `released`: the rest if it starts with it, else what
/// follows their longest common prefix of whole characters.
fn after<'a>(released: &str, text: &'a str) -> &'a str {
    if let Some(rest) = text.strip_prefix(released) {
        return rest;
    }
    let common: usize = released
        .chars()
        .zip(text.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    &text[common..]
}

#[cfg(test)]
mod tests {
    use super::after;

    #[test]
    fn regrouped_bytes_do_not_split_characters() {
        assert_eq!(after("ab", "abc"), "c");
        // Released as three replacement characters, regrouped into one: only the
        // new text after the common part, never a cut inside a character.
        assert_eq!(after("\u{FFFD}\u{FFFD}\u{FFFD}", "\u{FFFD}ailed"), "ailed");
        assert_eq!(after("x\u{FFFD}", "x€"), "€");
    }
}
