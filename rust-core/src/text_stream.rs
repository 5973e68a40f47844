//! Turns a stream of token ids into text pieces that are always whole UTF-8.
//!
//! Byte-level BPE tokens can end in the middle of a multi-byte character; decoding
//! such a prefix yields U+FFFD. A piece is released only once the decoded text
//! grows without ending in an incomplete character.

use crate::error::Result;
use crate::tokenizer::ImpTokenizer;

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
        if text.len() > released.len() && !text.ends_with('\u{FFFD}') {
            let piece = text[released.len()..].to_string();
            self.prefix_start = self.pending_start;
            self.pending_start = self.ids.len();
            Ok(piece)
        } else {
            Ok(String::new())
        }
    }

    /// Whatever is still held back (an incomplete character at the very end).
    pub fn finish(&mut self, tokenizer: &ImpTokenizer) -> Result<String> {
        let released = tokenizer.decode(&self.ids[self.prefix_start..self.pending_start])?;
        let text = tokenizer.decode(&self.ids[self.prefix_start..])?;
        self.prefix_start = self.pending_start;
        self.pending_start = self.ids.len();
        Ok(text.get(released.len()..).unwrap_or_default().to_string())
    }
}
