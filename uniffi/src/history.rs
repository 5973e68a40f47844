//! The person's conversations, kept by the core so both apps share one
//! format: list (newest first, in pages), load, add a turn, delete.
//! File work of a few kB: fine to call off the main thread without a worker.

use std::path::Path;
use std::sync::Arc;

use imp_store::history::{self as store, History};

use crate::error::ImpFfiError;
use crate::guard::guarded;
use crate::image::ImageSource;

#[derive(Debug, Clone, Copy, Default, uniffi::Record)]
pub struct TurnTimings {
    pub vision_ms: f64,
    pub prefill_tokens: u64,
    pub prefill_ms: f64,
    pub decode_tokens: u64,
    pub decode_ms: f64,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct SavedTurn {
    pub question: String,
    pub answer: String,
    /// `eos`, `max_tokens`, `context_full` or `cancelled`.
    pub stop_reason: String,
    pub asked_at_ms: u64,
    pub timings: TurnTimings,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct SavedConversation {
    pub id: String,
    pub model_id: String,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub turns: Vec<SavedTurn>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ConversationSummary {
    pub id: String,
    pub model_id: String,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub turn_count: u32,
    pub first_question: Option<String>,
    pub last_answer: Option<String>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct HistoryPage {
    pub items: Vec<ConversationSummary>,
    pub total: u64,
    /// Conversations that could not be read (left on disk, not shown).
    pub skipped: u64,
}

#[derive(uniffi::Object)]
pub struct ConversationHistory {
    history: History,
}

#[uniffi::export]
impl ConversationHistory {
    /// The history under `dir`, kept within `max_bytes` (the least recently
    /// used conversations go first).
    #[uniffi::constructor]
    pub fn open(dir: String, max_bytes: u64) -> Result<Arc<Self>, ImpFfiError> {
        guarded(|| {
            Ok(Arc::new(Self {
                history: History::open(Path::new(&dir), max_bytes)?,
            }))
        })
    }

    /// A new conversation about `picture` (a thumbnail is kept).
    pub fn create(
        &self,
        model_id: String,
        picture: ImageSource,
    ) -> Result<SavedConversation, ImpFfiError> {
        guarded(|| {
            let rgb = picture.decode()?;
            Ok(self.history.create_from_rgb(&model_id, &rgb)?.into())
        })
    }

    pub fn append_turn(
        &self,
        id: String,
        turn: SavedTurn,
    ) -> Result<SavedConversation, ImpFfiError> {
        guarded(|| Ok(self.history.append_turn(&id, turn.into())?.into()))
    }

    pub fn list(&self, offset: u32, limit: u32) -> Result<HistoryPage, ImpFfiError> {
        guarded(|| {
            let page = self.history.list(offset as usize, limit as usize)?;
            Ok(HistoryPage {
                items: page.items.into_iter().map(Into::into).collect(),
                total: page.total as u64,
                skipped: page.skipped as u64,
            })
        })
    }

    pub fn load(&self, id: String) -> Result<SavedConversation, ImpFfiError> {
        guarded(|| Ok(self.history.load(&id)?.into()))
    }

    /// The conversation's picture, small (JPEG).
    pub fn thumbnail(&self, id: String) -> Result<Vec<u8>, ImpFfiError> {
        guarded(|| Ok(self.history.thumbnail(&id)?))
    }

    pub fn delete(&self, id: String) -> Result<(), ImpFfiError> {
        guarded(|| Ok(self.history.delete(&id)?))
    }

    pub fn delete_all(&self) -> Result<(), ImpFfiError> {
        guarded(|| Ok(self.history.delete_all()?))
    }
}

impl From<TurnTimings> for store::TurnTimings {
    fn from(t: TurnTimings) -> Self {
        Self {
            vision_ms: t.vision_ms,
            prefill_tokens: t.prefill_tokens,
            prefill_ms: t.prefill_ms,
            decode_tokens: t.decode_tokens,
            decode_ms: t.decode_ms,
        }
    }
}

impl From<store::TurnTimings> for TurnTimings {
    fn from(t: store::TurnTimings) -> Self {
        Self {
            vision_ms: t.vision_ms,
            prefill_tokens: t.prefill_tokens,
            prefill_ms: t.prefill_ms,
            decode_tokens: t.decode_tokens,
            decode_ms: t.decode_ms,
        }
    }
}

impl From<SavedTurn> for store::Turn {
    fn from(t: SavedTurn) -> Self {
        Self {
            question: t.question,
            answer: t.answer,
            stop_reason: t.stop_reason,
            asked_at_ms: t.asked_at_ms,
            timings: t.timings.into(),
        }
    }
}

impl From<store::Turn> for SavedTurn {
    fn from(t: store::Turn) -> Self {
        Self {
            question: t.question,
            answer: t.answer,
            stop_reason: t.stop_reason,
            asked_at_ms: t.asked_at_ms,
            timings: t.timings.into(),
        }
    }
}

impl From<store::ConversationRecord> for SavedConversation {
    fn from(c: store::ConversationRecord) -> Self {
        Self {
            id: c.id,
            model_id: c.model_id,
            created_at_ms: c.created_at_ms,
            updated_at_ms: c.updated_at_ms,
            turns: c.turns.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<store::ConversationSummary> for ConversationSummary {
    fn from(c: store::ConversationSummary) -> Self {
        Self {
            id: c.id,
            model_id: c.model_id,
            created_at_ms: c.created_at_ms,
            updated_at_ms: c.updated_at_ms,
            turn_count: c.turn_count,
            first_question: c.first_question,
            last_answer: c.last_answer,
        }
    }
}
