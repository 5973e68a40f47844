//! `y = x W^T` over block-quantized weights: the activations are quantized
//! once, then the weight rows are split among the threads of the current
//! rayon pool (the engine's), and each thread runs its rows against tiles of
//! activation rows, a whole tile per call of the block kernels.
//!
//! Tiling keeps a chunk of weight rows and a tile of activation rows in the
//! caches together; every output is computed by the same kernel code whatever
//! the tile it falls in, so a row's result does not depend on how many rows
//! were multiplied with it (a prompt prefilled in pieces gives the same numbers
//! as in one pass).

use rayon::prelude::*;

use super::q4k::{self, BlockQ4K};
use super::q6k::{self, BlockQ6K};
use super::q8::{quantize_q8, quantize_q8k, BlockQ8, BlockQ8K, QK8_0, QK_K};
use super::q8_0::{self, BlockQ8_0};
use super::Isa;

/// Activation rows one kernel call takes: a whole tile, so each weight block
/// is unpacked once per eight positions. Measured with
/// `examples/kernel_speed.rs` on 2 AVX2 cores, Imp-3B's four shapes at 236
/// rows: 32 layers 12.5 s with four rows a call, 8.1 s with eight.
pub const MAX_ROWS: usize = 8;
/// Activation rows kept hot while a chunk of weight rows runs over them:
/// eight q8_K rows of a 2560-wide layer are 23 KB, within a 32 KB L1 data
/// cache. Measured as above: 8 rows 10-11% faster than 64 (with four rows a
/// call), 4 slower; 16 rows (two calls of eight) 10.5 s against 8.1 s.
const TILE_ROWS: usize = 8;

/// A weight format the integer kernels handle.
pub(super) trait Format {
    type W: Sync;
    type A: Copy + Send + Sync;
    /// Values per weight (and activation) block.
    const BLOCK: usize;
    const ZERO: Self::A;
    fn quantize(xs: &[f32], out: &mut [Self::A]);
    fn dot(isa: Isa, w: &[Self::W], acts: &[&[Self::A]], out: &mut [f32]);
}

pub(super) struct Q4K;
pub(super) struct Q6K;
pub(super) struct Q8_0;

impl Format for Q4K {
    type W = BlockQ4K;
    type A = BlockQ8K;
    const BLOCK: usize = QK_K;
    const ZERO: BlockQ8K = BlockQ8K::ZERO;
    fn quantize(xs: &[f32], out: &mut [BlockQ8K]) {
        quantize_q8k(xs, out)
    }
    fn dot(isa: Isa, w: &[BlockQ4K], acts: &[&[BlockQ8K]], out: &mut [f32]) {
        q4k::dot(isa, w, acts, out)
    }
}

impl Format for Q6K {
    type W = BlockQ6K;
    type A = BlockQ8K;
    const BLOCK: usize = QK_K;
    const ZERO: BlockQ8K = BlockQ8K::ZERO;
    fn quantize(xs: &[f32], out: &mut [BlockQ8K]) {
        quantize_q8k(xs, out)
    }
    fn dot(isa: Isa, w: &[BlockQ6K], acts: &[&[BlockQ8K]], out: &mut [f32]) {
        q6k::dot(isa, w, acts, out)
    }
}

impl Format for Q8_0 {
    type W = BlockQ8_0;
    type A = BlockQ8;
    const BLOCK: usize = QK8_0;
    const ZERO: BlockQ8 = BlockQ8::ZERO;
    fn quantize(xs: &[f32], out: &mut [BlockQ8]) {
        quantize_q8(xs, out)
    }
    fn dot(isa: Isa, w: &[BlockQ8_0], acts: &[&[BlockQ8]], out: &mut [f32]) {
        q8_0::dot(isa, w, acts, out)
    }
}

/// Output written by several threads at disjoint indices.
#[derive(Clone, Copy)]
pub(super) struct Out(pub(super) *mut f32);
// SAFETY: each index of the output is written by exactly one task.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// Activations quantized for format `F`, `m` rows of `k / F::BLOCK` blocks.
pub(super) fn quantize<F: Format>(x: &[f32], k: usize) -> Vec<F::A> {
    let blocks = k / F::BLOCK;
    let m = x.len() / k;
    let mut acts = vec![F::ZERO; m * blocks];
    if m >= 8 {
        acts.par_chunks_mut(blocks)
            .zip(x.par_chunks(k))
            .for_each(|(a, x)| F::quantize(x, a));
    } else {
        for (a, x) in acts.chunks_mut(blocks).zip(x.chunks(k)) {
            F::quantize(x, a);
        }
    }
    acts
}

/// `out (m, n) = x (m, k) @ w^T` with `w` holding n rows of `k / F::BLOCK` blocks.
pub(super) fn matmul<F: Format>(
    isa: Isa,
    w: &[F::W],
    n: usize,
    k: usize,
    x: &[f32],
    out: &mut [f32],
) {
    let blocks = k / F::BLOCK;
    let m = x.len() / k;
    assert!(w.len() == n * blocks && out.len() == m * n && x.len() == m * k);
    let acts = quantize::<F>(x, k);
    // Enough chunks to balance the threads, few enough that each runs a
    // cache-sized share of the weight against every tile.
    let threads = rayon::current_num_threads().max(1);
    let chunk = n.div_ceil(threads * 8).clamp(4, 256);
    let dst = Out(out.as_mut_ptr());
    w.par_chunks(chunk * blocks)
        .enumerate()
        .for_each(move |(c, rows)| {
            let dst = dst;
            let first = c * chunk;
            for tile in (0..m).step_by(TILE_ROWS) {
                let tile_end = (tile + TILE_ROWS).min(m);
                for (j, wrow) in rows.chunks_exact(blocks).enumerate() {
                    let mut i = tile;
                    while i < tile_end {
                        let r = (tile_end - i).min(MAX_ROWS);
                        let mut a: [&[F::A]; MAX_ROWS] = [&[]; MAX_ROWS];
                        for (t, slot) in a[..r].iter_mut().enumerate() {
                            *slot = &acts[(i + t) * blocks..(i + t + 1) * blocks];
                        }
                        let mut res = [0f32; MAX_ROWS];
                        F::dot(isa, wrow, &a[..r], &mut res[..r]);
                        for (t, &v) in res[..r].iter().enumerate() {
                            // SAFETY: row i + t < m, column first + j < n; this
                            // task alone owns columns first..first + chunk.
                            unsafe { *dst.0.add((i + t) * n + first + j) = v };
                        }
                        i += r;
                    }
                }
            }
        });
}
