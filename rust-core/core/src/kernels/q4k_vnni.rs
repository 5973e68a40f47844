//! `q4_K` weights on AVX-512 VNNI, against activations quantized in the
//! order that keeps every 32-bit lane of a `vpdpbusd` product inside one
//! sub-block.
//!
//! In ggml's block, sub-block 2k is the low nibbles of bytes 32k..32k + 32
//! and 2k + 1 their high nibbles (see [`super::q4k`]). Loading 32 bytes
//! gives products whose lanes mix two sub-blocks, so each product has to be
//! scaled apart (`packs` + `vpdpwssd`) before they are added.
//!
//! Here chunk c (c = 0..3) gathers the eight-byte run c of each 32-byte
//! group: its low nibbles are values 8c..8c + 8 of sub-blocks 0, 2, 4, 6, its
//! high nibbles the same values of 1, 3, 5, 7. So lane j of every chunk's
//! product belongs to sub-block `ORDER``[j / 2]`, the four products
//! accumulate in one register, and the scales are applied once, in float
//! (`d * scale` per lane, exact in f32: an f16 times a 6-bit integer). The
//! weights stay in the file's layout; the activations, quantized by us,
//! take the matching order ([`BlockQ8KLanes`]).
//!
//! A prompt's tiles reuse each weight block, so a chunk of rows is unpacked
//! once into `PreparedQ4K` (the gathered nibbles, scales and mins) and the
//! kernel takes two weight rows against four activation rows a call.
//! `examples/kernel_speed.rs --rows 236` on Zen 4, 32 layers of Imp-3B:
//! 7.6 s on one thread with the previous AVX-512 kernel (`packs` +
//! `vpdpwssd`, unpacking per tile), 7.2 s with this order alone, 5.7-5.8 s
//! with the unpacked chunks and two weight rows; 2 threads 3.8 s -> 2.9 s.
//! Decode (one row) is memory-bound and unchanged (1.3-1.6 ms a layer).

use std::arch::x86_64::*;
use std::cell::RefCell;

use super::q4k::{header, BlockQ4K};
use super::q8::{quantize_block, QK_K};
use super::tiles::Tiles;
use super::{Isa, IsaKind};

/// The sub-block whose values sit at bytes 8p..8p + 8 of each 64-byte chunk
/// (and so in 32-bit lanes 2p and 2p + 1 of its product).
const ORDER: [usize; 8] = [0, 2, 4, 6, 1, 3, 5, 7];

/// Each 32-bit lane's sub-block, `ORDER[j / 2]`.
const LANE_ORDER: [i32; 16] = {
    let mut lanes = [0i32; 16];
    let mut j = 0;
    while j < 16 {
        lanes[j] = ORDER[j / 2] as i32;
        j += 1;
    }
    lanes
};

/// 256 quantized activations in `ORDER`: chunk c's byte 8p + t is value
/// `32 * ORDER[p] + 8c + t`. Not aligned to cache lines: a prompt's
/// activations are a fresh allocation per matrix product, and 64-byte
/// aligned ones left the allocator holding 80-100 MB more at peak
/// (`imp bench`), for no measured speed.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8KLanes {
    pub qs: [i8; QK_K],
    /// `d` times the sum of each sub-block's 32 values, in their natural
    /// order (for the mins' share).
    pub sums: [f32; 8],
    pub d: f32,
}
const _: () = assert!(std::mem::size_of::<BlockQ8KLanes>() == 292);

impl BlockQ8KLanes {
    pub const ZERO: Self = Self {
        qs: [0; QK_K],
        sums: [0.0; 8],
        d: 0.0,
    };
}

