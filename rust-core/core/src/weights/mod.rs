//! Where the model's tensors come from, and the one interface the model code
//! reads them through.
//!
//! - [`checkpoint`]: a float checkpoint's safetensors (single or sharded, either
//!   published weight layout).
//! - [`gguf`]: GGUF files, read with every length checked and used in place.
//! - [`mapped`]: a GGUF tensor left in the memory map, and its matmuls.
//! - [`llama_cpp`]: llama.cpp's tensor names for this shape, both ways.
//! - [`read_ahead`]: a mapped file read into memory while the model loads.
//! - [`weight_source`]: layers by checkpoint name over any of the above.

pub mod checkpoint;
pub mod gguf;
pub mod llama_cpp;
pub mod mapped;
pub mod read_ahead;
pub mod weight_source;
