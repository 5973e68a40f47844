//! Bad input gets a clear error and loses nothing: damaged checkpoints, prompts
//! past the context, cancellation from another thread, streaming text.

use candle_core::{Device, Tensor};
use imp_core::text::text_stream::TextStream;
use imp_core::text::tokenizer::ImpTokenizer;
use imp_core::{
    AnswerSummary, CancelToken, Conversation, Engine, EngineOptions, GenerationParams, ImpError,
    SamplingParams, StopReason,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn photo() -> Vec<u8> {
    std::fs::read(fixture("images/photo.png")).unwrap()
}

/// A private copy of a fixture checkpoint to damage.
fn copy_of(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).unwrap();
    }
    tmp
}

fn load(dir: &Path) -> imp_core::Result<Engine> {
    let options = EngineOptions {
        threads: Some(2),
        ..Default::default()
    };
    Engine::load(dir, &options)
}

fn set_context(dir: &Path, tokens: usize) {
    let path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["tokenizer_model_max_length"] = tokens.into();
    std::fs::write(path, config.to_string()).unwrap();
}

/// Greedy answers whose tokens the test does not look at.
trait AskGreedy {
    fn ask_greedy(
        &mut self,
        question: &str,
        max_new_tokens: usize,
    ) -> imp_core::Result<AnswerSummary>;
}

impl AskGreedy for Conversation {
    fn ask_greedy(
        &mut self,
        question: &str,
        max_new_tokens: usize,
    ) -> imp_core::Result<AnswerSummary> {
        self.ask(
            question,
            &greedy(max_new_tokens),
            &CancelToken::new(),
            &mut |_| {},
        )
    }
}

fn greedy(max_new_tokens: usize) -> GenerationParams {
    GenerationParams {
        max_new_tokens,
        ..Default::default()
    }
}

#[test]
fn truncated_weights_are_an_invalid_model() {
    let dir = copy_of("tiny-imp-196-msft");
    let weights = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    for len in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&weights, &bytes[..len]).unwrap();
        let err = load(dir.path())
            .err()
            .expect("truncated file must not load");
        assert!(matches!(err, ImpError::InvalidModel(_)), "len {len}: {err}");
    }
}

#[test]
fn absurd_tensor_sizes_are_refused_without_allocating() {
    let dir = copy_of("tiny-imp-196-msft");
    // A header that claims a 2^40-element tensor in a 100-byte file.
    let header = r#"{"transformer.embd.wte.weight":{"dtype":"F32","shape":[1099511627776,1],"data_offsets":[0,4398046511104]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&[0u8; 100]);
    std::fs::write(dir.path().join("model.safetensors"), file).unwrap();
    let err = load(dir.path()).err().expect("must not load");
    assert!(matches!(err, ImpError::InvalidModel(_)), "{err}");
}

/// Rewrites one tensor of a single-file checkpoint (or drops it with `None`).
fn edit_tensor(dir: &Path, name: &str, replace: Option<Tensor>) {
    let path = dir.join("model.safetensors");
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    match replace {
        Some(t) => tensors.insert(name.to_string(), t),
        None => tensors.remove(name),
    };
    candle_core::safetensors::save(&tensors, &path).unwrap();
}

#[test]
fn missing_or_misshapen_tensors_are_named() {
    let name = "transformer.h.1.mixer.out_proj.weight";
    let dir = copy_of("tiny-imp-196-msft");
    edit_tensor(dir.path(), name, None);
    let err = load(dir.path()).err().unwrap().to_string();
    assert!(err.contains(name) && !err.contains('\n'), "{err}");

    let dir = copy_of("tiny-imp-196-msft");
    let wrong = Tensor::zeros((64, 63), candle_core::DType::F32, &Device::Cpu).unwrap();
    edit_tensor(dir.path(), name, Some(wrong));
    let err = load(dir.path()).err().unwrap().to_string();
    assert!(err.contains(name) && err.contains("shape"), "{err}");
}

#[test]
fn a_prompt_past_the_context_is_refused_and_changes_nothing() {
    let dir = copy_of("tiny-imp-196-msft");
    set_context(dir.path(), 200); // fewer than the image's 196 patches plus the prompt
    let engine = load(dir.path()).unwrap();
    let mut conversation = Conversation::start(&engine, &photo()).unwrap();
    let err = conversation
        .ask_greedy("What is in this picture?", 4)
        .unwrap_err();
    assert!(
        matches!(err, ImpError::ContextOverflow { limit: 200, .. }),
        "{err}"
    );
    assert_eq!(conversation.context_used(), 0);
    assert_eq!(conversation.turns(), 0);
}

