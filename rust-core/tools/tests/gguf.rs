//! The quantized path: `convert` a float fixture to GGUF, load it, and hold its
//! answers against the float model's on the same prompts.
//!
//! Quality is measured along the float model's greedy path (teacher forcing), so
//! one early disagreement does not derail the rest: at every position we compare
//! the two next-token distributions (top-1 agreement, KL(float || quantized), and
//! the log-probability each gives the float model's choice).

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor};
use imp_core::generation::sampling::argmax;
use imp_core::model::language_model::KvCache;
use imp_core::model::ImpModel;
use imp_core::picture::preprocess::decode_rgb;
use imp_core::text::chat_template::ChatTemplate;
use imp_core::Conversation;
use imp_core::{CancelToken, Engine, EngineOptions, GenerationParams};
use imp_tools::convert::{convert, ConvertOptions, QuantPolicy};
use std::path::{Path, PathBuf};

/// The Phi-2 fixture most tests use; the quality bounds hold for every variant.
const MODEL: &str = "tiny-imp-wide";
const VARIANTS: [&str; 3] = ["tiny-imp-wide", "tiny-imp-qwen2", "tiny-imp-phi3"];
const IMAGES: [&str; 4] = ["photo.png", "large.png", "transparent.png", "grey.png"];

/// The images a fixture is measured on: all four at 196 px; two for the 384-px
/// fixtures, whose 729-patch prompts make each run four times the work (this
/// suite also runs under qemu in CI).
fn images(model: &str) -> &'static [&'static str] {
    if model == MODEL {
        &IMAGES
    } else {
        &["photo.png", "grey.png"]
    }
}
const STEPS: usize = 16;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn convert_fixture(dir: &Path, text: GgmlDType, vision: GgmlDType) -> PathBuf {
    convert_variant(dir, MODEL, text, vision)
}

fn convert_variant(dir: &Path, model: &str, text: GgmlDType, vision: GgmlDType) -> PathBuf {
    let out = dir.join(format!("{model}-{text:?}-{vision:?}.gguf"));
    let options = ConvertOptions {
        policy: QuantPolicy { text, vision },
        name: model.into(),
        llama_cpp: None,
    };
    convert(&fixtures().join(model), &out, &options, &mut |_, _| {}).unwrap();
    out
}

fn prompt_ids(model: &str) -> Vec<u32> {
    let meta = std::fs::read_to_string(fixtures().join(format!("golden/{model}.json"))).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    serde_json::from_value(meta["prompt_ids"].clone()).unwrap()
}

fn log_softmax(logits: &Tensor) -> Vec<f64> {
    let v: Vec<f32> = logits.to_vec1().unwrap();
    let max = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = v.iter().map(|&x| (x as f64 - max).exp()).sum();
    v.iter().map(|&x| x as f64 - max - sum.ln()).collect()
}

/// Next-token log-distributions of `model` for one image at each position of
/// `forced` (the prompt's last position first), or, with no `forced` path, along
/// the model's own greedy choices. Returns the distributions and the path.
fn run(
    model: &ImpModel,
    name: &str,
    image: &str,
    forced: Option<&[u32]>,
) -> (Vec<Vec<f64>>, Vec<u32>) {
    let bytes = std::fs::read(fixtures().join("images").join(image)).unwrap();
    let pre = imp_core::picture::preprocess::ImagePreprocessor {
        image_size: model.config().vision.image_size,
        aspect: model.config().image_aspect_ratio,
    };
    let pixels = pre
        .preprocess_rgb(&decode_rgb(&bytes).unwrap(), &Device::Cpu)
        .unwrap();
    let image = model.encode_image(&pixels).unwrap();
    let mut cache = KvCache::default();
    let mut embeds = model.embed_prompt(&prompt_ids(name), Some(&image)).unwrap();
    let (mut dists, mut path) = (Vec::new(), Vec::new());
    for step in 0..STEPS {
        let dist = log_softmax(&model.forward(&embeds, &mut cache).unwrap());
        let next = match forced {
            Some(p) => p[step],
            None => top(&dist),
        };
        dists.push(dist);
        path.push(next);
        embeds = model.embed_prompt(&[next], None).unwrap();
    }
    (dists, path)
}

fn top(dist: &[f64]) -> u32 {
    argmax(&dist.iter().map(|&x| x as f32).collect::<Vec<_>>())
}

