//! The person's conversations, kept under a directory the app gives:
//!
//! ```text
//! <dir>/<id>/conversation.json   the turns (format in `format.rs`)
//! <dir>/<id>/thumbnail.jpg       the picture, at most 256 px a side
//! ```
//!
//! Every write replaces a whole file atomically (`disk::write_atomically`), so
//! a crash mid-write loses at most the turn being written. A conversation that
//! cannot be read is skipped with a warning and counted, never fatal to the
//! list. Older formats are migrated when first seen. Past `max_bytes`, the
//! conversations least recently used are removed.

mod format;
mod thumbnail;

pub use format::{Turn, TurnTimings, CURRENT_VERSION};
pub use thumbnail::MAX_THUMBNAIL_SIDE;

use rand::Rng;
use std::path::{Path, PathBuf};

use crate::disk::{sync_dir, write_atomically};
use crate::error::{Result, StoreError};
use crate::model_store::now_ms;
use format::{ConversationFile, ConversationFileV1, VersionProbe};
use imp_core::picture::resample::Rgb8;

/// A stored conversation, turns included (the thumbnail is read apart).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRecord {
    pub id: String,
    pub model_id: String,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub turns: Vec<Turn>,
}

/// One line of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    pub id: String,
    pub model_id: String,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub turn_count: u32,
    pub first_question: Option<String>,
    /// The latest answer's first 200 characters.
    pub last_answer: Option<String>,
}

/// A page of the list, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub items: Vec<ConversationSummary>,
    /// Readable conversations in all.
    pub total: usize,
    /// Conversations that could not be read (and were left on disk).
    pub skipped: usize,
}

pub struct History {
    dir: PathBuf,
    max_bytes: u64,
}