#[test]
fn generation_stops_cleanly_when_the_context_is_full() {
    let dir = copy_of("tiny-imp-196-msft");
    let prefill = 41 + 196; // 42 prompt ids with <image> replaced by 196 patches
    set_context(dir.path(), prefill + 5);
    let engine = load(dir.path()).unwrap();
    let mut conversation = Conversation::start(&engine, &photo()).unwrap();
    let summary = conversation
        .ask_greedy("What is in this picture?", 50)
        .unwrap();
    assert_eq!(summary.prefill_tokens, prefill);
    assert_eq!(summary.stop_reason, StopReason::ContextFull);
    assert!(summary.decode_tokens >= 1 && summary.decode_tokens <= 5);
    // A follow-up cannot fit: an error, and the conversation stays as it was.
    let used = conversation.context_used();
    let err = conversation.ask_greedy("And?", 4).unwrap_err();
    assert!(matches!(err, ImpError::ContextOverflow { .. }), "{err}");
    assert_eq!(conversation.context_used(), used);
}

#[test]
fn cancelling_from_another_thread_stops_between_tokens() {
    let engine = load(&fixture("tiny-imp-196-msft")).unwrap();
    let mut conversation = Conversation::start(&engine, &photo()).unwrap();
    let cancel = CancelToken::new();
    let seen = Arc::new(Barrier::new(2));
    let done = Arc::new(Barrier::new(2));
    let canceller = {
        let (cancel, seen, done) = (cancel.clone(), seen.clone(), done.clone());
        std::thread::spawn(move || {
            seen.wait();
            cancel.cancel();
            done.wait();
        })
    };
    let mut streamed = 0;
    let summary = conversation
        .ask(
            "What is in this picture?",
            &greedy(16),
            &cancel,
            &mut |_| {
                streamed += 1;
                if streamed == 3 {
                    // Let the other thread cancel before the next token is chosen.
                    seen.wait();
                    done.wait();
                }
            },
        )
        .unwrap();
    canceller.join().unwrap();
    assert_eq!(summary.stop_reason, StopReason::Cancelled);
    assert_eq!(summary.decode_tokens, 3);
    assert_eq!(streamed, 3);

    // The conversation goes on after a cancelled answer.
    let summary = conversation
        .ask_greedy("Describe the colours, please.", 4)
        .unwrap();
    assert_eq!(summary.stop_reason, StopReason::MaxTokens);
    assert_eq!(summary.decode_tokens, 4);
}

#[test]
fn conversations_move_between_threads() {
    let engine = load(&fixture("tiny-imp-384")).unwrap();
    let mut conversation = Conversation::start(&engine, &photo()).unwrap();
    let handle = std::thread::spawn(move || conversation.ask_greedy("What?", 2).unwrap());
    assert_eq!(handle.join().unwrap().decode_tokens, 2);
}

