//! Every kind of damage a model file can carry, as ggml's `test-gguf` makes
//! them: each header field, each count and length, tensor dimensions, types
//! and offsets, the alignment, truncation at every section boundary, and
//! random bytes, applied to valid files (an Imp GGUF, a llama.cpp text and
//! mmproj pair, a safetensors checkpoint) and loaded as the engine loads
//! them. The bar: an error or a working model, never a panic.
//!
//! The random part's seed changes every run and is printed; a failure names
//! it, and `IMP_CORRUPTION_SEED=<seed>` runs the same cases again.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use candle_core::quantized::GgmlDType;
use imp_core::{Engine, EngineOptions};
use imp_tools::convert::{convert, ConvertOptions, QuantPolicy};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn seed() -> u64 {
    let seed = std::env::var("IMP_CORRUPTION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("corruption seed {seed} (IMP_CORRUPTION_SEED={seed} repeats it)");
    seed
}

/// Where each part of a GGUF file starts, read independently of the reader
/// under test.
#[derive(Debug, Default)]
struct Layout {
    /// Per metadata entry: start of the key's length, of the value type, of
    /// the value; and for arrays, where the count is.
    entries: Vec<Entry>,
    /// Per tensor: start of the name's length, of n_dims, of each dim, of the
    /// type, of the offset.
    tensors: Vec<TensorField>,
    data_start: usize,
}

#[derive(Debug)]
struct Entry {
    start: usize,
    type_at: usize,
    value_at: usize,
    value_type: u32,
}

#[derive(Debug)]
struct TensorField {
    start: usize,
    n_dims_at: usize,
    dims_at: Vec<usize>,
    type_at: usize,
    offset_at: usize,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn skip_value(b: &[u8], at: usize, value_type: u32) -> usize {
    match value_type {
        0 | 1 | 7 => at + 1,
        2 | 3 => at + 2,
        4..=6 => at + 4,
        10..=12 => at + 8,
        8 => at + 8 + u64_at(b, at) as usize,
        9 => {
            let item = u32_at(b, at);
            let count = u64_at(b, at + 4);
            (0..count).fold(at + 12, |p, _| skip_value(b, p, item))
        }
        t => panic!("the valid file has type {t}"),
    }
}

fn layout(b: &[u8]) -> Layout {
    let (n_tensors, n_kv) = (u64_at(b, 8), u64_at(b, 16));
    let mut at = 24;
    let mut l = Layout::default();
    for _ in 0..n_kv {
        let start = at;
        let type_at = at + 8 + u64_at(b, at) as usize;
        let value_type = u32_at(b, type_at);
        let value_at = type_at + 4;
        at = skip_value(b, value_at, value_type);
        l.entries.push(Entry {
            start,
            type_at,
            value_at,
            value_type,
        });
    }
    for _ in 0..n_tensors {
        let start = at;
        let n_dims_at = at + 8 + u64_at(b, at) as usize;
        let n_dims = u32_at(b, n_dims_at) as usize;
        let dims_at: Vec<usize> = (0..n_dims).map(|d| n_dims_at + 4 + 8 * d).collect();
        let type_at = n_dims_at + 4 + 8 * n_dims;
        let offset_at = type_at + 4;
        at = offset_at + 8;
        l.tensors.push(TensorField {
            start,
            n_dims_at,
            dims_at,
            type_at,
            offset_at,
        });
    }
    l.data_start = at.div_ceil(32) * 32;
    l
}

/// One damaged copy of a file: what was done, and the bytes.
type Case = (String, Vec<u8>);

fn put_u32(b: &[u8], at: usize, v: u32) -> Vec<u8> {
    let mut c = b.to_vec();
    c[at..at + 4].copy_from_slice(&v.to_le_bytes());
    c
}

fn put_u64(b: &[u8], at: usize, v: u64) -> Vec<u8> {
    let mut c = b.to_vec();
    c[at..at + 8].copy_from_slice(&v.to_le_bytes());
    c
}

/// The systematic cases for a valid GGUF `b`, and `random` byte flips drawn
/// from `rng`.
fn gguf_cases(b: &[u8], rng: &mut StdRng, random: usize) -> Vec<Case> {
    let l = layout(b);
    let mut cases: Vec<Case> = Vec::new();
    let counts = [0u64, 1, 255, 1 << 31, 1 << 40, u64::MAX];
    // The header's fields.
    cases.push(("magic".into(), put_u32(b, 0, 0x4655_4748)));
    for v in [0u32, 1, 4, u32::MAX] {
        cases.push((format!("version {v}"), put_u32(b, 4, v)));
    }
    for (field, at) in [("tensor count", 8), ("metadata count", 16)] {
        let real = u64_at(b, at);
        for v in counts.iter().copied().chain([real - 1, real + 1]) {
            cases.push((format!("{field} {v}"), put_u64(b, at, v)));
        }
    }
    // Truncation at every section boundary, and one byte into each.
    let mut bounds: Vec<usize> = vec![0, 4, 8, 16, 24, l.data_start, b.len() - 1];
    bounds.extend(
        l.entries
            .iter()
            .flat_map(|e| [e.start, e.type_at, e.value_at]),
    );
    bounds.extend(
        l.tensors
            .iter()
            .flat_map(|t| [t.start, t.n_dims_at, t.type_at, t.offset_at]),
    );
    for at in bounds.iter().flat_map(|&at| [at, at + 1]) {
        if at < b.len() {
            cases.push((format!("truncated at {at}"), b[..at].to_vec()));
        }
    }
    // Each metadata entry: key length, value type, string lengths, array
    // counts and item types.
    for (i, e) in l.entries.iter().enumerate() {
        for v in [0u64, u64_at(b, e.start) + 1, 1 << 40, u64::MAX] {
            cases.push((format!("entry {i} key length {v}"), put_u64(b, e.start, v)));
        }
        for t in [9u32, 13, 99, if e.value_type == 8 { 4 } else { 8 }] {
            cases.push((format!("entry {i} type {t}"), put_u32(b, e.type_at, t)));
        }
        match e.value_type {
            8 => {
                for v in [u64_at(b, e.value_at) + 1, 1 << 40, u64::MAX] {
                    cases.push((
                        format!("entry {i} string length {v}"),
                        put_u64(b, e.value_at, v),
                    ));
                }
            }
            9 => {
                for t in [9u32, 13, 0] {
                    cases.push((
                        format!("entry {i} item type {t}"),
                        put_u32(b, e.value_at, t),
                    ));
                }
                for v in [u64_at(b, e.value_at + 4) + 1, 1 << 40, u64::MAX] {
                    cases.push((
                        format!("entry {i} array count {v}"),
                        put_u64(b, e.value_at + 4, v),
                    ));
                }
            }
            _ => {}
        }
    }
    // Each tensor: dimensions, type, offset.
    for (i, t) in l.tensors.iter().enumerate() {
        for n in [0u32, 5, u32::MAX] {
            cases.push((format!("tensor {i} n_dims {n}"), put_u32(b, t.n_dims_at, n)));
        }
        for (d, &at) in t.dims_at.iter().enumerate() {
            for v in [0u64, 1, u64_at(b, at) + 1, 1 << 33, u64::MAX] {
                cases.push((format!("tensor {i} dim {d} = {v}"), put_u64(b, at, v)));
            }
        }
        for ty in [0u32, 1, 8, 12, 14, 39, 99] {
            cases.push((format!("tensor {i} type {ty}"), put_u32(b, t.type_at, ty)));
        }
        let offset = u64_at(b, t.offset_at);
        for v in [
            offset + 1,
            offset + 32,
            b.len() as u64,
            u64::MAX,
            u64::MAX - 31,
        ] {
            cases.push((format!("tensor {i} offset {v}"), put_u64(b, t.offset_at, v)));
        }
    }
    // Random bytes anywhere before the data, and in it.
    for n in 0..random {
        let mut c = b.to_vec();
        let end = if n % 4 == 0 { c.len() } else { l.data_start };
        for _ in 0..rng.random_range(1..=4) {
            let at = rng.random_range(0..end);
            c[at] = rng.random();
        }
        cases.push((format!("random {n}"), c));
    }
    cases
}

/// Loads each case as `load` does; a panic is a failure named by its case.
fn check(
    what: &str,
    seed: u64,
    cases: Vec<Case>,
    load: impl Fn(&[u8]) -> imp_core::Result<Engine>,
) {
    let (mut refused, mut loaded) = (0, 0);
    let count = cases.len();
    for (case, bytes) in cases {
        match catch_unwind(AssertUnwindSafe(|| load(&bytes))) {
            Ok(Err(e)) => {
                assert!(!e.to_string().is_empty(), "{what}, {case}: an empty error");
                refused += 1;
            }
            Ok(Ok(_)) => loaded += 1,
            Err(_) => panic!("{what}, {case} (seed {seed}): the load panicked"),
        }
    }
    eprintln!("{what}: {count} damaged files, {refused} refused, {loaded} still loaded");
    assert!(refused > count / 2, "{what}: most damage went unnoticed");
}

fn q4(pair: Option<(PathBuf, PathBuf)>) -> ConvertOptions {
    ConvertOptions {
        policy: QuantPolicy {
            text: GgmlDType::Q4_0,
            vision: GgmlDType::Q4_0,
        },
        name: "corruption".into(),
        llama_cpp: pair,
    }
}

#[test]
fn damaged_gguf_files_are_refused_or_load() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let (imp, text, mmproj) = (
        dir.path().join("imp.gguf"),
        dir.path().join("text.gguf"),
        dir.path().join("mmproj.gguf"),
    );
    let pair = Some((text.clone(), mmproj.clone()));
    convert(
        &fixture("tiny-imp-196-msft"),
        &imp,
        &q4(pair),
        &mut |_, _| {},
    )
    .unwrap();
    let options = EngineOptions {
        threads: Some(1),
        ..Default::default()
    };
    let scratch = dir.path().join("damaged.gguf");
    let load = |bytes: &[u8]| {
        std::fs::write(&scratch, bytes).unwrap();
        Engine::load(&scratch, &options)
    };
    check(
        "Imp GGUF",
        seed,
        gguf_cases(&std::fs::read(&imp).unwrap(), &mut rng, 200),
        load,
    );

    // The pair: each file damaged while the other stays whole.
    for (damaged, whole) in [(&text, &mmproj), (&mmproj, &text)] {
        let bytes = std::fs::read(damaged).unwrap();
        let load = |bytes: &[u8]| {
            std::fs::write(&scratch, bytes).unwrap();
            let (text, mmproj) = if damaged == &text {
                (scratch.clone(), whole.clone())
            } else {
                (whole.clone(), scratch.clone())
            };
            let options = EngineOptions {
                mmproj: Some(mmproj),
                ..options.clone()
            };
            Engine::load(&text, &options)
        };
        let what = format!(
            "llama.cpp pair, {}",
            damaged.file_name().unwrap().to_string_lossy()
        );
        check(&what, seed, gguf_cases(&bytes, &mut rng, 100), load);
    }
}

/// safetensors: the header's length, truncation, and the JSON header's
/// fields (dtype, shape, data offsets) and bytes.
#[test]
fn damaged_safetensors_checkpoints_are_refused_or_load() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let source = fixture("tiny-imp-196-msft");
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    std::fs::create_dir(&checkpoint).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), checkpoint.join(entry.file_name())).unwrap();
    }
    let b = std::fs::read(source.join("model.safetensors")).unwrap();
    let header_len = u64_at(&b, 0) as usize;
    let header = std::str::from_utf8(&b[8..8 + header_len]).unwrap();
    let mut cases: Vec<Case> = Vec::new();
    for v in [
        0u64,
        1,
        header_len as u64 - 1,
        header_len as u64 + 1,
        b.len() as u64,
        u64::MAX,
    ] {
        cases.push((format!("header length {v}"), put_u64(&b, 0, v)));
    }
    for at in [
        0,
        4,
        8,
        9,
        8 + header_len / 2,
        8 + header_len,
        8 + header_len + 1,
        b.len() - 1,
    ] {
        cases.push((format!("truncated at {at}"), b[..at].to_vec()));
    }
    // Field edits that keep the header's length, so the JSON is read: the
    // byte after the `nth` occurrence of `field` becomes `to`.
    let edit = |field: &str, nth: usize, to: u8| -> Option<Vec<u8>> {
        let at = header.match_indices(field).nth(nth)?.0 + field.len();
        let mut c = b.clone();
        c[8 + at] = to;
        Some(c)
    };
    for (field, nth, to) in [
        ("\"dtype\":\"", 0, b'I'),
        ("\"dtype\":\"", 1, b'X'),
        ("\"dtype\":\"F", 2, b'6'),
        ("\"shape\":[", 0, b'0'),
        ("\"shape\":[", 1, b'9'),
        ("\"shape\":[", 2, b']'),
        ("\"data_offsets\":[", 1, b'9'),
        ("\"data_offsets\":[", 2, b'-'),
        ("\"data_offsets\":[", 3, b'0'),
        ("", 0, b'['),
    ] {
        if let Some(c) = edit(field, nth, to) {
            cases.push((format!("{field}#{nth} -> {}", to as char), c));
        }
    }
    for n in 0..200 {
        let mut c = b.clone();
        for _ in 0..rng.random_range(1..=3) {
            let at = rng.random_range(0..8 + header_len);
            c[at] = rng.random();
        }
        cases.push((format!("random {n}"), c));
    }
    let options = EngineOptions {
        threads: Some(1),
        ..Default::default()
    };
    let weights = checkpoint.join("model.safetensors");
    check("safetensors", seed, cases, |bytes| {
        std::fs::write(&weights, bytes).unwrap();
        Engine::load(&checkpoint, &options)
    });
}
