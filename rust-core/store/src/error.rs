use std::path::{Path, PathBuf};

/// Everything that can go wrong below the apps' UI, each case with what a
/// person (or the facade) needs to act on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The catalogue file is not what the schema says.
    #[error("catalogue: {0}")]
    Catalog(String),
    /// No such model in the catalogue or the store.
    #[error("no model {0:?}")]
    UnknownModel(String),
    #[error("no conversation {0:?}")]
    UnknownConversation(String),
    /// The catalogue lists no downloadable file for this model yet.
    #[error("{id} has no published file yet: {how}")]
    NotPublished { id: String, how: String },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
    /// The server answered, but not with the file (404, 500 after retries, ...).
    #[error("{url}: the server answered {status}")]
    Http { url: String, status: u16 },
    #[error("not enough free space: {needed_mb} MB needed, {available_mb} MB free")]
    InsufficientSpace { needed_mb: u64, available_mb: u64 },
    /// The bytes are not the file the catalogue, the hub (or the caller)
    /// vouches for.
    #[error("{file}: {kind} {actual} does not match the expected {expected}; the download was discarded")]
    ChecksumMismatch {
        file: String,
        /// Which checksum: `SHA-256` or `git blob SHA-1`.
        kind: String,
        expected: String,
        actual: String,
    },
    /// A URL this build will not fetch (plain http off this device, a step
    /// down from https).
    #[error("{0}")]
    Refused(String),
    /// Someone else is writing the same file (another download of it).
    #[error("{0}")]
    Busy(String),
    /// `HF_HUB_OFFLINE` is set and what is needed is not on this device.
    #[error("{0}")]
    Offline(String),
    #[error("{file}: {size} bytes, expected {expected}")]
    SizeMismatch {
        file: String,
        size: u64,
        expected: u64,
    },
    /// The file is not a model this build can run.
    #[error("{0}")]
    InvalidModel(String),
    #[error("cancelled")]
    Cancelled,
    /// A stored conversation that cannot be read.
    #[error("conversation {id}: {reason}")]
    CorruptConversation { id: String, reason: String },
    #[error("{0}")]
    InvalidArgument(String),
    /// What the person typed into "Add a model" names no model, in words
    /// for them.
    #[error("{0}")]
    NotAnAddress(String),
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
