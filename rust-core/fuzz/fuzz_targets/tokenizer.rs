//! The tokenizer files: a `tokenizer.json`, or the slow files the Phi-2
//! checkpoints ship (`vocab.json`, `merges.txt`, `added_tokens.json`,
//! `special_tokens_map.json`), split from one input at `PART`. One part means
//! a tokenizer.json. Whatever loads encodes, decodes and streams a probe.
#![no_main]

use imp_core::text::tokenizer::ImpTokenizer;
use imp_core_fuzz::{exercise_tokenizer, fresh_dir, parts, write, PART};
use libfuzzer_sys::fuzz_target;

const SLOW_FILES: [&str; 4] = [
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "special_tokens_map.json",
];

fuzz_target!(|data: &[u8]| {
    let is_json = !data.windows(PART.len()).any(|w| w == PART);
    let dir = fresh_dir("tokenizer");
    if is_json {
        // Both ways in: the file in a checkpoint and the text in a GGUF.
        write(&dir, "tokenizer.json", data);
        if let Ok(text) = std::str::from_utf8(data) {
            if let Ok(tokenizer) = ImpTokenizer::from_json(text) {
                exercise_tokenizer(&tokenizer);
            }
        }
    } else {
        for (name, bytes) in SLOW_FILES.iter().zip(parts(data, SLOW_FILES.len())) {
            // An empty part leaves the optional file out.
            if !bytes.is_empty() {
                write(&dir, name, bytes);
            }
        }
    }
    if let Ok(tokenizer) = ImpTokenizer::from_dir(&dir) {
        exercise_tokenizer(&tokenizer);
    }
});