/// `xs.len()` must be `out.len() * 256`. The values, scale and sums are
/// [`super::q8::quantize_q8k`]'s, reordered.
pub fn quantize(xs: &[f32], out: &mut [BlockQ8KLanes]) {
    debug_assert_eq!(xs.len(), out.len() * QK_K);
    for (x, b) in xs.chunks_exact(QK_K).zip(out.iter_mut()) {
        let mut natural = [0i8; QK_K];
        b.d = quantize_block(x, &mut natural);
        for c in 0..4 {
            for (p, &s) in ORDER.iter().enumerate() {
                let from = 32 * s + 8 * c;
                b.qs[64 * c + 8 * p..][..8].copy_from_slice(&natural[from..from + 8]);
            }
        }
        for (sum, sub) in b.sums.iter_mut().zip(natural.chunks_exact(32)) {
            *sum = b.d * sub.iter().map(|&q| q as i32).sum::<i32>() as f32;
        }
    }
}

/// Weight rows per call over prepared blocks: two share each activation
/// load (Zen 4 loads one 512-bit register a cycle, as many as it does
/// `vpdpbusd`s). A single call's rows (decode) take one: reading two rows
/// of the file's blocks side by side measured 2.5 times slower there.
pub(super) const WEIGHT_ROWS: usize = 2;
/// Activation rows per call: two weight rows times four rows keep eight
/// accumulators, and the blocks' unpacked weights, in registers.
pub(super) const ACT_ROWS: usize = 4;
/// Unpacked weights kept per thread while a prompt's tiles run over them:
/// within Zen 4's 1 MiB L2 beside the activations.
const PREPARED_BYTES: usize = 256 << 10;

/// A q4_K block unpacked for the kernel: what [`Block::unpack`] computes from the
/// file's block, stored, so that a prompt's tiles unpack each block once.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct PreparedQ4K {
    q: [[u8; 64]; 4],
    scales: [f32; 16],
    /// `dmin * min` in natural order; lanes 8-15 zero.
    mins: [f32; 16],
}

/// The output columns `first..` of the weight rows `rows`. A prompt's rows
/// (more than one call's) run over blocks unpacked once per thread and
/// piece of the chunk; a single call's unpack in registers.
pub(super) fn chunk(isa: Isa, rows: &[BlockQ4K], first: usize, tiles: &Tiles<BlockQ8KLanes>) {
    assert_eq!(
        isa.kind(),
        IsaKind::Avx512Vnni,
        "the lane layout is AVX-512's"
    );
    if tiles.m <= ACT_ROWS {
        return tiles.run(rows, first, 1, dot::<BlockQ4K>);
    }
    thread_local! {
        static PREPARED: RefCell<Vec<PreparedQ4K>> = const { RefCell::new(Vec::new()) };
    }
    let row_bytes = tiles.blocks * std::mem::size_of::<PreparedQ4K>();
    let piece = (PREPARED_BYTES / row_bytes)
        .max(1)
        .next_multiple_of(WEIGHT_ROWS);
    PREPARED.with_borrow_mut(|prepared| {
        for (p, rows) in rows.chunks(piece * tiles.blocks).enumerate() {
            prepared.clear();
            // SAFETY: AVX-512 F, BW, VL and VNNI are present: the `Isa`
            // asserted above is only built by detecting them.
            prepared.extend(rows.iter().map(|b| unsafe { prepare(b) }));
            tiles.run(prepared, first + p * piece, WEIGHT_ROWS, dot::<PreparedQ4K>);
        }
    });
}

