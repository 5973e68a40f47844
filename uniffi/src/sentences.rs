//! The core's sentence chunker, for the apps' speech and screen-reader
//! announcements: both apps release a streamed answer at the same sentence
//! ends (`imp_core::text::sentences` has the rules).

use std::sync::Mutex;

use crate::error::ImpFfiError;
use crate::guard::guarded;

/// Turns a streamed answer into whole sentences. One per answer being spoken;
/// calls from several threads are serialised.
#[derive(Debug, uniffi::Object)]
pub struct SentenceChunker {
    chunker: Mutex<imp_core::SentenceChunker>,
}

#[uniffi::export]
impl SentenceChunker {
    /// Sentences longer than `max_chars` characters are cut at a comma or a
    /// space (0 takes the core's default, about two lines of speech).
    #[uniffi::constructor]
    pub fn new(max_chars: u32) -> Self {
        let chunker = match max_chars {
            0 => imp_core::SentenceChunker::default(),
            n => imp_core::SentenceChunker::new(n as usize),
        };
        Self {
            chunker: Mutex::new(chunker),
        }
    }

    /// Adds a piece of the answer; returns the sentences it completed, cleaned
    /// for speech.
    pub fn append(&self, piece: String) -> Result<Vec<String>, ImpFfiError> {
        guarded(|| Ok(self.lock().push(&piece)))
    }

    /// The rest of the answer, if any words are left; the chunker is then empty.
    pub fn finish(&self) -> Result<Vec<String>, ImpFfiError> {
        guarded(|| Ok(self.lock().finish()))
    }

    /// Text held back waiting for a sentence end.
    pub fn held(&self) -> Result<String, ImpFfiError> {
        guarded(|| Ok(self.lock().held().to_string()))
    }
}

impl SentenceChunker {
    /// A panic cannot leave the chunker half-changed in a way that matters
    /// (its only state is the held text), so a poisoned lock is taken over.
    fn lock(&self) -> std::sync::MutexGuard<'_, imp_core::SentenceChunker> {
        self.chunker.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_facade_releases_the_cores_sentences() {
        let chunker = SentenceChunker::new(0);
        assert!(chunker.append("It is".into()).unwrap().is_empty());
        assert_eq!(chunker.append(" red. A".into()).unwrap(), ["It is red."]);
        assert_eq!(chunker.held().unwrap(), " A");
        assert_eq!(chunker.finish().unwrap(), ["A"]);
        assert_eq!(chunker.held().unwrap(), "");
    }

    #[test]
    fn a_limit_is_kept() {
        let chunker = SentenceChunker::new(10);
        let sentences = chunker.append("x".repeat(25)).unwrap();
        assert_eq!(sentences, ["x".repeat(10), "x".repeat(10)]);
    }
}
