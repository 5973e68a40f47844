//! What both apps keep below their UI, written once: which Imp models exist
//! ([`catalog`]), getting one onto the phone and proving it is the right file
//! ([`model_store`], [`download`], [`hub`]: the authors' checkpoints, converted
//! here), whether this phone can run it
//! ([`device_fit`]), and the person's conversations ([`history`]).
//!
//! Plain files under directories the app gives; no UI or FFI dependency (the
//! facade in `uniffi/` exposes this crate to Kotlin and Swift).

pub mod catalog;
pub mod device_fit;
mod disk;
pub mod download;
pub mod error;
pub mod history;
pub mod hub;
pub mod model_store;

pub use error::{Result, StoreError};
