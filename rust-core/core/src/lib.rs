//! Imp on the device: a photo and a question in, a streamed answer out.
//!
//! The crate reads the way the pipeline runs:
//!
//! - [`config`]: the checkpoint's `config.json`, which says which Imp it is.
//! - [`source`]: what a model path holds (checkpoint, Imp GGUF, llama.cpp
//!   pair) and what it will cost before anything is loaded.
//! - [`weights`]: tensors from files: safetensors checkpoints, GGUF read in
//!   place from a memory map, llama.cpp's names.
//! - [`picture`]: image bytes to the pixel tensor, exactly as Pillow resizes.
//! - [`model`]: the network: vision tower, projector, language model.
//! - [`text`]: tokenizer, prompt templates, UTF-8-safe streaming.
//! - [`generation`]: the loaded [`Engine`], [`Conversation`]s, sampling.
//! - [`kernels`]: int8 matmuls over the mapped weight blocks, per ISA.
//!
//! See ARCHITECTURE.md at the repository root.

pub mod config;
pub mod error;
pub mod generation;
pub mod kernels;
pub mod model;
pub mod picture;
pub mod source;
pub mod text;
pub mod weights;

pub use error::{ImpError, Result};
pub use generation::answer::{
    AnswerSummary, CancelToken, GenerationParams, StopReason, TokenEvent,
};
pub use generation::conversation::Conversation;
pub use generation::engine::{Engine, EngineOptions};
pub use generation::sampling::SamplingParams;
pub use source::model_info::{LoadOptions, ModelInfo};
pub use text::sentences::SentenceChunker;
