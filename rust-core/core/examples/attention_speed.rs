//! The attention kernel's speed on Imp-3B's shape (32 heads of 80, an f16
//! KV cache): `--seq` queries (1: a decode step) after `--offset` cached
//! positions, on a pool of `--threads` threads; prints the time of one
//! layer's call, best of `--repeat`, and what 32 layers would take.
//!
//! cargo run --release -p imp-core --example attention_speed -- [--threads 2] [--offset 300] [--seq 1] [--repeat 200]

#[path = "common/args.rs"]
mod args;

use std::time::Instant;

use args::arg;
use half::f16;
use imp_core::kernels::attention::{causal, AttentionShape, KvBuf};
use imp_core::kernels::Isa;

fn main() {
    let threads = arg("--threads", 2);
    let offset = arg("--offset", 300);
    let seq = arg("--seq", 1);
    let repeat = arg("--repeat", 200);
    let (heads, head_dim, capacity) = (32, 80, 2048);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let val = |i: usize| ((i * 7919 % 1000) as f32 / 500.0) - 1.0;
    let q: Vec<f32> = (0..heads * seq * head_dim).map(val).collect();
    let cache = |salt: usize| -> Vec<f16> {
        (0..heads * capacity * head_dim)
            .map(|i| f16::from_f32(val(i + salt)))
            .collect()
    };
    let (k, v) = (cache(3), cache(11));
    let shape = AttentionShape {
        heads,
        head_dim,
        capacity,
        offset,
        seq,
        window: None,
        scale: 1.0 / (head_dim as f32).sqrt(),
    };
    let isa = Isa::best();
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let t = Instant::now();
        let out = pool.install(|| causal(isa, &q, KvBuf::F16(&k), KvBuf::F16(&v), &shape));
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    println!(
        "{isa:?}, {threads} threads, {seq} queries after {offset}: one layer {:.3} ms, 32 layers {:.2} ms",
        best * 1e3,
        best * 32e3
    );
}
