//! The integer kernels' speed on Imp-3B's matrix shapes with a prompt's rows:
//! random q4_k weights, 236 activation rows (a 196-px picture and 40 text
//! tokens), on a pool of `--threads` threads; prints the effective GMAC/s of
//! each shape and of all together.
//!
//! With `--layers N`, N copies of each weight (32 is Imp-3B's 1.4 GB) are
//! run in turn, so that they stream from memory as in a real forward pass
//! instead of staying in the last-level cache.
//!
//! cargo run --release -p imp-core --example kernel_speed -- [--threads 2] [--rows 236] [--repeat 3] [--layers 1]

#[path = "common/args.rs"]
mod args;

use std::time::Instant;

use args::arg;

use candle_core::quantized::GgmlDType;
use imp_core::kernels::{matmul_t, Isa};

/// `n` rows of `k` q4_k values: random bytes with small, finite block scales.
fn q4k_weight(n: usize, k: usize, seed: &mut u64) -> Vec<u8> {
    let blocks = n * k / 256;
    let mut bytes = vec![0u8; blocks * 144];
    for b in bytes.iter_mut() {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *b = (*seed >> 33) as u8;
    }
    for block in bytes.chunks_exact_mut(144) {
        block[..2].copy_from_slice(&half::f16::from_f32(0.01).to_bits().to_le_bytes());
        block[2..4].copy_from_slice(&half::f16::from_f32(0.002).to_bits().to_le_bytes());
    }
    bytes
}

fn main() {
    let threads = arg("--threads", 2);
    let rows = arg("--rows", 236);
    let repeat = arg("--repeat", 3);
    let layers = arg("--layers", 1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    // Phi-2 (Imp-3B): attention in/out, MLP up and down.
    let shapes = [(7680, 2560), (2560, 2560), (10240, 2560), (2560, 10240)];
    let mut seed = 42u64;
    let weights: Vec<Vec<_>> = shapes
        .iter()
        .map(|&(n, k)| (0..layers).map(|_| q4k_weight(n, k, &mut seed)).collect())
        .collect();
    let isa = Isa::best();
    println!("{isa:?}, {threads} threads, {rows} rows, best of {repeat}");
    let mut total = 0f64;
    for (&(n, k), w) in shapes.iter().zip(&weights) {
        let x: Vec<f32> = (0..rows * k)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let mut out = vec![0f32; rows * n];
        let best = (0..repeat)
            .map(|_| {
                let t = Instant::now();
                for w in w {
                    pool.install(|| {
                        assert!(matmul_t(isa, GgmlDType::Q4K, w, (n, k), &x, &mut out))
                    });
                }
                t.elapsed().as_secs_f64() / layers as f64
            })
            .fold(f64::INFINITY, f64::min);
        total += best;
        let gmac = (rows * n * k) as f64 / best / 1e9;
        println!("{n:>6} x {k:<6} {:8.1} ms  {gmac:6.1} GMAC/s", best * 1e3);
    }
    // One decoder layer has each shape once; 32 layers.
    println!(
        "one layer {:.1} ms, 32 layers {:.2} s",
        total * 1e3,
        total * 32.0
    );
}