#[derive(Debug, Default)]
struct Agreement {
    positions: usize,
    top1_same: usize,
    kl_sum: f64,
    /// Largest |log p_float(t) - log p_quant(t)| for the float greedy token t.
    max_logprob_diff: f64,
    greedy_same: bool,
    /// Float top-2 margins (nats) where the quantized top-1 differs.
    flipped_margins: Vec<f64>,
}

impl Agreement {
    fn mean_kl(&self) -> f64 {
        self.kl_sum / self.positions as f64
    }
    fn top1(&self) -> f64 {
        self.top1_same as f64 / self.positions as f64
    }
    /// The most decisive float choice the quantized model changed (0 if none).
    fn largest_flipped_margin(&self) -> f64 {
        self.flipped_margins.iter().cloned().fold(0.0, f64::max)
    }
}

/// log p(top-1) - log p(top-2).
fn margin(dist: &[f64]) -> f64 {
    let mut sorted = dist.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted[0] - sorted[1]
}

/// The float model's distributions and greedy path for each image.
fn float_runs(model: &str) -> Vec<(Vec<Vec<f64>>, Vec<u32>)> {
    let float = ImpModel::load(&fixtures().join(model)).unwrap();
    images(model)
        .iter()
        .map(|image| run(&float, model, image, None))
        .collect()
}

fn compare(model: &str, float: &[(Vec<Vec<f64>>, Vec<u32>)], quant: &ImpModel) -> Agreement {
    let mut a = Agreement {
        greedy_same: true,
        ..Default::default()
    };
    for (image, (fd, path)) in images(model).iter().zip(float) {
        let (qd, _) = run(quant, model, image, Some(path));
        for (step, (f, q)) in fd.iter().zip(&qd).enumerate() {
            let chosen = path[step] as usize;
            a.positions += 1;
            a.top1_same += usize::from(top(f) == top(q));
            if top(f) != top(q) {
                a.flipped_margins.push(margin(f));
            }
            a.greedy_same &= top(q) as usize == chosen;
            a.kl_sum += f.iter().zip(q).map(|(p, r)| p.exp() * (p - r)).sum::<f64>();
            a.max_logprob_diff = a.max_logprob_diff.max((f[chosen] - q[chosen]).abs());
        }
    }
    a
}

fn report(name: &str, a: &Agreement) {
    eprintln!(
        "{name}: {} positions, top-1 agreement {:.3}, mean KL {:.2e}, max |dlogp| {:.2e}, \
         greedy same {}, largest flipped margin {:.3}",
        a.positions,
        a.top1(),
        a.mean_kl(),
        a.max_logprob_diff,
        a.greedy_same,
        a.largest_flipped_margin()
    );
}

fn agreement(
    dir: &Path,
    model: &str,
    float: &[(Vec<Vec<f64>>, Vec<u32>)],
    text: GgmlDType,
    vision: GgmlDType,
) -> Agreement {
    let path = convert_variant(dir, model, text, vision);
    let a = compare(model, float, &ImpModel::load(&path).unwrap());
    report(&format!("{model}: text {text:?}, vision {vision:?}"), &a);
    a
}

/// f16 storage of f16 weights holds the same values as the float path, but
/// multiplies them a converted panel of rows at a time (`kernels::dense`)
/// where the float path runs candle's matmul over the whole weight, so the
/// sums run in another order: measured 8.1e-7 (Phi-2) and 1.0e-6 (Qwen) at
/// most on a log-probability. bfloat16 weights (Phi-3) fit f16's mantissa but
/// the smallest ones (under 6e-5) lose bits as f16 subnormals: 1.7e-6 with
/// both effects. Bound 1e-5. q8_0 keeps each weight within half a step of 1/127 of its
/// block's largest: measured on the three variants 0.03-0.039 at most on a
/// log-probability and a mean KL of 1.1-1.6e-4; the bounds leave 2.5x headroom.
/// A log-probability moved by at most 0.1 can only reorder two tokens whose
/// margin is under 0.2 nats, so every float choice more decisive than that must
/// stay (the random Qwen fixture has near-ties: q8_0 flips margins up to 0.007).
#[test]
fn f16_and_q8_0_agree_with_float() {
    let tmp = tempfile::tempdir().unwrap();
    for model in VARIANTS {
        let float = float_runs(model);
        let f16 = agreement(tmp.path(), model, &float, GgmlDType::F16, GgmlDType::F16);
        assert!(f16.max_logprob_diff <= 1e-5, "{model}: {f16:?}");
        assert!(f16.greedy_same, "{model}: {f16:?}");
        // The vision tower is the same in every variant: its q8_0 is measured once.
        let visions: &[GgmlDType] = if model == MODEL {
            &[GgmlDType::F16, GgmlDType::Q8_0]
        } else {
            &[GgmlDType::F16]
        };
        for &vision in visions {
            let a = agreement(tmp.path(), model, &float, GgmlDType::Q8_0, vision);
            assert!(
                a.largest_flipped_margin() < 0.2,
                "{model}: q8_0 (vision {vision:?}) changed a decisive token: {a:?}"
            );
            assert!(a.max_logprob_diff < 0.1, "{model}: {a:?}");
            assert!(a.mean_kl() < 3e-4, "{model}: {a:?}");
        }
    }
}

