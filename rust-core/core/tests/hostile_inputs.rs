//! Inputs built to hurt: decompression bombs (small files claiming more pixels
//! than the decoder's limits allow) and pictures that would make
//! preprocessing allocate far more than they hold, with the heap measured by
//! a counting allocator; and inputs the fuzzers found (see rust-core/fuzz),
//! each kept here as a regression test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use candle_core::Device;
use imp_core::config::AspectMode;
use imp_core::picture::preprocess::{decode_rgb, ImagePreprocessor};
use imp_core::picture::resample::{pad_to_square, resize_bicubic, resize_padded_square, Rgb8};
use imp_core::ImpError;

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator with the caller's
// arguments; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` came from `System` through this allocator, with `layout`.
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and the caller's `new_size` contract.
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
            let live = LIVE.fetch_add(new_size, Ordering::SeqCst) + new_size;
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the tests of this file share the counters.
static MEASURING: Mutex<()> = Mutex::new(());

/// Runs `f` and returns its result with the heap it added at its peak.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst) - base)
}

const MB: usize = 1 << 20;

fn seed(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds/image")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every bomb in the image seeds is refused as an unusable picture before the
/// decoder reserves its claimed size: a few MB at most.
#[test]
fn decompression_bombs_are_refused_before_allocating() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/image");
    let mut bombs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("bomb-"))
        .collect();
    bombs.sort();
    assert!(bombs.len() >= 6, "{bombs:?}");
    for name in bombs {
        let bytes = seed(&name);
        assert!(bytes.len() < 1024, "{name}: a bomb is a small file");
        let (result, peak) = peak_heap(|| decode_rgb(&bytes));
        match result {
            Err(ImpError::InvalidImage(_)) => {}
            Err(e) => panic!("{name}: {e}"),
            Ok(rgb) => panic!("{name}: decoded as {}x{}", rgb.width, rgb.height),
        }
        assert!(peak < 4 * MB, "{name}: {} MB allocated", peak / MB);
    }
}

fn png(img: image::DynamicImage) -> Vec<u8> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut bytes = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Sub);
    img.write_with_encoder(encoder).unwrap();
    bytes
}

/// A picture the limits allow never costs more than its decoded pixels plus
/// the model-sized buffers: a transparent picture is composited in place, and
/// padding a strip to a square (Phi-3's `pad`) does not build the square.
#[test]
fn preprocessing_does_not_multiply_the_decoded_picture() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    // 1024 x 1024 RGBA: 4 MiB decoded, 3 MiB as RGB.
    let rgba = image::RgbaImage::from_fn(1024, 1024, |x, y| {
        image::Rgba([x as u8, y as u8, (x ^ y) as u8, (x + y) as u8])
    });
    let bytes = png(rgba.into());
    let (rgb, peak) = peak_heap(|| decode_rgb(&bytes).unwrap());
    assert_eq!((rgb.width, rgb.height), (1024, 1024));
    // The decoded picture and the PNG decoder's own buffers (about 0.9 MiB);
    // compositing into a second buffer would add 3 MiB or more.
    assert!(peak <= 5 * MB + MB / 2, "{} KiB to decode", peak >> 10);
    drop(rgb);

    // A 4096 x 1 strip: 12 KiB of pixels, a 48 MiB square once padded (at
    // the side limit, 16384 x 1 would make 805 MB).
    let strip = image::RgbImage::from_fn(4096, 1, |x, _| image::Rgb([x as u8, 7, 200]));
    let bytes = png(strip.into());
    assert!(bytes.len() < 16 * 1024);
    for aspect in [AspectMode::Pad, AspectMode::Squash] {
        let pre = ImagePreprocessor {
            image_size: 196,
            aspect,
        };
        let (pixels, peak) = peak_heap(|| pre.preprocess_bytes(&bytes, &Device::Cpu).unwrap());
        assert_eq!(pixels.dims(), [3, 196, 196]);
        assert!(peak < 4 * MB, "{aspect:?}: {} MB", peak / MB);
    }
}

