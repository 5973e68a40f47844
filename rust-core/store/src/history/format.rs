//! The history's files, by version, and the way from each old version to the
//! current one.
//!
//! - Version 1 kept a conversation in one file, `<id>.json`, with its
//!   thumbnail inline as base64: every new turn rewrote the picture too, and
//!   listing read every thumbnail.
//! - Version 2 (current) keeps a folder per conversation: `conversation.json`
//!   (the turns) and `thumbnail.jpg` beside it, so a turn's atomic rewrite is
//!   a few kB and the list reads no pictures.

use serde::{Deserialize, Serialize};

/// The version this build writes.
pub const CURRENT_VERSION: u32 = 2;

/// `conversation.json`, version 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationFile {
    pub format_version: u32,
    pub id: String,
    pub model_id: String,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub turns: Vec<Turn>,
}

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub question: String,
    pub answer: String,
    /// `eos`, `max_tokens`, `context_full` or `cancelled`, as the engine says.
    pub stop_reason: String,
    pub asked_at_ms: u64,
    pub timings: TurnTimings,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnTimings {
    pub vision_ms: f64,
    pub prefill_tokens: u64,
    pub prefill_ms: f64,
    pub decode_tokens: u64,
    pub decode_ms: f64,
}

/// `<id>.json`, version 1.
#[derive(Debug, Clone, Deserialize)]
pub struct ConversationFileV1 {
    pub id: String,
    pub model_id: String,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    /// JPEG, base64 (standard alphabet, padded).
    pub thumbnail_jpeg_base64: Option<String>,
    pub turns: Vec<Turn>,
}

/// Reads the version a file says it is, before parsing the rest.
#[derive(Deserialize)]
pub struct VersionProbe {
    pub format_version: u32,
}

impl ConversationFileV1 {
    /// The same conversation as version 2, and its thumbnail's bytes.
    pub fn migrate(self) -> Result<(ConversationFile, Option<Vec<u8>>), String> {
        use base64::Engine;
        let thumbnail = self
            .thumbnail_jpeg_base64
            .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
            .transpose()
            .map_err(|e| format!("thumbnail: {e}"))?;
        Ok((
            ConversationFile {
                format_version: CURRENT_VERSION,
                id: self.id,
                model_id: self.model_id,
                created_at_ms: self.created_at_ms,
                updated_at_ms: self.updated_at_ms,
                turns: self.turns,
            },
            thumbnail,
        ))
    }
}
