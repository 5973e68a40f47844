//! `y = x W^T` over block-quantized weights: the activations are quantized
//! once, then the weight rows are split among the threads of the current
//! rayon pool (the engine's), and each thread runs its rows against tiles of
//! activation rows, a whole tile per call of the block kernels (AVX-512
//! q4_K: half a tile against two weight rows, see `Format::chunk`).
//!
//! Tiling keeps a chunk of weight rows and a tile of activation rows in the
//! caches together; every output is computed by the same kernel code whatever
//! the tile it falls in, so a row's result does not depend on how many rows
//! were multiplied with it (a prompt prefilled in pieces gives the same numbers
//! as in one pass).

use rayon::prelude::*;

use super::q4k::{self, BlockQ4K};
#[cfg(target_arch = "x86_64")]
use super::q4k_vnni;
use super::q6k::{self, BlockQ6K};
use super::q8::{quantize_q8, quantize_q8k, BlockQ8, BlockQ8K, QK8_0, QK_K};
use super::q8_0::{self, BlockQ8_0};
use super::tiles::{Out, Tiles, MAX_ROWS};
use super::Isa;

/// A weight format the integer kernels handle.
pub(super) trait Format {
    type W: Sync;
    type A: Copy + Send + Sync;
    /// Values per weight (and activation) block.
    const BLOCK: usize;
    const ZERO: Self::A;
    /// Chunks of weight rows are whole multiples of this (for kernels
    /// taking several weight rows a call).
    const WEIGHT_ROWS: usize = 1;
    /// Activation rows per kernel call.
    const ACT_ROWS: usize = MAX_ROWS;
    fn quantize(xs: &[f32], out: &mut [Self::A]);
    /// The output columns `first..` of the whole weight rows `rows`.
    fn chunk(isa: Isa, rows: &[Self::W], first: usize, tiles: &Tiles<Self::A>);
}

pub(super) struct Q4K;
/// `q4_K` on AVX-512 VNNI, with activations in [`q4k_vnni`]'s lane order.
#[cfg(target_arch = "x86_64")]
pub(super) struct Q4KVnni;
/// `q4_K` on aarch64 i8mm: two weight rows against pairs of activation rows.
#[cfg(target_arch = "aarch64")]
pub(super) struct Q4KMmla;
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
    fn chunk(isa: Isa, rows: &[BlockQ4K], first: usize, tiles: &Tiles<BlockQ8K>) {
        tiles.run_rows(rows, first, |w, a, o| q4k::dot(isa, w, a, o))
    }
}

#[cfg(target_arch = "x86_64")]
impl Format for Q4KVnni {
    type W = BlockQ4K;
    type A = q4k_vnni::BlockQ8KLanes;
    const BLOCK: usize = QK_K;
    const ZERO: q4k_vnni::BlockQ8KLanes = q4k_vnni::BlockQ8KLanes::ZERO;
    const WEIGHT_ROWS: usize = q4k_vnni::WEIGHT_ROWS;
    const ACT_ROWS: usize = q4k_vnni::ACT_ROWS;
    fn quantize(xs: &[f32], out: &mut [q4k_vnni::BlockQ8KLanes]) {
        q4k_vnni::quantize(xs, out)
    }
    fn chunk(isa: Isa, rows: &[BlockQ4K], first: usize, tiles: &Tiles<Self::A>) {
        q4k_vnni::chunk(isa, rows, first, tiles)
    }
}

#[cfg(target_arch = "aarch64")]
impl Format for Q4KMmla {
    type W = BlockQ4K;
    type A = BlockQ8K;
    const BLOCK: usize = QK_K;
    const ZERO: BlockQ8K = BlockQ8K::ZERO;
    const WEIGHT_ROWS: usize = 2;
    fn quantize(xs: &[f32], out: &mut [BlockQ8K]) {
        quantize_q8k(xs, out)
    }
    fn chunk(isa: Isa, rows: &[BlockQ4K], first: usize, tiles: &Tiles<BlockQ8K>) {
        super::q4k_mmla::chunk(isa, rows, first, tiles)
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
    fn chunk(isa: Isa, rows: &[BlockQ6K], first: usize, tiles: &Tiles<BlockQ8K>) {
        tiles.run_rows(rows, first, |w, a, o| q6k::dot(isa, w, a, o))
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
    fn chunk(isa: Isa, rows: &[BlockQ8_0], first: usize, tiles: &Tiles<BlockQ8>) {
        tiles.run_rows(rows, first, |w, a, o| q8_0::dot(isa, w, a, o))
    }
}

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
    // Whole groups of weight rows per chunk.
    let chunk = n
        .div_ceil(threads * 8)
        .clamp(4, 256)
        .next_multiple_of(F::WEIGHT_ROWS);
    let tiles = Tiles {
        acts: &acts,
        m,
        n,
        blocks,
        act_rows: F::ACT_ROWS,
        dst: Out(out.as_mut_ptr()),
    };
    w.par_chunks(chunk * blocks)
        .enumerate()
        .for_each(|(c, rows)| F::chunk(isa, rows, c * chunk, &tiles));
}
