//! What the `imp` command line (and the apps' benchmark screen) does besides
//! answering: converting a checkpoint to one GGUF file, writing random models
//! of the real shapes, and measuring speed and memory.

pub mod bench;
pub mod convert;
pub mod memory_watch;
pub mod synthetic;
