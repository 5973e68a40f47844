//! What an answer is made of, shared by everyone who asks or stops one:
//! the parameters, the cancel token, each streamed token, the summary and
//! why it stopped. A leaf: it knows nothing of engines or conversations.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::generation::sampling::SamplingParams;

/// Stops a generation from another thread; checked between tokens.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub(crate) const DEFAULT_MAX_NEW_TOKENS: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct GenerationParams {
    pub max_new_tokens: usize,
    pub sampling: SamplingParams,
    /// How many top log-probabilities to report per token (0: none).
    pub logprobs: usize,
}

impl Default for GenerationParams {
    fn default() -> Self {
        Self {
            max_new_tokens: DEFAULT_MAX_NEW_TOKENS,
            sampling: SamplingParams::default(),
            logprobs: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model ended its answer.
    EndOfAnswer,
    /// `max_new_tokens` were generated.
    MaxTokens,
    /// The model's context is full.
    ContextFull,
    Cancelled,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndOfAnswer => "eos",
            StopReason::MaxTokens => "max_tokens",
            StopReason::ContextFull => "context_full",
            StopReason::Cancelled => "cancelled",
        }
    }
}

/// One generated token, as it streams.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEvent {
    pub id: u32,
    /// The text this token completes: whole UTF-8 characters only, maybe empty.
    pub text: String,
    /// Most likely tokens at this step before any sampling transform.
    pub top_logprobs: Vec<(u32, f32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnswerSummary {
    /// The whole answer: the token pieces followed by `tail`.
    pub text: String,
    /// Text released only when the answer ended (bytes that never completed a
    /// character); usually empty.
    pub tail: String,
    pub stop_reason: StopReason,
    /// Vision encoding time, reported with the first answer only.
    pub vision_ms: f64,
    pub prefill_tokens: usize,
    pub prefill_ms: f64,
    pub decode_tokens: usize,
    pub decode_ms: f64,
}