#[test]
fn seeded_sampling_is_reproducible() {
    let engine = load(&fixture("tiny-imp-196-msft")).unwrap();
    let run = |seed| {
        let params = GenerationParams {
            max_new_tokens: 12,
            sampling: SamplingParams {
                temperature: 1.5,
                top_k: Some(50),
                top_p: Some(0.95),
                repetition_penalty: 1.1,
                seed,
            },
            logprobs: 0,
        };
        let mut ids = Vec::new();
        let mut conversation = Conversation::start(&engine, &photo()).unwrap();
        conversation
            .ask("What?", &params, &CancelToken::new(), &mut |t| {
                ids.push(t.id)
            })
            .unwrap();
        ids
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

fn stream(tokenizer: &ImpTokenizer, ids: &[u32]) -> Vec<String> {
    let mut stream = TextStream::default();
    let mut pieces: Vec<String> = ids
        .iter()
        .map(|&id| stream.push(tokenizer, id).unwrap())
        .collect();
    pieces.push(stream.finish(tokenizer).unwrap());
    pieces
}

/// GPT-2 byte-level tokens (Phi-2, Qwen) and Llama byte-fallback tokens (Phi-3).
#[test]
fn streamed_text_never_splits_a_character() {
    for model in ["tiny-imp-384", "tiny-imp-qwen2", "tiny-imp-phi3"] {
        let tokenizer = ImpTokenizer::from_dir(&fixture(model)).unwrap();
        let text = "Naïve café — 10 €, 日本語, emoji 🙂 and more";
        let ids = tokenizer.encode(text).unwrap();
        let pieces = stream(&tokenizer, &ids);
        assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')), "{pieces:?}");
        assert_eq!(pieces.concat().trim_start(), text, "{model}");
        // The tokens really do split characters here: some pieces were held.
        assert!(pieces.iter().any(|p| p.is_empty()), "{model}: {pieces:?}");
    }
}

/// A model may emit bytes that never form a character (random weights do):
/// every sequence of tokens streams without panicking, as replacement characters.
#[test]
fn streaming_invalid_bytes_does_not_panic() {
    let tokenizer = ImpTokenizer::from_dir(&fixture("tiny-imp-phi3")).unwrap();
    let byte = |b: u8| tokenizer.token_id(&format!("<0x{b:02X}>")).unwrap();
    let word = tokenizer.encode("ailed").unwrap();
    let sequences = [
        vec![byte(0xE2), byte(0x82)],
        [vec![byte(0xE2)], word.clone()].concat(),
        // A valid "a" released, then regrouped with the bytes after it into an
        // invalid run, which byte fallback decodes as one U+FFFD per byte.
        [vec![byte(0x61), byte(0xE2), byte(0x82)], word.clone()].concat(),
        [vec![byte(0xE2), byte(0x82)], word.clone(), vec![byte(0xAC)]].concat(),
        vec![byte(0xFF), byte(0xE2), byte(0x82), byte(0xAC), byte(0x80)],
    ];
    for ids in sequences {
        let text = stream(&tokenizer, &ids).concat();
        assert!(text.contains('\u{FFFD}'), "{ids:?}: {text:?}");
    }
}

#[test]
fn an_undecodable_image_is_an_image_error() {
    let engine = load(&fixture("tiny-imp-196-msft")).unwrap();
    let mut png = photo();
    png.truncate(png.len() / 3);
    let err = Conversation::start(&engine, &png).err().unwrap();
    assert!(matches!(err, ImpError::InvalidImage(_)), "{err}");
}

#[test]
fn exif_orientation_turns_phone_photos_upright() {
    let bytes = std::fs::read(fixture("images/exif-rotated.jpg")).unwrap();
    let upright = imp_core::picture::preprocess::decode_rgb(&bytes).unwrap();
    // Stored 60x40 with orientation 6: shown rotated 90 degrees clockwise.
    assert_eq!((upright.width, upright.height), (40, 60));
    let stored = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!((stored.width(), stored.height()), (60, 40));
    let rotated = image::imageops::rotate90(&stored);
    assert!(upright.data == rotated.into_raw());
}

#[test]
fn loading_reports_progress_and_can_be_cancelled() {
    let dir = fixture("tiny-imp-384");
    let mut seen = Vec::new();
    Engine::load_with_progress(&dir, &EngineOptions::default(), &mut |f| {
        seen.push(f);
        true
    })
    .unwrap();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!((seen[0], *seen.last().unwrap()), (0.0, 1.0));
    assert!(seen.len() >= 4, "{seen:?}");

    let mut calls = 0;
    let err = Engine::load_with_progress(&dir, &EngineOptions::default(), &mut |_| {
        calls += 1;
        calls < 3
    })
    .err()
    .unwrap();
    assert!(matches!(err, ImpError::Cancelled), "{err}");
}

#[test]
fn a_model_too_big_for_the_memory_given_is_refused_before_loading() {
    let dir = fixture("tiny-imp-196-msft");
    let info = imp_core::ModelInfo::inspect(&dir, &Default::default()).unwrap();
    assert_eq!(info.weights_dtype, "bf16");
    assert_eq!(info.image_tokens, 196);
    let options = EngineOptions {
        available_memory_bytes: Some(info.estimated_memory_bytes - 1),
        ..Default::default()
    };
    let err = Engine::load(&dir, &options).err().unwrap();
    assert!(matches!(err, ImpError::InsufficientMemory { .. }), "{err}");
    let options = EngineOptions {
        available_memory_bytes: Some(info.estimated_memory_bytes),
        context_length: Some(300),
        ..Default::default()
    };
    let engine = Engine::load(&dir, &options).unwrap();
    assert_eq!(engine.info().context_length, 300);
    assert_eq!(engine.model().config().context_length, 300);
}
