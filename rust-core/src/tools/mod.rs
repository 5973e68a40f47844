//! What the `imp` command line does besides answering: converting a checkpoint
//! to one GGUF file, and writing random models of the real shapes to measure.

pub mod convert;
pub mod synthetic;
