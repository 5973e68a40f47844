//! llama.cpp's pair (a text GGUF and its clip mmproj), split from one input at
//! `PART`: the config rebuilt from llama.cpp's keys, the tokenizer from ggml's
//! arrays, and the weights under llama.cpp's names.
#![no_main]

use imp_core::source::ModelSource;
use imp_core_fuzz::{exercise_source, parts, scratch, write};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = parts(data, 2);
    let text = write(scratch(), "text.gguf", files[0]);
    let mmproj = write(scratch(), "mmproj.gguf", files[1]);
    if let Ok(source) = ModelSource::open_llama_cpp_pair(&text, &mmproj) {
        exercise_source(&source);
    }
});
