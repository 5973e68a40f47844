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

/// Weight rows a kernel call may take at most.
pub(super) const MAX_WEIGHT_ROWS: usize = 2;

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

/// Output written by several threads at disjoint indices.
#[derive(Clone, Copy)]
pub(super) struct Out(pub(super) *mut f32);
// SAFETY: each index of the output is written by exactly one task.
unsafe impl Send for Out {}
// SAFETY: as above.
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

/// One matmul's activations and output, run a chunk of weight rows at a time.
pub(super) struct Tiles<'a, A> {
    acts: &'a [A],
    pub(super) m: usize,
    n: usize,
    /// Blocks per row.
    pub(super) blocks: usize,
    act_rows: usize,
    dst: Out,
}

impl<A> Tiles<'_, A> {
    /// [`Tiles::run`] for a kernel of one weight row a call.
    pub(super) fn run_rows<B>(
        &self,
        rows: &[B],
        first: usize,
        dot: impl Fn(&[B], &[&[A]], &mut [f32]),
    ) {
        self.run(rows, first, 1, |w, a, o| dot(w[0], a, o))
    }

    /// Output columns `first..` for the whole weight rows `rows`, in the
    /// block form `dot` reads, against every tile of activation rows;
    /// `weight_rows` (at most [`MAX_WEIGHT_ROWS`]) per call of `dot`.
    pub(super) fn run<B>(
        &self,
        rows: &[B],
        first: usize,
        weight_rows: usize,
        dot: impl Fn(&[&[B]], &[&[A]], &mut [f32]),
    ) {
        let (m, n, blocks) = (self.m, self.n, self.blocks);
        for tile in (0..m).step_by(TILE_ROWS) {
            let tile_end = (tile + TILE_ROWS).min(m);
            let mut a: [&[A]; TILE_ROWS] = [&[]; TILE_ROWS];
            for (t, slot) in a[..tile_end - tile].iter_mut().enumerate() {
                *slot = &self.acts[(tile + t) * blocks..(tile + t + 1) * blocks];
            }
            for (g, group) in rows.chunks(blocks * weight_rows).enumerate() {
                let mut ws: [&[B]; MAX_WEIGHT_ROWS] = [&[]; MAX_WEIGHT_ROWS];
                let nw = group.len() / blocks;
                for (slot, row) in ws.iter_mut().zip(group.chunks_exact(blocks)) {
                    *slot = row;
                }
                let column = first + g * weight_rows;
                let mut i = tile;
                while i < tile_end {
                    let r = (tile_end - i).min(self.act_rows);
                    let mut res = [0f32; MAX_WEIGHT_ROWS * MAX_ROWS];
                    dot(&ws[..nw], &a[i - tile..i - tile + r], &mut res[..nw * r]);
                    for (j, res) in res[..nw * r].chunks_exact(r).enumerate() {
                        for (t, &v) in res.iter().enumerate() {
                            // SAFETY: row i + t < m, column + j < n; each
                            // column belongs to one chunk, run by one task.
                            unsafe { *self.dst.0.add((i + t) * n + column + j) = v };
                        }
                    }
                    i += r;
                }
            }
        }
    }
}