impl History {
    /// The history under `dir` (created if needed), kept within `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let history = Self {
            dir: dir.to_path_buf(),
            max_bytes,
        };
        history.migrate_all();
        Ok(history)
    }

    /// Starts a conversation about a picture (encoded bytes: JPEG, PNG, ...).
    pub fn create(&self, model_id: &str, picture: &[u8]) -> Result<ConversationRecord> {
        let rgb = imp_core::picture::preprocess::decode_rgb(picture)
            .map_err(|e| StoreError::InvalidArgument(format!("picture: {e}")))?;
        self.create_from_rgb(model_id, &rgb)
    }

    /// Starts a conversation about a picture the platform decoded.
    pub fn create_from_rgb(&self, model_id: &str, picture: &Rgb8) -> Result<ConversationRecord> {
        let now = now_ms();
        let file = ConversationFile {
            format_version: CURRENT_VERSION,
            id: new_id(),
            model_id: model_id.to_string(),
            created_at_ms: now,
            updated_at_ms: now,
            turns: Vec::new(),
        };
        let folder = self.folder(&file.id);
        std::fs::create_dir_all(&folder).map_err(|e| StoreError::io(&folder, e))?;
        write_atomically(&folder.join("thumbnail.jpg"), &thumbnail::jpeg(picture)?)?;
        self.save(&file)?;
        sync_dir(&self.dir);
        self.prune(&file.id);
        Ok(record(file))
    }

    /// Adds a finished (or stopped) turn; what was saved before stays intact
    /// whatever happens during this write.
    pub fn append_turn(&self, id: &str, turn: Turn) -> Result<ConversationRecord> {
        check_id(id)?;
        // Read, add, write: two writers at once (two threads, two processes)
        // would each write what they read plus their own turn, and one turn
        // would be lost. One at a time, per conversation.
        let _writer = self.writer_lock(id)?;
        let mut file = self.read(id)?;
        file.updated_at_ms = now_ms().max(file.updated_at_ms);
        file.turns.push(turn);
        self.save(&file)?;
        self.prune(id);
        Ok(record(file))
    }

    /// Held while a conversation's file is rewritten (a lock file in its folder).
    fn writer_lock(&self, id: &str) -> Result<std::fs::File> {
        let folder = self.folder(id);
        if !folder.is_dir() {
            return Err(StoreError::UnknownConversation(id.to_string()));
        }
        let path = folder.join(".writer.lock");
        crate::disk::lock_file(&path, true).map_err(|e| StoreError::io(&path, e))
    }

    pub fn load(&self, id: &str) -> Result<ConversationRecord> {
        Ok(record(self.read(id)?))
    }

    /// The conversation's thumbnail (JPEG).
    pub fn thumbnail(&self, id: &str) -> Result<Vec<u8>> {
        check_id(id)?;
        let path = self.folder(id).join("thumbnail.jpg");
        std::fs::read(&path).map_err(|e| StoreError::io(&path, e))
    }

    /// `limit` conversations from `offset`, most recently used first.
    pub fn list(&self, offset: usize, limit: usize) -> Result<HistoryPage> {
        let (mut all, skipped) = self.read_all()?;
        all.sort_by(|a, b| (b.updated_at_ms, &b.id).cmp(&(a.updated_at_ms, &a.id)));
        let total = all.len();
        let items = all
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(summary)
            .collect();
        Ok(HistoryPage {
            items,
            total,
            skipped,
        })
    }

    pub fn delete(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let folder = self.folder(id);
        if !folder.exists() {
            return Err(StoreError::UnknownConversation(id.to_string()));
        }
        std::fs::remove_dir_all(&folder).map_err(|e| StoreError::io(&folder, e))?;
        sync_dir(&self.dir);
        Ok(())
    }

    pub fn delete_all(&self) -> Result<()> {
        for entry in std::fs::read_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))? {
            let path = entry.map_err(|e| StoreError::io(&self.dir, e))?.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| StoreError::io(&path, e))?;
        }
        sync_dir(&self.dir);
        Ok(())
    }

    /// Bytes the history takes on disk.
    pub fn size_bytes(&self) -> u64 {
        dir_size(&self.dir)
    }

    fn read(&self, id: &str) -> Result<ConversationFile> {
        check_id(id)?;
        let path = self.folder(id).join("conversation.json");
        let bytes = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::UnknownConversation(id.to_string()))
            }
            other => other.map_err(|e| StoreError::io(&path, e))?,
        };
        parse_current(&bytes).map_err(|reason| StoreError::CorruptConversation {
            id: id.to_string(),
            reason,
        })
    }

    fn save(&self, file: &ConversationFile) -> Result<()> {
        let bytes = serde_json::to_vec(file).expect("plain data serialises");
        write_atomically(&self.folder(&file.id).join("conversation.json"), &bytes)
    }

    /// Every readable conversation, and how many could not be read.
    fn read_all(&self) -> Result<(Vec<ConversationFile>, usize)> {
        let mut files = Vec::new();
        let mut skipped = 0;
        for entry in std::fs::read_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))? {
            let Ok(entry) = entry else { continue };
            if !entry.path().is_dir() {
                continue;
            }
            let id = entry.file_name().to_string_lossy().to_string();
            match self.read(&id) {
                Ok(file) => files.push(file),
                Err(e) => {
                    tracing::warn!(conversation = %id, error = %e, "skipping a conversation");
                    skipped += 1;
                }
            }
        }
        Ok((files, skipped))
    }

    /// Removes the least recently used conversations until the history fits
    /// in `max_bytes`, never `keep` (the one just written).
    fn prune(&self, keep: &str) {
        let mut size = self.size_bytes();
        if size <= self.max_bytes {
            return;
        }
        let Ok((mut all, _)) = self.read_all() else {
            return;
        };
        all.sort_by(|a, b| (a.updated_at_ms, &a.id).cmp(&(b.updated_at_ms, &b.id)));
        for old in all.iter().filter(|f| f.id != keep) {
            if size <= self.max_bytes {
                break;
            }
            let folder = self.folder(&old.id);
            let freed = dir_size(&folder);
            if std::fs::remove_dir_all(&folder).is_ok() {
                tracing::info!(conversation = %old.id, "history over its size bound: removed the oldest");
                size = size.saturating_sub(freed);
            }
        }
        sync_dir(&self.dir);
    }

    /// Version-1 files (`<id>.json` at the top) become version-2 folders: the
    /// new folder is written completely before the old file is removed, so a
    /// crash leaves one or the other (or both, and the next open finishes).
    fn migrate_all(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") || !path.is_file() {
                continue;
            }
            if let Err(e) = self.migrate_v1(&path) {
                tracing::warn!(file = %path.display(), error = %e, "cannot migrate a conversation");
            }
        }
    }

    fn migrate_v1(&self, path: &Path) -> Result<()> {
        let corrupt = |reason: String| StoreError::CorruptConversation {
            id: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
        let probe: VersionProbe =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if probe.format_version != 1 {
            return Err(corrupt(format!("format_version {}", probe.format_version)));
        }
        let old: ConversationFileV1 =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        check_id(&old.id)?;
        let (file, thumbnail) = old.migrate().map_err(corrupt)?;
        let folder = self.folder(&file.id);
        if !folder.join("conversation.json").exists() {
            std::fs::create_dir_all(&folder).map_err(|e| StoreError::io(&folder, e))?;
            if let Some(jpeg) = thumbnail {
                write_atomically(&folder.join("thumbnail.jpg"), &jpeg)?;
            }
            self.save(&file)?;
        }
        std::fs::remove_file(path).map_err(|e| StoreError::io(path, e))?;
        sync_dir(&self.dir);
        tracing::info!(conversation = %file.id, "migrated from version 1");
        Ok(())
    }

    fn folder(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }
}

fn parse_current(bytes: &[u8]) -> std::result::Result<ConversationFile, String> {
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if probe.format_version != CURRENT_VERSION {
        return Err(format!(
            "format_version {} (this build reads {CURRENT_VERSION})",
            probe.format_version
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

fn record(file: ConversationFile) -> ConversationRecord {
    ConversationRecord {
        id: file.id,
        model_id: file.model_id,
        created_at_ms: file.created_at_ms,
        updated_at_ms: file.updated_at_ms,
        turns: file.turns,
    }
}

fn summary(file: ConversationFile) -> ConversationSummary {
    ConversationSummary {
        turn_count: file.turns.len() as u32,
        first_question: file.turns.first().map(|t| t.question.clone()),
        last_answer: file
            .turns
            .last()
            .map(|t| t.answer.chars().take(200).collect()),
        id: file.id,
        model_id: file.model_id,
        created_at_ms: file.created_at_ms,
        updated_at_ms: file.updated_at_ms,
    }
}

/// 16 random hex digits: unique enough for one person's history, and a
/// plain file name.
fn new_id() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// Ids are folder names inside the history: hex digits only, so no id can
/// reach outside it.
fn check_id(id: &str) -> Result<()> {
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument(format!(
            "{id:?} is not a conversation id"
        )))
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