/// `out[j * acts.len() + i] = dot(w[j], acts[i])`, from either block form.
fn dot<B: Block>(w: &[&[B]], acts: &[&[BlockQ8KLanes]], out: &mut [f32]) {
    // The kernel reads block b of every row for each b of the first weight
    // row, unchecked: this is the one place their lengths are held.
    let blocks = w.first().map_or(0, |row| row.len());
    assert!(
        w.iter().all(|row| row.len() == blocks)
            && acts.iter().all(|a| a.len() == blocks)
            && out.len() == w.len() * acts.len(),
        "weight and activation rows of different lengths"
    );
    fn run<B: Block, const W: usize, const R: usize>(
        w: &[&[B]],
        acts: &[&[BlockQ8KLanes]],
        out: &mut [f32],
    ) {
        // SAFETY: `chunk`, the only way here, asserted an `Isa` built by
        // detecting AVX-512 F, BW, VL and VNNI besides AVX2, FMA and F16C;
        // the rows' lengths are checked above.
        let res =
            unsafe { avx512_impl::<B, W, R>(w.try_into().unwrap(), acts.try_into().unwrap()) };
        out.copy_from_slice(res.as_flattened());
    }
    match (w.len(), acts.len()) {
        (1, 1) => run::<B, 1, 1>(w, acts, out),
        (1, 2) => run::<B, 1, 2>(w, acts, out),
        (1, 3) => run::<B, 1, 3>(w, acts, out),
        (1, 4) => run::<B, 1, 4>(w, acts, out),
        (2, 1) => run::<B, 2, 1>(w, acts, out),
        (2, 2) => run::<B, 2, 2>(w, acts, out),
        (2, 3) => run::<B, 2, 3>(w, acts, out),
        (2, 4) => run::<B, 2, 4>(w, acts, out),
        (nw, r) => unreachable!("{nw} weight rows, {r} activation rows"),
    }
}

/// One block's values and factors in registers.
struct Unpacked {
    /// Chunk c's 64 values, low nibbles then high (see the module header).
    q: [__m512i; 4],
    /// `d * scale` of each lane's sub-block.
    scales: __m512,
    /// `dmin * min` of sub-blocks 0-7 in lanes 0-7, zero above.
    mins: __m512,
}

/// A weight block form the kernel reads.
trait Block {
    /// # Safety
    /// AVX-512 F, BW, VL and VNNI, AVX2 and F16C must be present.
    unsafe fn unpack(&self) -> Unpacked;
}

impl Block for BlockQ4K {
    #[inline(always)]
    unsafe fn unpack(&self) -> Unpacked {
        // SAFETY: the caller upholds this function's `# Safety` contract,
        // which covers every intrinsic, pointer and unchecked read below.
        unsafe {
            let nibble = _mm512_set1_epi8(0x0f);
            let by_lane = _mm512_loadu_si512(LANE_ORDER.as_ptr() as *const __m512i);
            let h = header(self);
            let scales = _mm256_mul_ps(
                _mm256_set1_ps(h.d),
                _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(h.scales8)),
            );
            let first = _mm512_loadu_si512(self.qs.as_ptr() as *const __m512i);
            let second = _mm512_loadu_si512(self.qs.as_ptr().add(64) as *const __m512i);
            Unpacked {
                // Chunk c: qwords c, 4 + c, 8 + c, 12 + c of the block's 128
                // bytes, twice (low nibbles, then high).
                q: std::array::from_fn(|c| {
                    let c = c as i64;
                    let gather = _mm512_set_epi64(12 + c, 8 + c, 4 + c, c, 12 + c, 8 + c, 4 + c, c);
                    let runs = _mm512_permutex2var_epi64(first, gather, second);
                    _mm512_and_si512(_mm512_mask_srli_epi64(runs, 0xf0, runs, 4), nibble)
                }),
                scales: _mm512_permutexvar_ps(by_lane, _mm512_castps256_ps512(scales)),
                mins: _mm512_zextps256_ps512(h.mins),
            }
        }
    }
}

impl Block for PreparedQ4K {
    #[inline(always)]
    unsafe fn unpack(&self) -> Unpacked {
        // SAFETY: the caller upholds this function's `# Safety` contract,
        // which covers every intrinsic, pointer and unchecked read below.
        unsafe {
            Unpacked {
                q: std::array::from_fn(|c| _mm512_load_si512(self.q[c].as_ptr() as *const __m512i)),
                scales: _mm512_load_ps(self.scales.as_ptr()),
                mins: _mm512_load_ps(self.mins.as_ptr()),
            }
        }
    }
}

