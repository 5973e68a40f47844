//! What the `imp` command line (and the apps' benchmark screen) does besides
//! answering: converting a checkpoint to one GGUF file, writing random models
//! of the real shapes, and measuring speed and memory; and the allocator
//! setting a program may opt into ([`heap`]), which the library itself never
//! makes for its host.

pub mod bench;
pub mod convert;
pub mod heap;
pub mod memory_watch;
pub mod synthetic;
