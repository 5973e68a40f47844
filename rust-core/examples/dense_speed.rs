//! The float (f16) weight kernel's speed on the SigLIP tower's matrix shapes:
//! random f16 weights, 196 activation rows (a 196-px picture), on a pool of
//! `--threads` threads; prints the effective GMAC/s of each shape and of one
//! encode's 26 layers.
//!
//! cargo run --release -p imp-core --example dense_speed -- [--threads 2] [--rows 196] [--repeat 3]

#[path = "common/args.rs"]
mod args;

use std::time::Instant;

use args::arg;

use half::f16;
use imp_core::kernels::{dense, Isa};

fn main() {
    let threads = arg("--threads", 2);
    let rows = arg("--rows", 196);
    let repeat = arg("--repeat", 3);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    // SigLIP-so400m: q, k, v and out (four of them), MLP up and down.
    let shapes = [(1152, 1152, 4), (4304, 1152, 1), (1152, 4304, 1)];
    println!("{threads} threads, {rows} rows, best of {repeat}");
    let mut layer = 0f64;
    for &(n, k, count) in &shapes {
        let w: Vec<f16> = (0..n * k)
            .map(|i| f16::from_f32(((i * 7919) % 2001) as f32 / 1000.0 - 1.0))
            .collect();
        let x: Vec<f32> = (0..rows * k)
            .map(|i| ((i * 104_729) % 997) as f32 / 500.0 - 1.0)
            .collect();
        let mut out = vec![0f32; rows * n];
        let best = (0..repeat)
            .map(|_| {
                let t = Instant::now();
                pool.install(|| dense::matmul(Isa::best(), &w, n, k, &x, &mut out));
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        layer += best * count as f64;
        let gmac = (rows * n * k) as f64 / best / 1e9;
        println!("{n:>6} x {k:<6} {:8.2} ms  {gmac:6.1} GMAC/s", best * 1e3);
    }
    println!(
        "one layer {:.1} ms, 26 layers {:.3} s",
        layer * 1e3,
        layer * 26.0
    );
}
