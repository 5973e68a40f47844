//! The port against the Python reference, through the goldens that
//! `tests/fixtures/generate.py` wrote (see tests/fixtures/README.md).
//!
//! Tolerances. Both sides compute in float32 from the same weights (rounded to
//! the checkpoint's f16/bf16 on both sides). What differs is summation order
//! (candle's gemm vs torch's BLAS, fused vs separate q/k/v matmuls), so errors are
//! a few f32 ulps per reduction, compounded through layers and LayerNorms.
//! Measured on x86 (max |actual - reference| / largest |reference|): vision
//! features 3.6e-5 / 30.5, projector 1.9e-5 / 24.8, first-step logits 1.4e-6 /
//! 3.5. The bounds (2e-5 + 2e-5 * |e| per element) leave several times that for
//! other SIMD paths (NEON) while staying far below what a real bug produces (a
//! wrong rotary dim, GELU variant or layer count moves values by 1e-2 or more).
//! Pixels and token ids must match exactly.

use candle_core::{DType, Device, Tensor};
use imp_core::generation::sampling::argmax;
use imp_core::model::language_model::KvCache;
use imp_core::model::ImpModel;
use imp_core::picture::preprocess::decode_rgb;
use imp_core::text::tokenizer::ImpTokenizer;
use imp_core::Conversation;
use imp_core::{CancelToken, Engine, EngineOptions, GenerationParams, StopReason};
use std::collections::HashMap;
use std::path::PathBuf;

/// Phi-2 (both weight layouts, both image sizes), Qwen1.5 and Phi-3 variants.
const MODELS: [&str; 5] = [
    "tiny-imp-384",
    "tiny-imp-196-msft",
    "tiny-imp-wide",
    "tiny-imp-qwen2",
    "tiny-imp-phi3",
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

struct Golden {
    tensors: HashMap<String, Tensor>,
    meta: serde_json::Value,
}

impl Golden {
    fn load(model: &str) -> Self {
        let dir = fixtures().join("golden");
        let tensors =
            candle_core::safetensors::load(dir.join(format!("{model}.safetensors")), &Device::Cpu)
                .unwrap();
        let meta = std::fs::read_to_string(dir.join(format!("{model}.json"))).unwrap();
        Self {
            tensors,
            meta: serde_json::from_str(&meta).unwrap(),
        }
    }

    fn tensor(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("golden {name} missing"))
    }

    fn ids(&self, key: &str) -> Vec<u32> {
        serde_json::from_value(self.meta[key].clone()).unwrap()
    }
}

/// Fails with the worst element if |a - e| > atol + rtol * |e| anywhere.
fn assert_close(what: &str, actual: &Tensor, expected: &Tensor, atol: f32, rtol: f32) {
    assert_eq!(actual.dims(), expected.dims(), "{what}: shape");
    let a: Vec<f32> = actual.flatten_all().unwrap().to_vec1().unwrap();
    let e: Vec<f32> = expected.flatten_all().unwrap().to_vec1().unwrap();
    let (mut worst, mut at) = (0f32, 0);
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let excess = (x - y).abs() - (atol + rtol * y.abs());
        if excess > worst || !x.is_finite() {
            (worst, at) = (excess.max(f32::MIN_POSITIVE), i);
        }
    }
    assert!(
        worst <= 0.0,
        "{what}: element {at} is {} but the reference has {} (tolerance {atol} + {rtol}*|e|)",
        a[at],
        e[at]
    );
}

fn photo_pixels(model: &ImpModel, image: &str) -> Tensor {
    let bytes = std::fs::read(fixtures().join("images").join(image)).unwrap();
    let rgb = decode_rgb(&bytes).unwrap();
    let pre = imp_core::picture::preprocess::ImagePreprocessor {
        image_size: model.config().vision.image_size,
        aspect: model.config().image_aspect_ratio,
    };
    pre.preprocess_rgb(&rgb, &Device::Cpu).unwrap()
}

#[test]
fn tokenizer_matches_the_reference() {
    for model in MODELS {
        let golden = Golden::load(model);
        let tokenizer = ImpTokenizer::from_dir(&fixtures().join(model)).unwrap();
        assert_probes(model, &tokenizer, &golden);
    }
}

fn assert_probes(model: &str, tokenizer: &ImpTokenizer, golden: &Golden) {
    let probes = golden.meta["tokenizer"].as_object().unwrap();
    assert!(!probes.is_empty());
    for (text, ids) in probes {
        let expected: Vec<u32> = serde_json::from_value(ids.clone()).unwrap();
        assert_eq!(
            tokenizer.encode(text).unwrap(),
            expected,
            "{model}: {text:?}"
        );
    }
}