/// The padded resize equals resizing the padded square, which it never makes.
#[test]
fn padding_without_the_square_is_exact() {
    let wide = Rgb8 {
        width: 90,
        height: 5,
        data: (0..90 * 5 * 3).map(|i| (i * 37 % 251) as u8).collect(),
    };
    let tall = Rgb8 {
        width: 4,
        height: 61,
        data: (0..4 * 61 * 3).map(|i| (i * 53 % 241) as u8).collect(),
    };
    // Shrunk, kept and enlarged squares.
    for (picture, size) in [
        (&wide, 37),
        (&wide, 90),
        (&wide, 131),
        (&tall, 20),
        (&tall, 61),
    ] {
        for fill in [127, 255] {
            let want = resize_bicubic(&pad_to_square(picture, fill), size, size);
            assert!(resize_padded_square(picture, fill, size) == want, "{size}");
        }
    }
}

/// The headroom estimates (`model::headroom`) are upper bounds of what a step
/// holds at once, so reserving them before the step makes running out of
/// memory an error: checked on the float path of a fixture, prompt and decode
/// steps, with and without the KV cache growing, and the vision tower.
#[test]
fn headroom_estimates_cover_what_each_step_allocates() {
    use imp_core::model::headroom::{forward_bytes, vision_bytes};
    use imp_core::model::language_model::KvCache;
    use imp_core::model::ImpModel;
    // What a step allocates whatever its size (candle's small tensors; about
    // 70 KiB), left out of the estimates.
    const FIXED: usize = 256 << 10;
    // Once per thread, on its first matmul, the `gemm` crate allocates
    // packing buffers it sizes from the CPU's caches and keeps (1.1 MB
    // measured on a 1 MiB-L2 Zen 4 core, 3.7 MB on a 2 MiB-L2 Intel Xeon
    // one). A fresh model's first picture pays them: they must fit in
    // the slack `headroom::ensure` adds for the tower's rows.
    use imp_core::model::headroom::slack;
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-imp-196-msft");
    let model = ImpModel::load(&dir).unwrap();
    let config = model.config().clone();
    let photo = std::fs::read(dir.join("../images/photo.png")).unwrap();
    let pre = ImagePreprocessor {
        image_size: config.vision.image_size,
        aspect: config.image_aspect_ratio,
    };
    let pixels = pre.preprocess_bytes(&photo, &Device::Cpu).unwrap();
    let encode = || {
        peak_heap(|| {
            let features = model.vision_features(&pixels).unwrap();
            model.project(&features).unwrap()
        })
    };
    let estimate = vision_bytes(&config) as usize;
    let (_, first) = encode();
    let first_slack = slack(config.vision.num_patches()) as usize;
    assert!(
        first <= estimate + first_slack,
        "first vision pass: {first} bytes, estimated {estimate} + {first_slack} slack"
    );
    let (image, peak) = encode();
    assert!(
        peak <= estimate + FIXED,
        "vision: {peak} bytes, estimated {estimate}"
    );

    let mut cache = KvCache::default();
    let lm = model.language_model();
    // The image's 196 positions and a prompt, then decode steps: the cache
    // grows from nothing, at 256 and at 512 positions.
    let mut steps = vec![
        (model
            .embed_prompt(&[1, 2, config.image_token_index, 3], Some(&image))
            .unwrap()),
    ];
    let token = model.embed_prompt(&[5], None).unwrap();
    let prompt = model.embed_prompt(&[7; 100], None).unwrap();
    steps.extend([
        token.clone(),
        prompt.clone(),
        prompt.clone(),
        token.clone(),
        prompt,
        token,
    ]);
    for embeds in steps {
        let (past, seq) = (cache.len(), embeds.dim(0).unwrap());
        let (_, peak) = peak_heap(|| lm.forward_embeds(&embeds, &mut cache).unwrap());
        let estimate = forward_bytes(&config, past, seq) as usize;
        assert!(
            peak <= estimate + FIXED,
            "{seq} positions after {past}: {peak} bytes, estimated {estimate}"
        );
    }
}

