//! A checkpoint's weights: `model.safetensors.index.json` and a shard, split
//! from one input at `PART` (an empty index means a single-file checkpoint),
//! next to a fixture's config.json, so the headers are parsed, every tensor is
//! read as the float loader reads it, and the model is built from them.
#![no_main]

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device};
use imp_core::source::ModelSource;
use imp_core::weights::checkpoint::{open_checkpoint, safetensors_dtype, safetensors_files};
use imp_core_fuzz::{exercise_source, fresh_dir, parts, write};
use libfuzzer_sys::fuzz_target;

/// tiny-imp-384's config: the shard's tensor names and shapes are its.
const CONFIG: &str = include_str!("../../../tests/fixtures/tiny-imp-384/config.json");
/// The names tiny-imp-384's index gives its shards.
const SHARDS: [&str; 2] = [
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
];

fuzz_target!(|data: &[u8]| {
    let files = parts(data, 2);
    let dir = fresh_dir("checkpoint");
    write(&dir, "config.json", CONFIG.as_bytes());
    if files[0].is_empty() {
        write(&dir, "model.safetensors", files[1]);
    } else {
        write(&dir, "model.safetensors.index.json", files[0]);
        for name in SHARDS {
            write(&dir, name, files[1]);
        }
    }
    let _ = safetensors_dtype(&dir);
    let Ok(paths) = safetensors_files(&dir) else {
        return;
    };
    if open_checkpoint(&paths, DType::F32, &Device::Cpu).is_err() {
        return;
    }
    // SAFETY: the scratch files are not changed while mapped.
    if let Ok(tensors) = unsafe { MmapedSafetensors::multi(&paths) } {
        for (name, _) in tensors.tensors() {
            if let Ok(t) = tensors.load(&name, &Device::Cpu) {
                let _ = t.to_dtype(DType::F32);
            }
        }
    }
    if let Ok(source) = ModelSource::open(&dir) {
        exercise_source(&source);
    }
});