/// # Safety
/// The CPU must have AVX-512 F, BW, VL and VNNI besides AVX2 and F16C.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn prepare(b: &BlockQ4K) -> PreparedQ4K {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        let u = b.unpack();
        let mut p = PreparedQ4K {
            q: [[0; 64]; 4],
            scales: [0.0; 16],
            mins: [0.0; 16],
        };
        for (to, q) in p.q.iter_mut().zip(&u.q) {
            _mm512_store_si512(to.as_mut_ptr() as *mut __m512i, *q);
        }
        _mm512_store_ps(p.scales.as_mut_ptr(), u.scales);
        _mm512_store_ps(p.mins.as_mut_ptr(), u.mins);
        p
    }
}

/// # Safety
/// The CPU must have AVX-512 F, BW, VL and VNNI besides AVX2, FMA and
/// F16C, and every weight and activation row must hold as many blocks as
/// the first weight row (`dot` checks it).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[allow(clippy::needless_range_loop)]
unsafe fn avx512_impl<B: Block, const W: usize, const R: usize>(
    w: &[&[B]; W],
    acts: &[&[BlockQ8KLanes]; R],
) -> [[f32; R]; W] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        let mut fsum = [[_mm512_setzero_ps(); R]; W];
        for b in 0..w[0].len() {
            let u: [Unpacked; W] = std::array::from_fn(|j| w[j].get_unchecked(b).unpack());
            for i in 0..R {
                let a = acts[i].get_unchecked(b);
                let x: [__m512i; 4] = std::array::from_fn(|c| {
                    _mm512_loadu_si512(a.qs.as_ptr().add(64 * c) as *const __m512i)
                });
                let d = _mm512_set1_ps(a.d);
                let sums = _mm512_maskz_loadu_ps(0xff, a.sums.as_ptr());
                for j in 0..W {
                    let q = &u[j].q;
                    // Each lane sums 16 products of at most 15 * 128: no overflow.
                    let mut acc = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[0], x[0]);
                    acc = _mm512_dpbusd_epi32(acc, q[1], x[1]);
                    acc = _mm512_dpbusd_epi32(acc, q[2], x[2]);
                    acc = _mm512_dpbusd_epi32(acc, q[3], x[3]);
                    let scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), u[j].scales);
                    fsum[j][i] = _mm512_fmadd_ps(scaled, d, fsum[j][i]);
                    fsum[j][i] = _mm512_fnmadd_ps(u[j].mins, sums, fsum[j][i]);
                }
            }
        }
        let mut out = [[0f32; R]; W];
        for j in 0..W {
            for i in 0..R {
                out[j][i] = _mm512_reduce_add_ps(fsum[j][i]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::q8::{quantize_q8k, BlockQ8K};

    /// The reordering only moves values: reading them back in `ORDER`
    /// gives `quantize_q8k`'s bytes and scale, and the sums are the
    /// sub-blocks' own.
    #[test]
    fn the_lane_order_is_a_permutation_of_q8k() {
        let xs: Vec<f32> = (0..2 * QK_K)
            .map(|i| ((i * 37) % 101) as f32 - 50.0)
            .collect();
        let mut lanes = [BlockQ8KLanes::ZERO; 2];
        let mut plain = [BlockQ8K::ZERO; 2];
        quantize(&xs, &mut lanes);
        quantize_q8k(&xs, &mut plain);
        for (l, p) in lanes.iter().zip(&plain) {
            assert_eq!(l.d, p.d);
            for v in 0..QK_K {
                let (s, within) = (v / 32, v % 32);
                let slot = ORDER.iter().position(|&o| o == s).unwrap();
                let at = 64 * (within / 8) + 8 * slot + within % 8;
                assert_eq!(l.qs[at], p.qs[v], "value {v}");
            }
            assert_eq!(l.sums, p.scaled_sums);
        }
    }
}
