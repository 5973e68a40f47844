//! How fast `--threads` threads read memory: each sums its share of a
//! `--mib` buffer (1400 MiB by default, Imp-3B's q4_k layers) with 256-bit
//! loads where the CPU has AVX2; prints the best of `--repeat` passes. The
//! ceiling for a decode step, which reads every weight once.
//!
//! cargo run --release -p imp-core --example read_bandwidth -- [--threads 2] [--mib 1400] [--repeat 5]

#[path = "common/args.rs"]
mod args;

use std::time::Instant;

use args::arg;
use rayon::prelude::*;

/// The wrapping sum of `bytes` as 32-byte lanes (the compiler vectorises it).
fn sum(bytes: &[u8]) -> u8 {
    let mut lanes = [0u8; 32];
    for chunk in bytes.chunks_exact(32) {
        for (lane, &b) in lanes.iter_mut().zip(chunk) {
            *lane = lane.wrapping_add(b);
        }
    }
    lanes.iter().fold(0u8, |a, &b| a.wrapping_add(b))
}

fn main() {
    let threads = arg("--threads", 2);
    let mib = arg("--mib", 1400);
    let repeat = arg("--repeat", 5);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let buffer: Vec<u8> = (0..mib << 20).map(|i| i as u8).collect();
    let share = buffer.len().div_ceil(threads);
    let mut best = 0f64;
    for _ in 0..repeat {
        let t = Instant::now();
        let total = pool.install(|| {
            buffer
                .par_chunks(share)
                .map(sum)
                .reduce(|| 0, u8::wrapping_add)
        });
        let rate = buffer.len() as f64 / t.elapsed().as_secs_f64() / 1e9;
        std::hint::black_box(total);
        print!(" {rate:.1}");
        best = best.max(rate);
    }
    println!("\n{threads} threads read {mib} MiB at {best:.1} GB/s (best of {repeat})");
}
