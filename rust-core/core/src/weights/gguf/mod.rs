//! GGUF, the single-file format of ggml/llama.cpp: metadata, tensor table, then
//! tensor data, each tensor aligned so that it can be used in place from a
//! memory map.
//!
//! Own reader and writer rather than candle's `gguf_file`: the reader must refuse
//! hostile files (every length and offset is checked against the file before
//! anything is allocated, candle's allocates whatever a header asks for), and
//! the writer must stream one tensor at a time (candle's wants all tensors in
//! memory at once).
//!
//! Reference: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>.

mod dtype;
pub mod keys;
mod reader;
mod value;
mod writer;

pub use dtype::{dtype_from_id, dtype_id, dtype_name, is_float, parse_dtype};
pub use reader::{GgufFile, TensorInfo};
pub use value::{Array, Strings, Value};
pub use writer::{GgufWriter, PlannedTensor};

/// "GGUF" read as a little-endian u32.
const MAGIC: u32 = 0x4655_4747;
/// Tensor data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