/// 4-bit quality on random tiny models, whose next-token margins are far
/// thinner than a trained model's. Measured (Phi-2 / Qwen / Phi-3 fixtures):
/// q4_k (q6_k LM head) top-1 agreement 0.83 / 0.84 / 0.72, mean KL 0.009 /
/// 0.012 / 0.015 nats; q4_0 0.73 / 0.97 / 0.84, KL 0.012 / 0.018 / 0.020; the
/// flipped choices all had float margins under 0.41 nats. The bounds catch a broken
/// kernel or block layout (agreement near 1/vocab, KL of several nats, decisive
/// choices flipped) and a large regression, not noise.
#[test]
fn four_bit_quality_is_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    for model in VARIANTS {
        let float = float_runs(model);
        for (dtype, kl) in [(GgmlDType::Q4K, 0.025), (GgmlDType::Q4_0, 0.03)] {
            let a = agreement(tmp.path(), model, &float, dtype, GgmlDType::F16);
            assert!(a.top1() >= 0.6, "{model} {dtype:?}: {a:?}");
            assert!(a.mean_kl() < kl, "{model} {dtype:?}: {a:?}");
            assert!(a.largest_flipped_margin() < 1.0, "{model} {dtype:?}: {a:?}");
        }
        if model == MODEL {
            // The shipped text type with a q8_0 tower (16-bit activations on
            // x86, `kernels::dense_q8`): within the 4-bit text's own budget.
            let a = agreement(tmp.path(), model, &float, GgmlDType::Q4K, GgmlDType::Q8_0);
            assert!(a.top1() >= 0.6, "{model} q4_k, vision q8_0: {a:?}");
            assert!(a.mean_kl() < 0.025, "{model} q4_k, vision q8_0: {a:?}");
            assert!(
                a.largest_flipped_margin() < 1.0,
                "{model} q4_k, vision q8_0: {a:?}"
            );
        }
    }
}

/// A converted file needs nothing beside it: alone in an empty directory, it
/// loads through the engine and answers with the float model's greedy tokens.
#[test]
fn a_converted_file_is_self_sufficient() {
    let tmp = tempfile::tempdir().unwrap();
    let converted = convert_fixture(tmp.path(), GgmlDType::Q8_0, GgmlDType::F16);
    let alone = tempfile::tempdir().unwrap();
    let path = alone.path().join("imp.gguf");
    std::fs::rename(&converted, &path).unwrap();
    assert_eq!(std::fs::read_dir(alone.path()).unwrap().count(), 1);

    let photo = std::fs::read(fixtures().join("images/photo.png")).unwrap();
    let answer = |model: &Path| {
        let engine = Engine::load(model, &EngineOptions::default()).unwrap();
        let mut conversation = Conversation::start(&engine, &photo).unwrap();
        let params = GenerationParams {
            max_new_tokens: 12,
            ..Default::default()
        };
        let mut ids = Vec::new();
        let summary = conversation
            .ask("What is this?", &params, &CancelToken::new(), &mut |t| {
                ids.push(t.id);
            })
            .unwrap();
        (ids, summary.text)
    };
    let (float_ids, float_text) = answer(&fixtures().join(MODEL));
    let (gguf_ids, gguf_text) = answer(&path);
    assert_eq!(gguf_ids, float_ids);
    assert_eq!(gguf_text, float_text);
    let info = imp_core::ModelInfo::inspect(&path, &Default::default()).unwrap();
    assert_eq!(info.weights_dtype, "q8_0");
}

