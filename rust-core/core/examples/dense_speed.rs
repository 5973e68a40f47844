//! The float (f16) weight kernel's speed on the SigLIP tower's matrix shapes:
//! random f16 weights, 196 activation rows (a 196-px picture), on a pool of
//! `--threads` threads; prints the effective GMAC/s of each shape and of one
//! encode's 26 layers. On x86 with AVX2, also the same weights as q8_0
//! through `kernels::dense_q8` (the MLP's down projection, 4304 wide, has no
//! q8_0 form and stays f16 in such files).
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
    // Every path the CPU has, interleaved run by run, so that the machine's
    // drift over the minute falls on all of them alike.
    let paths = Isa::available();
    let mut layer = vec![0f64; paths.len()];
    for &(n, k, count) in &shapes {
        let w: Vec<f16> = (0..n * k)
            .map(|i| f16::from_f32(((i * 7919) % 2001) as f32 / 1000.0 - 1.0))
            .collect();
        let x: Vec<f32> = (0..rows * k)
            .map(|i| ((i * 104_729) % 997) as f32 / 500.0 - 1.0)
            .collect();
        let mut out = vec![0f32; rows * n];
        let mut best = vec![f64::INFINITY; paths.len()];
        for _ in 0..repeat {
            for (p, &isa) in paths.iter().enumerate() {
                let t = Instant::now();
                pool.install(|| dense::matmul(isa, &w, n, k, &x, &mut out));
                best[p] = best[p].min(t.elapsed().as_secs_f64());
            }
        }
        #[cfg(target_arch = "x86_64")]
        if k % 32 == 0 && Isa::best().has_avx2() {
            let bytes = q8_0_bytes(&w);
            let mut fastest = f64::INFINITY;
            for _ in 0..repeat {
                let t = Instant::now();
                pool.install(|| {
                    imp_core::kernels::dense_q8::matmul(Isa::best(), &bytes, n, k, &x, &mut out)
                });
                fastest = fastest.min(t.elapsed().as_secs_f64());
            }
            let gmac = (rows * n * k) as f64 / fastest / 1e9;
            println!(
                "{n:>6} x {k:<6} q8_0     {:8.2} ms  {gmac:6.1} GMAC/s",
                fastest * 1e3
            );
        }
        for (p, isa) in paths.iter().enumerate() {
            layer[p] += best[p] * count as f64;
            let gmac = (rows * n * k) as f64 / best[p] / 1e9;
            println!(
                "{n:>6} x {k:<6} {:<8} {:8.2} ms  {gmac:6.1} GMAC/s",
                isa.name(),
                best[p] * 1e3
            );
        }
    }
    for (p, isa) in paths.iter().enumerate() {
        println!(
            "{:<8} one layer {:.1} ms, 26 layers {:.3} s",
            isa.name(),
            layer[p] * 1e3,
            layer[p] * 26.0
        );
    }
}

/// `w` as q8_0 blocks: an f16 scale and 32 rounded values each.
#[cfg(target_arch = "x86_64")]
fn q8_0_bytes(w: &[f16]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(w.len() / 32 * 34);
    for block in w.chunks_exact(32) {
        let max = block.iter().fold(0f32, |m, v| m.max(v.to_f32().abs()));
        let d = max / 127.0;
        bytes.extend(f16::from_f32(d).to_bits().to_le_bytes());
        bytes.extend(block.iter().map(|v| {
            let q = if d > 0.0 { v.to_f32() / d } else { 0.0 };
            q.round() as i8 as u8
        }));
    }
    bytes
}
