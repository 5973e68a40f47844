//! What the fuzz targets share: scratch files (the loaders take paths, and the
//! targets go through the same entry points an app does), splitting one input
//! into several files, and driving whatever a model source yields.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use imp_core::model::ImpModel;
use imp_core::source::ModelSource;
use imp_core::text::text_stream::TextStream;
use imp_core::text::tokenizer::ImpTokenizer;
use imp_core::{LoadOptions, ModelInfo};

/// Separates the files of a multi-file input (a pair, an index and its shard,
/// the slow tokenizer's files). Text, so it survives in JSON seeds, and in the
/// targets' dictionaries so the fuzzer can splice it.
pub const PART: &[u8] = b"\n=====imp-fuzz-part=====\n";

/// Up to `n` parts of `data`, split at `PART`; absent parts are empty.
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut rest = data;
    while out.len() + 1 < n {
        match rest.windows(PART.len()).position(|w| w == PART) {
            Some(at) => {
                out.push(&rest[..at]);
                rest = &rest[at + PART.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out.resize(n, &[]);
    out
}

/// This process's scratch directory, in memory when /dev/shm exists. Each
/// process of a parallel run has its own.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("imp-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// A fresh, empty subdirectory `name` of the scratch directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = scratch().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch subdirectory");
    dir
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("scratch file");
    path
}

/// A question with the image placeholder, special-token look-alikes and
/// characters that take byte fallback.
pub const PROBE: &str =
    "<image>\nWhat is in this picture? </s><|im_end|><|end|> Naïve café 日本語 🙂 \t\t  ";

/// Encodes and decodes the probe and streams the ids back as text: any
/// tokenizer that loads must do all of it without panicking.
pub fn exercise_tokenizer(tokenizer: &ImpTokenizer) {
    let _ = tokenizer.vocab_size();
    let _ = tokenizer.token_id("<image>");
    for ids in [tokenizer.encode(PROBE), tokenizer.encode_opening(PROBE)]
        .into_iter()
        .flatten()
    {
        let _ = tokenizer.decode(&ids);
        let mut stream = TextStream::default();
        for &id in &ids {
            let _ = stream.push(tokenizer, id);
        }
        let _ = stream.finish(tokenizer);
    }
    // Ids the model could sample that the tokenizer never produced.
    let mut stream = TextStream::default();
    for id in [0, 1, 2, 255, 256, 1000, u32::MAX] {
        let _ = stream.push(tokenizer, id);
        let _ = tokenizer.decode(&[id]);
    }
    let _ = stream.finish(tokenizer);
    let _ = tokenizer.to_json();
}

/// Everything an app's load does with a model source short of the thread
/// pool: config, description, tokenizer, template, and the model's weights.
pub fn exercise_source(source: &ModelSource) {
    let Ok(config) = source.config() else {
        return;
    };
    let _ = source.weights_dtype();
    let _ = source.chat_template(&config);
    let _ = ModelInfo::from_source(source, &LoadOptions::default());
    if let Ok(tokenizer) = source.tokenizer() {
        exercise_tokenizer(&tokenizer);
    }
    let _ = ImpModel::load_with_progress(source, &LoadOptions::default(), &mut |_| true);
}