#[test]
fn preprocessing_matches_pillow_bit_for_bit() {
    for model in MODELS {
        let golden = Golden::load(model);
        let dir = fixtures().join(model);
        let config = imp_core::config::ImpConfig::from_file(&dir.join("config.json")).unwrap();
        let pre = imp_core::picture::preprocess::ImagePreprocessor {
            image_size: config.vision.image_size,
            aspect: config.image_aspect_ratio,
        };
        let mut checked = 0;
        for (key, expected) in &golden.tensors {
            let Some(image) = key.strip_suffix(".resized_u8") else {
                continue;
            };
            let bytes = std::fs::read(fixtures().join("images").join(format!("{image}.png")));
            let rgb = decode_rgb(&bytes.unwrap()).unwrap();
            let resized = pre.resized(&rgb);
            let expected: Vec<u8> = expected.flatten_all().unwrap().to_vec1().unwrap();
            let diffs = resized
                .data
                .iter()
                .zip(&expected)
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(
                diffs, 0,
                "{model}/{image}: {diffs} bytes differ from Pillow"
            );
            checked += 1;

            // Normalised pixels: exactly the reference's lookup table applied.
            let lut: Vec<f32> = golden.tensor("normalise_lut").to_vec1().unwrap();
            let pixels = pre.preprocess_rgb(&rgb, &Device::Cpu).unwrap();
            let want: Vec<f32> = (0..3)
                .flat_map(|c| expected.chunks(3).map(move |px| px[c]))
                .map(|v| lut[v as usize])
                .collect();
            let got: Vec<f32> = pixels.flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(got, want, "{model}/{image}: normalised pixels");
        }
        assert!(checked >= 2, "{model}: only {checked} images checked");

        // image_aspect_ratio "pad": grey square first, as the reference's expand2square.
        let padded = imp_core::picture::preprocess::ImagePreprocessor {
            aspect: imp_core::config::AspectMode::Pad,
            ..pre
        };
        let rgb = decode_rgb(&std::fs::read(fixtures().join("images/photo.png")).unwrap());
        let got = padded.resized(&rgb.unwrap()).data;
        let want: Vec<u8> = golden
            .tensor("photo.padded_u8")
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(
            got == want,
            "{model}: padded photo differs from the reference"
        );
    }
}

/// The same tokenizer as transformers serialises it (`tokenizer.json`).
#[test]
fn tokenizer_json_matches_the_slow_files() {
    for model in MODELS {
        let golden = Golden::load(model);
        let dir = fixtures().join(format!("golden/{model}-tokenizer"));
        assert!(dir.join("tokenizer.json").exists());
        let tokenizer = ImpTokenizer::from_dir(&dir).unwrap();
        assert_probes(model, &tokenizer, &golden);
    }
}

#[test]
fn vision_projector_and_first_logits_match() {
    for model_name in MODELS {
        let golden = Golden::load(model_name);
        let model = ImpModel::load(&fixtures().join(model_name)).unwrap();
        let pixels = photo_pixels(&model, "photo.png");
        let features = model.vision_features(&pixels).unwrap();
        assert_close(
            &format!("{model_name} vision features"),
            &features,
            golden.tensor("vision_features"),
            2e-5,
            2e-5,
        );
        let projected = model.project(&features).unwrap();
        assert_close(
            &format!("{model_name} projector"),
            &projected,
            golden.tensor("projector_out"),
            2e-5,
            2e-5,
        );
        let ids = golden.ids("prompt_ids");
        let embeds = model.embed_prompt(&ids, Some(&projected)).unwrap();
        let mut cache = KvCache::default();
        let logits = model.forward(&embeds, &mut cache).unwrap();
        assert_close(
            &format!("{model_name} first-step logits"),
            &logits,
            golden.tensor("first_logits"),
            2e-5,
            2e-5,
        );
        assert_eq!(logits.dtype(), DType::F32);
    }
}

#[test]
fn sixteen_greedy_tokens_are_identical() {
    for model_name in MODELS {
        let golden = Golden::load(model_name);
        let model = ImpModel::load(&fixtures().join(model_name)).unwrap();
        let image = model
            .encode_image(&photo_pixels(&model, "photo.png"))
            .unwrap();
        let mut cache = KvCache::default();
        let embeds = model
            .embed_prompt(&golden.ids("prompt_ids"), Some(&image))
            .unwrap();
        let mut logits = model.forward(&embeds, &mut cache).unwrap();
        let mut answer = Vec::new();
        for _ in 0..16 {
            let id = argmax(&logits.to_vec1::<f32>().unwrap());
            answer.push(id);
            let embeds = model.embed_prompt(&[id], None).unwrap();
            logits = model.forward(&embeds, &mut cache).unwrap();
        }
        assert_eq!(answer, golden.ids("greedy_ids"), "{model_name}");
    }
}