/// Writes a GGUF by hand: `metadata` entries, then `tensors` as (name, dims in
/// GGUF order, type id, offset), then `data`.
fn handmade(
    metadata: &[(&str, u32, Vec<u8>)],
    tensors: &[(&str, &[u64], u32, u64)],
    data: &[u8],
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    b.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend_from_slice(&(s.len() as u64).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    };
    for (key, ty, value) in metadata {
        string(&mut b, key);
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(value);
    }
    for (name, dims, ty, offset) in tensors {
        string(&mut b, name);
        b.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in *dims {
            b.extend_from_slice(&d.to_le_bytes());
        }
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&offset.to_le_bytes());
    }
    b.resize(b.len().div_ceil(32) * 32, 0);
    b.extend_from_slice(data);
    b
}

fn string_value(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

fn load_error(bytes: &[u8]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.gguf");
    std::fs::write(&path, bytes).unwrap();
    match Engine::load(&path, &EngineOptions::default()) {
        Ok(_) => panic!("a bad file loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_and_corrupted_files_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read(convert_fixture(tmp.path(), GgmlDType::Q4K, GgmlDType::F16)).unwrap();

    let half = load_error(&good[..good.len() / 2]);
    assert!(half.contains("past the end of the file"), "{half}");
    let header_only = load_error(&good[..200]);
    assert!(
        header_only.contains("truncated or corrupt"),
        "{header_only}"
    );
    assert!(load_error(&[]).contains("not a GGUF file"));

    let mut bad_magic = good.clone();
    bad_magic[..4].copy_from_slice(b"GGML");
    assert!(load_error(&bad_magic).contains("not a GGUF file"));

    let mut bad_version = good.clone();
    bad_version[4..8].copy_from_slice(&99u32.to_le_bytes());
    assert!(load_error(&bad_version).contains("version 99"));

    // The config travels as JSON: break it and the error names the key.
    let key = b"imp.config";
    let at = good.windows(key.len()).position(|w| w == key).unwrap() + key.len() + 4 + 8;
    let mut bad_config = good.clone();
    bad_config[at] = b'!';
    let e = load_error(&bad_config);
    assert!(e.contains("imp.config"), "{e}");
}

#[test]
fn a_gguf_of_another_architecture_is_named_as_such() {
    let bytes = handmade(
        &[("general.architecture", 8, string_value("llama"))],
        &[("token_embd.weight", &[32, 2], 0, 0)],
        &[0u8; 256],
    );
    let e = load_error(&bytes);
    assert!(
        e.contains("\"llama\"") && e.contains("not an Imp model"),
        "{e}"
    );
}

/// Sizes in the header are checked against the file before anything is
/// allocated: these would ask for exabytes or billions of entries.
#[test]
fn absurd_sizes_are_refused_without_allocating() {
    let arch = [("general.architecture", 8, string_value("imp"))];
    let huge_tensor = handmade(&arch, &[("w", &[1 << 31, 1 << 31], 0, 0)], &[0u8; 64]);
    let e = load_error(&huge_tensor);
    assert!(
        e.contains("past the end") || e.contains("impossible"),
        "{e}"
    );

    let overflow = handmade(&arch, &[("w", &[u64::MAX, 2], 0, 0)], &[]);
    assert!(load_error(&overflow).contains("impossible dimensions"));

    let far_offset = handmade(&arch, &[("w", &[32], 0, u64::MAX - 8)], &[0u8; 128]);
    assert!(load_error(&far_offset).contains("past the end"));

    let long_string = handmade(
        &[(
            "general.architecture",
            8,
            (u64::MAX / 2).to_le_bytes().to_vec(),
        )],
        &[],
        &[],
    );
    assert!(load_error(&long_string).contains("truncated"));

    let mut array = 8u32.to_le_bytes().to_vec();
    array.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let huge_array = handmade(
        &[arch[0].clone(), ("tokenizer.ggml.tokens", 9, array)],
        &[],
        &[],
    );
    assert!(load_error(&huge_array).contains("array of"));

    let mut many = handmade(&arch, &[], &[]);
    many[8..16].copy_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(load_error(&many).contains("more than the file holds"));

    let unknown_type = handmade(&arch, &[("w", &[32], 77, 0)], &[0u8; 128]);
    assert!(load_error(&unknown_type).contains("ggml type 77"));

    let deep = {
        // An array of arrays of ...: no real file nests arrays at all.
        let mut v = Vec::new();
        for _ in 0..8 {
            v.extend_from_slice(&9u32.to_le_bytes());
            v.extend_from_slice(&1u64.to_le_bytes());
        }
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(&0u64.to_le_bytes());
        handmade(&[("x", 9, v)], &[], &[])
    };
    assert!(load_error(&deep).contains("array of arrays"));
}

fn convert_pair(dir: &Path, text: GgmlDType) -> (PathBuf, PathBuf, PathBuf) {
    convert_variant_pair(dir, MODEL, text)
}

fn convert_variant_pair(dir: &Path, model: &str, text: GgmlDType) -> (PathBuf, PathBuf, PathBuf) {
    let paths = ["imp.gguf", "text.gguf", "mmproj.gguf"].map(|n| dir.join(format!("{model}-{n}")));
    let options = ConvertOptions {
        policy: QuantPolicy {
            text,
            vision: GgmlDType::F16,
        },
        name: model.into(),
        llama_cpp: Some((paths[1].clone(), paths[2].clone())),
    };
    convert(&fixtures().join(model), &paths[0], &options, &mut |_, _| {}).unwrap();
    let [imp, text, mmproj] = paths;
    (imp, text, mmproj)
}

/// The 12-token greedy answer about the photo from `model` (with `mmproj` for a
/// llama.cpp pair), and the template the engine chose.
fn pair_answer(model: &Path, mmproj: Option<PathBuf>) -> (Vec<u32>, ChatTemplate) {
    let photo = std::fs::read(fixtures().join("images/photo.png")).unwrap();
    let options = EngineOptions {
        mmproj,
        ..Default::default()
    };
    let engine = Engine::load(model, &options).unwrap();
    let mut conversation = Conversation::start(&engine, &photo).unwrap();
    let params = GenerationParams {
        max_new_tokens: 12,
        ..Default::default()
    };
    let mut ids = Vec::new();
    conversation
        .ask("What is this?", &params, &CancelToken::new(), &mut |t| {
            ids.push(t.id)
        })
        .unwrap();
    (ids, engine.template())
}

/// The llama.cpp pair loads (`--model text.gguf --mmproj mmproj.gguf`) and gives
/// the float model's greedy answer at q8_0, as the single Imp file does.
#[test]
fn llama_cpp_pair_loads_and_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, text, mmproj) = convert_pair(tmp.path(), GgmlDType::Q8_0);
    let answer = |model: &Path, mmproj: Option<PathBuf>| pair_answer(model, mmproj).0;
    assert_eq!(
        answer(&text, Some(mmproj.clone())),
        answer(&fixtures().join(MODEL), None)
    );
    // Swapped files are named for what they are.
    let e = Engine::load(
        &mmproj,
        &EngineOptions {
            mmproj: Some(text.clone()),
            ..Default::default()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("\"clip\"") && e.contains("\"phi2\""), "{e}");
    // The text file alone is not an Imp model.
    let e = Engine::load(&text, &EngineOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("mmproj"), "{e}");
}

/// A mapped pair is read into memory as it loads: progress rises per file
/// read (text, then mmproj), through the model's layers, to 1.0 once the
/// system prompt has run; cancelling during the reading stops the load.
#[test]
fn loading_a_mapped_pair_reports_its_reading_and_can_be_cancelled() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, text, mmproj) = convert_pair(tmp.path(), GgmlDType::Q8_0);
    let options = EngineOptions {
        mmproj: Some(mmproj.clone()),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let engine = Engine::load_with_progress(&text, &options, &mut |f| {
        seen.push(f);
        true
    })
    .unwrap();
    let text_share = std::fs::metadata(&text).unwrap().len() as f32
        / (std::fs::metadata(&text).unwrap().len() + std::fs::metadata(&mmproj).unwrap().len())
            as f32;
    assert!((seen[0] - 0.9 * text_share).abs() < 1e-6, "{seen:?}");
    assert_eq!(seen[1], 0.9, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(*seen.last().unwrap(), 1.0);
    assert!(!engine.system_prefix().ids.is_empty());

    let mut calls = 0;
    let err = Engine::load_with_progress(&text, &options, &mut |_| {
        calls += 1;
        false
    })
    .err()
    .unwrap();
    assert!(matches!(err, imp_core::ImpError::Cancelled), "{err}");
    assert_eq!(calls, 1, "stopped at the first file read");
}

/// Files from other tools carry only ggml's token arrays: the tokenizer rebuilt
/// from them encodes the reference's probes to the reference's ids.
#[test]
fn tokenizer_rebuilt_from_ggml_arrays_matches_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, text, _) = convert_pair(tmp.path(), GgmlDType::Q4K);
    let file = imp_core::weights::gguf::GgufFile::open(&text).unwrap();
    let tokenizer = imp_core::text::tokenizer::ImpTokenizer::from_gguf_arrays(&file).unwrap();
    let meta = std::fs::read_to_string(fixtures().join(format!("golden/{MODEL}.json"))).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    let probes = meta["tokenizer"].as_object().unwrap();
    assert!(probes.len() >= 4);
    for (text, ids) in probes {
        let want: Vec<u32> = serde_json::from_value(ids.clone()).unwrap();
        assert_eq!(tokenizer.encode(text).unwrap(), want, "{text:?}");
    }
}

