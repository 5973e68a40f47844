//! The mobile API: a thin UniFFI facade over `imp-core`.
//!
//! Holds no model logic. One file per exported concept; records mirror core
//! types with `From` conversions; long work (loading, encoding an image,
//! answering) runs on threads this crate owns, so no call blocks the caller for
//! longer than it takes to enqueue; answers stream to a listener and come with a
//! handle to cancel them. No panic crosses the boundary (`guard.rs`).

uniffi::setup_scaffolding!();

mod answer;
mod benchmark;
#[cfg(test)]
mod block_on;
mod cancellation;
mod conversation;
mod engine;
mod error;
mod guard;
mod history;
mod image;
mod logging;
mod model_info;
mod model_store;
mod sentences;

pub use answer::{
    AnswerHandle, AnswerListener, AnswerSummary, GenerationParams, StopReason, TokenEvent,
};
pub use benchmark::{
    BenchmarkListener, BenchmarkOptions, BenchmarkRecord, BenchmarkRun, BenchmarkStage,
    BenchmarkTarget,
};
pub use cancellation::CancelHandle;
pub use conversation::ImpConversation;
pub use engine::{live_engines, load_engine, EngineOptions, ImpEngine, LoadListener};
pub use error::ImpFfiError;
pub use history::{
    ConversationHistory, ConversationSummary, HistoryPage, SavedConversation, SavedTurn,
    TurnTimings,
};
pub use image::ImageSource;
pub use model_info::ModelInfo;
pub use model_store::{
    CatalogEntry, DeviceProfile, DownloadSource, FitVerdict, ImportMode, InstallListener,
    InstallProgress, InstallStage, InstalledModel, ModelFit, ModelOrigin, ModelStore,
    PendingDownload, PublishedFile, TransferListener, Verification,
};
pub use sentences::SentenceChunker;