/// Found by the gguf fuzz target: a tokenizer.json (here inside a GGUF) whose
/// `decoder` section is not valid JSON made tokenizers 0.22 panic
/// (`expect("Helper")` in its decoder's deserializer) instead of failing.
#[test]
fn a_malformed_tokenizer_json_is_an_error_not_a_panic() {
    use imp_core::text::tokenizer::ImpTokenizer;
    let json = r#"{"version": "1.0", "decoder": {"type": "ByteLevel\q"}}"#;
    let err = ImpTokenizer::from_json(json).err().expect("must not load");
    assert!(matches!(err, ImpError::Tokenizer(_)), "{err}");
    // The same file in a checkpoint directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), json).unwrap();
    let err = ImpTokenizer::from_dir(dir.path())
        .err()
        .expect("must not load");
    assert!(matches!(err, ImpError::Tokenizer(_)), "{err}");
}

/// Found by the tokenizer fuzz target: tokenizers 0.22's Strip decoder with
/// `stop` > 0 subtracts past a token's start when the token is shorter than
/// `stop` (an overflow panic, or an out-of-bounds index in release builds),
/// so such a decoder, alone or inside a Sequence, is refused at load.
#[test]
fn a_strip_decoder_that_strips_from_the_end_is_refused() {
    use imp_core::text::tokenizer::ImpTokenizer;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-imp-phi3");
    let text = std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    ImpTokenizer::from_json(&text).expect("the fixture loads as it is");
    let strip = serde_json::json!({"type": "Strip", "content": "\u{2581}", "start": 0, "stop": 2});
    for decoder in [
        strip.clone(),
        serde_json::json!({"type": "Sequence", "decoders": [{"type": "Fuse"}, strip]}),
    ] {
        json["decoder"] = decoder;
        let err = ImpTokenizer::from_json(&json.to_string())
            .err()
            .expect("must not load");
        assert!(
            matches!(&err, ImpError::Tokenizer(m) if m.contains("Strip")),
            "{err}"
        );
    }
}

/// Found by the tokenizer fuzz target (CI, one flipped bit): tokenizers 0.22
/// reads a TemplateProcessing without validating it, and its `encode` then
/// panics on a template piece naming a special token the processor does not
/// define, or on a single-sequence template that places sequence B. Both are
/// refused at load, also inside a Sequence processor and under a misspelt
/// `type` (tokenizers reads post-processors untagged, so it still becomes a
/// template).
#[test]
fn a_post_processor_template_that_would_panic_in_encode_is_refused() {
    use imp_core::text::tokenizer::ImpTokenizer;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-imp-phi3");
    let text = std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    ImpTokenizer::from_json(&text)
        .expect("the fixture loads as it is")
        .encode_opening("hi")
        .expect("and encodes with its template");
    let template = fixture["post_processor"].clone();
    type Edit = fn(&mut serde_json::Value);
    let broken: [(&str, Edit); 4] = [
        ("single", |t| {
            t["single"][0]["SpecialToken"]["id"] = "<r>".into()
        }),
        ("pair", |t| {
            t["pair"][2]["SpecialToken"]["id"] = "<r>".into()
        }),
        ("second sequence", |t| {
            t["single"][1]["Sequence"]["id"] = "B".into()
        }),
        ("single", |t| {
            t["type"] = "TemplateProcessinf".into();
            t["single"][0]["SpecialToken"]["id"] = "<r>".into();
        }),
    ];
    for (says, breaks) in broken {
        let mut processor = template.clone();
        breaks(&mut processor);
        let sequence = serde_json::json!({"type": "Sequence", "processors": [processor.clone()]});
        for post_processor in [processor, sequence] {
            let mut json = fixture.clone();
            json["post_processor"] = post_processor;
            let err = ImpTokenizer::from_json(&json.to_string())
                .err()
                .expect("must not load");
            assert!(
                matches!(&err, ImpError::Tokenizer(m) if m.contains(says)),
                "{says}: {err}"
            );
        }
    }
}

