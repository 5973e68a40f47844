//! An answer as it streams: token events to a listener, then one final event.

use imp_core::CancelToken;

use crate::error::ImpFfiError;

#[derive(Debug, Clone, uniffi::Record)]
pub struct GenerationParams {
    #[uniffi(default = 256)]
    pub max_new_tokens: u32,
    /// 0 is greedy (the reference setting).
    #[uniffi(default = 0.0)]
    pub temperature: f32,
    #[uniffi(default = None)]
    pub top_k: Option<u32>,
    #[uniffi(default = None)]
    pub top_p: Option<f32>,
    #[uniffi(default = 1.0)]
    pub repetition_penalty: f32,
    #[uniffi(default = 299792458)]
    pub seed: u64,
    /// How many most likely tokens to report per step (0: none).
    #[uniffi(default = 0)]
    pub logprobs: u32,
}

impl From<GenerationParams> for imp_core::GenerationParams {
    fn from(p: GenerationParams) -> Self {
        Self {
            max_new_tokens: p.max_new_tokens as usize,
            sampling: imp_core::SamplingParams {
                temperature: p.temperature,
                top_k: p.top_k.map(|k| k as usize),
                top_p: p.top_p,
                repetition_penalty: p.repetition_penalty,
                seed: p.seed,
            },
            logprobs: p.logprobs as usize,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct TokenLogprob {
    pub id: u32,
    pub logprob: f32,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct TokenEvent {
    pub id: u32,
    /// Whole characters only; empty while a character is incomplete.
    pub text: String,
    pub top_logprobs: Vec<TokenLogprob>,
}

impl From<&imp_core::TokenEvent> for TokenEvent {
    fn from(t: &imp_core::TokenEvent) -> Self {
        Self {
            id: t.id,
            text: t.text.clone(),
            top_logprobs: t
                .top_logprobs
                .iter()
                .map(|&(id, logprob)| TokenLogprob { id, logprob })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StopReason {
    EndOfAnswer,
    MaxTokens,
    ContextFull,
    Cancelled,
}

impl From<imp_core::StopReason> for StopReason {
    fn from(r: imp_core::StopReason) -> Self {
        match r {
            imp_core::StopReason::EndOfAnswer => Self::EndOfAnswer,
            imp_core::StopReason::MaxTokens => Self::MaxTokens,
            imp_core::StopReason::ContextFull => Self::ContextFull,
            imp_core::StopReason::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct AnswerSummary {
    /// The whole answer: the token pieces followed by `tail`.
    pub text: String,
    /// Text released only at the end (bytes that never completed a character).
    pub tail: String,
    pub stop_reason: StopReason,
    pub vision_ms: f64,
    pub prefill_tokens: u32,
    pub prefill_ms: f64,
    pub decode_tokens: u32,
    pub decode_ms: f64,
}

impl From<imp_core::AnswerSummary> for AnswerSummary {
    fn from(s: imp_core::AnswerSummary) -> Self {
        Self {
            text: s.text,
            tail: s.tail,
            stop_reason: s.stop_reason.into(),
            vision_ms: s.vision_ms,
            prefill_tokens: s.prefill_tokens as u32,
            prefill_ms: s.prefill_ms,
            decode_tokens: s.decode_tokens as u32,
            decode_ms: s.decode_ms,
        }
    }
}

/// Receives an answer from the generating thread: tokens, then exactly one of
/// `on_done` or `on_error`.
#[uniffi::export(with_foreign)]
pub trait AnswerListener: Send + Sync {
    fn on_token(&self, token: TokenEvent);
    fn on_done(&self, summary: AnswerSummary);
    fn on_error(&self, error: ImpFfiError);
}

/// The answer in flight. Dropping the handle (Kotlin's `close`, or Swift
/// releasing it) cancels the answer, as `cancel` does: an answer nobody can
/// stop any more is not left running.
#[derive(uniffi::Object)]
pub struct AnswerHandle {
    pub(crate) token: CancelToken,
}

impl Drop for AnswerHandle {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

#[uniffi::export]
impl AnswerHandle {
    /// Stops generating after the current token; `on_done` then reports
    /// `StopReason::Cancelled` with the text so far.
    pub fn cancel(&self) {
        self.token.cancel();
    }
}
