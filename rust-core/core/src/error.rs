//! The core's one error type: rich enough to say what went wrong and where.
//! The FFI facade maps it to the few cases an app acts on differently.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImpError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The model files are there but wrong: missing/misshapen tensors, bad JSON.
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// A well-formed model of a kind this build does not run.
    #[error("unsupported model: {0}")]
    UnsupportedModel(String),
    #[error("image could not be read: {0}")]
    InvalidImage(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The prompt (with the image tokens) does not leave room to answer.
    #[error("input too long: {tokens} tokens, the model's context holds {limit}")]
    ContextOverflow { tokens: usize, limit: usize },
    #[error("cancelled")]
    Cancelled,
    /// The model would not fit in the memory the caller said is available.
    #[error("the model needs about {needed_mb} MB but only {available_mb} MB are available")]
    InsufficientMemory { needed_mb: u64, available_mb: u64 },
    /// A step (encoding the picture, a forward pass) could not get the memory
    /// it needs; it was refused before anything changed (`model::headroom`).
    #[error("out of memory: {what} needs about {needed_mb} MB more than the process can get")]
    OutOfMemory { what: &'static str, needed_mb: u64 },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("tensor computation failed: {}", candle_message(.0))]
    Tensor(#[from] candle_core::Error),
}

impl ImpError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ImpError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// candle appends a backtrace to its messages when RUST_BACKTRACE is set; users
/// get the one line that says what happened.
pub fn candle_message(e: &candle_core::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

pub type Result<T, E = ImpError> = std::result::Result<T, E>;