/// A GGUF v3 file without tensors: `general.architecture = "imp"`, then
/// `entries` (key, type id, value bytes) as the file stores them.
fn gguf_metadata_only(entries: &[(&str, u32, Vec<u8>)]) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64 + 1).to_le_bytes());
    string(&mut out, "general.architecture");
    out.extend_from_slice(&8u32.to_le_bytes());
    string(&mut out, "imp");
    for (key, type_id, value) in entries {
        string(&mut out, key);
        out.extend_from_slice(&type_id.to_le_bytes());
        out.extend_from_slice(value);
    }
    out
}

/// An array value: item type, count, then the items' bytes.
fn array(item_type: u32, count: usize, items: impl IntoIterator<Item = u8>) -> Vec<u8> {
    let mut out = item_type.to_le_bytes().to_vec();
    out.extend_from_slice(&(count as u64).to_le_bytes());
    out.extend(items);
    out
}

/// Crafted metadata costs about its own size in memory, not many times it
/// (one `Value` of 32 bytes an item once made 16 MiB of one-byte items cost
/// 546 MB, and 4 Mi empty strings in 32 MiB cost 169 MB), and the file is
/// refused with a clear error. The whole load is measured, as a phone would
/// run it. Arrays are held as their own type and strings in one buffer sized
/// first, so 1.25 x the file (plus 1 MiB for the rest of the load) is room to
/// spare; an arrays-of-arrays file and millions of tiny entries are refused
/// before anything is read into memory.
#[test]
fn crafted_metadata_costs_about_its_size_and_is_refused() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let n = 16 * MB;
    let strings = 4 * MB;
    let short = 16 * MB / 9;
    let entry = |i: usize| {
        let mut e = format!("k{i:07}").into_bytes();
        e.splice(0..0, (8u64).to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        e.push(0);
        e
    };
    let mut many = b"GGUF".to_vec();
    many.extend_from_slice(&3u32.to_le_bytes());
    many.extend_from_slice(&0u64.to_le_bytes());
    many.extend_from_slice(&(MB as u64).to_le_bytes());
    (0..MB).for_each(|i| many.extend(entry(i)));
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "one-byte items",
            gguf_metadata_only(&[("tokenizer.ggml.token_type", 9, array(0, n, vec![7; n]))]),
        ),
        (
            "empty strings",
            gguf_metadata_only(&[(
                "tokenizer.ggml.tokens",
                9,
                array(8, strings, vec![0; strings * 8]),
            )]),
        ),
        (
            "one-byte strings",
            gguf_metadata_only(&[(
                "tokenizer.ggml.merges",
                9,
                array(
                    8,
                    short,
                    (0..short).flat_map(|_| [1, 0, 0, 0, 0, 0, 0, 0, b'a']),
                ),
            )]),
        ),
        (
            "arrays of arrays",
            gguf_metadata_only(&[("x.nested", 9, array(9, n / 12, vec![0; n / 12 * 12]))]),
        ),
        ("a million entries", many),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes) in files {
        let path = dir.path().join("crafted.gguf");
        std::fs::write(&path, &bytes).unwrap();
        let (result, peak) =
            peak_heap(|| imp_core::Engine::load(&path, &imp_core::EngineOptions::default()).err());
        let error = result.unwrap_or_else(|| panic!("{what}: loaded"));
        eprintln!(
            "{what}: {} MiB file, {:.2} MiB at peak: {error}",
            bytes.len() / MB,
            peak as f64 / MB as f64
        );
        assert!(
            matches!(
                error,
                ImpError::InvalidModel(_) | ImpError::UnsupportedModel(_)
            ),
            "{what}: {error:?}"
        );
        assert!(
            peak <= bytes.len() * 5 / 4 + MB,
            "{what}: {} MiB for a {} MiB file",
            peak / MB,
            bytes.len() / MB
        );
    }
}