/// The engine's conversation path: image bytes in, streamed greedy answer, then a
/// follow-up that reuses the KV cache, checked against the reference's full
/// recomputation of the same token sequence.
#[test]
fn conversation_with_follow_up_matches_full_recompute() {
    for model_name in MODELS {
        let golden = Golden::load(model_name);
        // The template's turn enders; the goldens are chosen to not contain them.
        let stops = golden.ids("stop_ids");
        let first = golden.ids("greedy_ids");
        assert!(!first.iter().any(|id| stops.contains(id)));
        let engine = Engine::load(&fixtures().join(model_name), &EngineOptions::default()).unwrap();
        for id in &stops {
            assert!(
                engine.stop_ids().contains(id),
                "{model_name}: stops on {id}"
            );
        }
        let bytes = std::fs::read(fixtures().join("images/photo.png")).unwrap();
        let mut conversation = Conversation::start(&engine, &bytes).unwrap();
        let params = GenerationParams {
            max_new_tokens: 16,
            ..Default::default()
        };
        let mut streamed = Vec::new();
        let summary = conversation
            .ask(
                "What is in this picture?",
                &params,
                &CancelToken::new(),
                &mut |t| streamed.push(t.id),
            )
            .unwrap();
        assert_eq!(streamed, first, "{model_name}: first answer");
        assert_eq!(summary.stop_reason, StopReason::MaxTokens);
        assert_eq!(summary.decode_tokens, 16);
        let prompt_len = golden.ids("prompt_ids").len();
        let patches = engine.model().config().vision.num_patches();
        assert_eq!(summary.prefill_tokens, prompt_len - 1 + patches);

        let params = GenerationParams {
            max_new_tokens: 8,
            ..Default::default()
        };
        let mut streamed = Vec::new();
        let summary = conversation
            .ask(
                "Describe the colours, please.",
                &params,
                &CancelToken::new(),
                &mut |t| streamed.push(t.id),
            )
            .unwrap();
        assert_eq!(
            streamed,
            golden.ids("followup_greedy_ids"),
            "{model_name}: follow-up"
        );
        // The follow-up prefills only its own tokens plus the last answer token.
        assert_eq!(
            summary.prefill_tokens,
            golden.ids("followup_prompt_ids").len() + 1
        );
        assert_eq!(summary.vision_ms, 0.0);
    }
}

/// The image size override: the 384-px tower run on 196-px input, position
/// embeddings interpolated as transformers' `interpolate_pos_encoding` does.
/// Measured on x86: max |difference| 2.1e-5 on values up to 29.8; same bound as above.
#[test]
fn vision_tower_runs_at_another_image_size() {
    let golden = Golden::load("tiny-imp-384");
    let options = imp_core::LoadOptions {
        image_size: Some(196),
        ..Default::default()
    };
    let dir = fixtures().join("tiny-imp-384");
    let model = ImpModel::load_with_progress(
        &imp_core::source::ModelSource::open(&dir).unwrap(),
        &options,
        &mut |_| true,
    )
    .unwrap();
    assert_eq!(model.config().vision.image_size, 196);
    assert_eq!(model.config().vision.num_patches(), 196);
    let features = model
        .vision_features(&photo_pixels(&model, "photo.png"))
        .unwrap();
    assert_close(
        "tiny-imp-384 at 196 px",
        &features,
        golden.tensor("vision_features_at_196"),
        2e-5,
        2e-5,
    );
}

// Picture-ahead: a conversation prefills its opening prompt up to the
// question when it starts (the engine's system prompt KV, then the picture).
// The first question must then run exactly the ids that tokenising its whole
// prompt gives, for every fixture's tokenizer (GPT-2 BPE for Phi-2, Qwen's BPE,
// Phi-3's SentencePiece-style one with its BOS), and answer as the whole
// prompt run in one pass does.

const QUESTIONS: [&str; 6] = [
    "What is in this picture?",
    "",
    "  leading and trailing spaces  ",
    "Zwei Wörter, 日本語 and ✓?",
    "an <image> typed by the user",
    "two\nlines",
];

/// The ids prefilled ahead start every whole opening prompt, the reference
/// tokenizer's included.
#[test]
fn the_prefix_prefilled_ahead_starts_every_opening_prompt() {
    for model in MODELS {
        let engine = Engine::load(&fixtures().join(model), &EngineOptions::default()).unwrap();
        let prefix = engine.system_prefix();
        let image = engine.model().config().image_token_index;
        assert_eq!(prefix.ids.last(), Some(&image), "{model}");
        assert!(
            Golden::load(model)
                .ids("prompt_ids")
                .starts_with(&prefix.ids),
            "{model}: the reference's prompt ids"
        );
        for q in QUESTIONS {
            let whole = engine
                .tokenizer()
                .encode_opening(&engine.template().first_turn(q))
                .unwrap();
            assert!(whole.starts_with(&prefix.ids), "{model}: {q:?}");
            assert!(
                !whole[prefix.ids.len()..].contains(&image),
                "{model}: {q:?}"
            );
        }
    }
}

