//! An Imp GGUF file (one file: weights, config, tokenizer, template) opened
//! and loaded as the engine does.
#![no_main]

use imp_core::source::ModelSource;
use imp_core_fuzz::{exercise_source, scratch, write};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = write(scratch(), "model.gguf", data);
    if let Ok(source) = ModelSource::open(&path) {
        exercise_source(&source);
    }
    // The reader's own view: every tensor's bytes are inside the mapping.
    if let Ok(file) = imp_core::weights::gguf::GgufFile::open(&path) {
        for info in file.tensors.values() {
            let bytes = file.bytes(info);
            std::hint::black_box(bytes.first());
        }
        for value in file.metadata.values() {
            std::hint::black_box((value.as_u64(), value.as_f64(), value.as_str()));
        }
    }
});