/// The same refusal as the whole process sees it: the peak resident memory
/// (VmHWM, which counts the mapped file's pages too) of a process that loads
/// the 16 MiB one-byte-items file, less that of one loading a 16-byte file,
/// stays within three times the file. Each load runs in a fresh child of this
/// test binary (`metadata_rss_child`), so nothing else this process did is
/// counted. Before arrays were kept compact this was 546 MB.
#[cfg(target_os = "linux")]
#[test]
fn crafted_metadata_keeps_the_process_small() {
    let n = 16 * MB;
    let dir = tempfile::tempdir().unwrap();
    let crafted = dir.path().join("crafted.gguf");
    let bytes = gguf_metadata_only(&[("tokenizer.ggml.token_type", 9, array(0, n, vec![7; n]))]);
    std::fs::write(&crafted, &bytes).unwrap();
    let tiny = dir.path().join("tiny.gguf");
    std::fs::write(&tiny, b"GGUF\x03\0\0\0\0\0\0\0\0\0\0\0").unwrap();

    let baseline = peak_rss_loading(&tiny);
    let peak = peak_rss_loading(&crafted);
    let grown = peak.saturating_sub(baseline);
    eprintln!(
        "{} MiB file: peak RSS {} MiB, {} MiB over a 16-byte file's",
        bytes.len() / MB,
        peak / MB,
        grown / MB
    );
    assert!(
        grown <= 3 * bytes.len(),
        "{} MiB for a {} MiB file",
        grown / MB,
        bytes.len() / MB
    );
}

/// Loads `path` in a child process; returns its peak resident bytes. Under
/// an emulator (tests/aarch64.sh runs this binary in qemu-user) the child is
/// started through the same runner, named by `IMP_TEST_RUNNER`.
#[cfg(target_os = "linux")]
fn peak_rss_loading(path: &std::path::Path) -> usize {
    let exe = std::env::current_exe().unwrap();
    let runner = std::env::var("IMP_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut command = std::process::Command::new(program);
            command.args(words).arg(&exe);
            command
        }
        None => std::process::Command::new(&exe),
    };
    let output = command
        .args([
            "--exact",
            "metadata_rss_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("IMP_RSS_MODEL", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}\n{stdout}", output.status);
    let kib: usize = stdout
        .lines()
        .find_map(|l| l.split_once("peak-rss-kib ").map(|(_, kib)| kib))
        .unwrap_or_else(|| panic!("the child did not report: {stdout}"))
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// The child's side of `crafted_metadata_keeps_the_process_small`: the load
/// must fail, then the process's peak resident set is printed. Run alone it
/// has nothing to load and does nothing.
#[cfg(target_os = "linux")]
#[test]
fn metadata_rss_child() {
    let Some(path) = std::env::var_os("IMP_RSS_MODEL") else {
        return;
    };
    let loaded = imp_core::Engine::load(
        std::path::Path::new(&path),
        &imp_core::EngineOptions::default(),
    );
    assert!(loaded.is_err(), "a crafted file loaded");
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .expect("VmHWM in /proc/self/status")
        .trim()
        .trim_end_matches("kB")
        .trim();
    println!("peak-rss-kib {kib}");
}

/// A key given twice is refused: which of the two a reader keeps is not
/// something a file may leave open.
#[test]
fn a_metadata_key_given_twice_is_refused() {
    let bytes = gguf_metadata_only(&[(
        "general.architecture",
        8,
        [3u64.to_le_bytes().as_slice(), b"phi"].concat(),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twice.gguf");
    std::fs::write(&path, bytes).unwrap();
    let error = imp_core::weights::gguf::GgufFile::open(&path).unwrap_err();
    assert!(error.to_string().contains("appears twice"), "{error}");
}