/// A conversation's cache goes back to the engine when it ends and the next
/// conversation starts in it: that conversation answers exactly as the first
/// did (what the buffers held past the system prompt is never read), and so
/// does one started while another holds the spare (a fresh copy).
#[test]
fn a_conversation_in_a_reused_cache_answers_as_the_first() {
    let photo = std::fs::read(fixtures().join("images/photo.png")).unwrap();
    let params = GenerationParams {
        max_new_tokens: 8,
        logprobs: 1,
        ..Default::default()
    };
    let answer = |conversation: &mut Conversation, question: &str| {
        let mut tokens = Vec::new();
        conversation
            .ask(question, &params, &CancelToken::new(), &mut |t| {
                tokens.push((t.id, t.top_logprobs[0].1.to_bits()))
            })
            .unwrap();
        tokens
    };
    for model in MODELS {
        let engine = Engine::load(&fixtures().join(model), &EngineOptions::default()).unwrap();
        let mut first = Conversation::start(&engine, &photo).unwrap();
        let expected = answer(&mut first, "What is in this picture?");
        answer(&mut first, "And what colour is it, in many words?");
        drop(first);
        let mut reused = Conversation::start(&engine, &photo).unwrap();
        let mut fresh = Conversation::start(&engine, &photo).unwrap();
        assert_eq!(
            answer(&mut reused, "What is in this picture?"),
            expected,
            "{model}"
        );
        assert_eq!(
            answer(&mut fresh, "What is in this picture?"),
            expected,
            "{model}"
        );
    }
}

/// The first answer with the picture prefilled ahead is the answer of the
/// whole prompt in one pass: same greedy tokens, first logits within float
/// rounding (the float path's gemm may add in another order for fewer rows;
/// measured max difference 1e-6 on logits of magnitude ~3).
#[test]
fn asking_after_the_picture_answers_as_the_whole_prompt() {
    let photo = std::fs::read(fixtures().join("images/photo.png")).unwrap();
    for model in MODELS {
        let engine = Engine::load(&fixtures().join(model), &EngineOptions::default()).unwrap();
        let question = "What is in this picture?";
        let params = GenerationParams {
            max_new_tokens: 8,
            logprobs: 1,
            ..Default::default()
        };
        let mut conversation = Conversation::start(&engine, &photo).unwrap();
        let positions = conversation.context_used();
        assert!(
            positions > engine.model().config().vision.num_patches(),
            "{model}"
        );
        let mut ahead = Vec::new();
        conversation
            .ask(question, &params, &CancelToken::new(), &mut |t| {
                ahead.push((t.id, t.top_logprobs[0].1))
            })
            .unwrap();

        // The same prompt in one pass from an empty cache.
        let whole = engine.run(|| {
            let model = engine.model();
            let pre = engine.preprocessor();
            let rgb = imp_core::picture::preprocess::decode_rgb(&photo).unwrap();
            let image = model
                .encode_image(&pre.preprocess_rgb(&rgb, model.device()).unwrap())
                .unwrap();
            let ids = engine
                .tokenizer()
                .encode_opening(&engine.template().first_turn(question))
                .unwrap();
            let mut cache = KvCache::default();
            let mut logits = model
                .forward(&model.embed_prompt(&ids, Some(&image)).unwrap(), &mut cache)
                .unwrap();
            let mut out = Vec::new();
            for _ in 0..8 {
                let values: Vec<f32> = logits.to_vec1().unwrap();
                let id = argmax(&values);
                out.push((id, log_softmax_at(&logits, id)));
                let next: Tensor = model.embed_prompt(&[id], None).unwrap();
                logits = model.forward(&next, &mut cache).unwrap();
            }
            out
        });
        let ids = |v: &[(u32, f32)]| v.iter().map(|p| p.0).collect::<Vec<_>>();
        assert_eq!(ids(&ahead), ids(&whole), "{model}");
        for ((_, a), (_, w)) in ahead.iter().zip(&whole) {
            assert!((a - w).abs() < 1e-4, "{model}: log-probability {a} vs {w}");
        }
    }
}

fn log_softmax_at(logits: &Tensor, id: u32) -> f32 {
    let v: Vec<f32> = logits.to_vec1().unwrap();
    let max = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = v.iter().map(|x| (x - max).exp()).sum();
    v[id as usize] - max - sum.ln()
}
