//! Imp on the device: a photo and a question in, a streamed answer out.
//!
//! The pipeline, one concern per module: [`preprocess`] (decode, orient, resize
//! like Pillow) -> [`vision`] (truncated SigLIP) -> [`projector`] ->
//! [`language_model`] ([`phi2`] or [`llama`] over spliced embeddings, KV cache)
//! -> [`sampling`] ->
//! [`text_stream`]. [`engine`] loads a checkpoint; [`conversation`] runs turns.
//! See ARCHITECTURE.md at the repository root.

pub mod activation;
pub mod attention;
pub mod chat_template;
pub mod config;
pub mod conversation;
pub mod convert;
pub mod engine;
pub mod error;
pub mod gguf;
pub mod kv_cache;
pub mod language_model;
pub mod layers;
pub mod llama;
pub mod model;
pub mod model_info;
pub mod model_source;
pub mod phi2;
pub mod preprocess;
pub mod projector;
pub mod quantized;
pub mod resample;
pub mod rotary;
pub mod sampling;
pub mod synthetic;
pub mod text_stream;
pub mod tokenizer;
pub mod vision;
pub mod weight_source;
pub mod weights;

pub use conversation::{
    AnswerSummary, CancelToken, Conversation, GenerationParams, StopReason, TokenEvent,
};
pub use engine::{Engine, EngineOptions};
pub use error::{ImpError, Result};
pub use model_info::{LoadOptions, ModelInfo};
pub use sampling::SamplingParams;