/// tests/fixtures/golden/llama-cpp-pair.json is what llama.cpp's own reader and
/// name tables (`gguf` 0.19.0, tests/llama_cpp/check_pair.py) accepted from this
/// conversion (q4_k, vision f16). The converter must still write exactly those
/// tensors (names, GGUF-order shapes, types) and keys.
#[test]
fn llama_cpp_pair_matches_the_checked_summary() {
    let tmp = tempfile::tempdir().unwrap();
    for (model, golden) in [
        (MODEL, "llama-cpp-pair.json"),
        ("tiny-imp-qwen2", "llama-cpp-pair-qwen2.json"),
        ("tiny-imp-phi3", "llama-cpp-pair-phi3.json"),
    ] {
        let (_, text, mmproj) = convert_variant_pair(tmp.path(), model, GgmlDType::Q4K);
        let summary = std::fs::read_to_string(fixtures().join("golden").join(golden)).unwrap();
        let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
        assert_pair_summary(&summary, &text, &mmproj);
    }
}

fn assert_pair_summary(summary: &serde_json::Value, text: &Path, mmproj: &Path) {
    for (part, path) in [("text", text), ("mmproj", mmproj)] {
        let file = imp_core::weights::gguf::GgufFile::open(path).unwrap();
        let checked = &summary[part];
        assert_eq!(
            file.string("general.architecture").unwrap(),
            checked["architecture"].as_str().unwrap()
        );
        let expected = checked["tensors"].as_array().unwrap();
        assert_eq!(file.tensors.len(), expected.len(), "{part}");
        for t in expected {
            let name = t["name"].as_str().unwrap();
            let info = file
                .tensors
                .get(name)
                .unwrap_or_else(|| panic!("{part}: {name}"));
            let mut shape: Vec<u64> = info.shape.dims().iter().map(|&d| d as u64).collect();
            shape.reverse();
            let want: Vec<u64> = serde_json::from_value(t["shape"].clone()).unwrap();
            assert_eq!(shape, want, "{name}");
            let ty = imp_core::weights::gguf::dtype_name(info.dtype).to_uppercase();
            assert_eq!(ty, t["type"].as_str().unwrap(), "{name}");
        }
        for key in checked["keys"].as_object().unwrap().keys() {
            assert!(file.get(key).is_some(), "{part}: {key}");
        }
    }
}

/// The Qwen2 and Phi-3 pairs (`qwen2` / `phi3` text file + mmproj) load and
/// answer as the float checkpoint does (f16: the numbers are the float path's).
#[test]
fn qwen2_and_phi3_llama_cpp_pairs_answer_as_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    for model in ["tiny-imp-qwen2", "tiny-imp-phi3"] {
        let (_, text, mmproj) = convert_variant_pair(tmp.path(), model, GgmlDType::F16);
        let answer = pair_answer;
        let (pair_ids, pair_template) = answer(&text, Some(mmproj));
        let (float_ids, float_template) = answer(&fixtures().join(model), None);
        assert_eq!(pair_ids, float_ids, "{model}");
        assert_eq!(pair_template, float_template, "{model}");
    }
}
