//! `q4_K` weights against `q8_K` activations with ARM's `smmla` (i8mm): one
//! instruction multiplies a 2x8 block of two weight rows by a 2x8 block of two
//! activation rows, 32 products into the four pairs' sums, where `sdot` makes
//! 16 for one pair. So the kernel takes two weight rows and up to eight
//! activation rows (four pairs) a call, unpacking each weight block once.
//!
//! Each (weight row, activation row) pair is one lane of a vector from start
//! to end: the same integer sums as every path (see [`super::q4k`]), then its
//! own float products and sums, in the same order whichever rows shared its
//! vector. A lone weight row or activation row is paired with itself and the
//! spare lanes dropped, so a row's result never depends on its neighbours
//! (the prompt in pieces and in one pass agree; `tests/kernels.rs`).

use std::arch::aarch64::*;

use super::isa::IsaKind;
use super::neon::{load_i8, smmla};
use super::q4k::{scales_mins, BlockQ4K};
use super::q8::BlockQ8K;
use super::tiles::{Tiles, MAX_ROWS};
use super::Isa;
use half::f16;

/// The output columns `first..` of the whole weight rows `rows`, two a call.
pub(super) fn chunk(isa: Isa, rows: &[BlockQ4K], first: usize, tiles: &Tiles<BlockQ8K>) {
    assert_eq!(isa.kind(), IsaKind::NeonI8mm, "smmla needs i8mm");
    tiles.run(rows, first, 2, dot);
}

/// `out[j * acts.len() + i] = dot(w[j], acts[i])` for one or two weight rows
/// and one to eight activation rows.
fn dot(w: &[&[BlockQ4K]], acts: &[&[BlockQ8K]], out: &mut [f32]) {
    // The kernel reads block b of every row for each b of the first weight
    // row, unchecked: this is the one place their lengths are held.
    let blocks = w.first().map_or(0, |row| row.len());
    assert!(
        (1..=2).contains(&w.len())
            && (1..=MAX_ROWS).contains(&acts.len())
            && w.iter().all(|row| row.len() == blocks)
            && acts.iter().all(|a| a.len() == blocks)
            && out.len() == w.len() * acts.len(),
        "weight and activation rows of different lengths"
    );
    let pair = |i: usize| [acts[i], acts[(i + 1).min(acts.len() - 1)]];
    let (w0, w1) = (w[0], w[w.len() - 1]);
    let r = acts.len();
    fn run<const P: usize>(
        w: [&[BlockQ4K]; 2],
        pairs: [[&[BlockQ8K]; 2]; P],
        r: usize,
        nw: usize,
        out: &mut [f32],
    ) {
        // SAFETY: `chunk`, the only way here, asserted an `Isa` built by
        // detecting dotprod and i8mm; the rows' lengths are checked above.
        let res = unsafe { mmla_impl::<P>(w, &pairs) };
        for (p, lanes) in res.iter().enumerate() {
            for (lane, &v) in lanes.iter().enumerate() {
                let (j, i) = (lane / 2, 2 * p + lane % 2);
                if j < nw && i < r {
                    out[j * r + i] = v;
                }
            }
        }
    }
    let ws = [w0, w1];
    match r.div_ceil(2) {
        1 => run::<1>(ws, [pair(0)], r, w.len(), out),
        2 => run::<2>(ws, [pair(0), pair(2)], r, w.len(), out),
        3 => run::<3>(ws, [pair(0), pair(2), pair(4)], r, w.len(), out),
        4 => run::<4>(ws, [pair(0), pair(2), pair(4), pair(6)], r, w.len(), out),
        p => unreachable!("{p} pairs of activation rows"),
    }
}

/// `[w0.a0, w0.a1, w1.a0, w1.a1]` for each pair (a0, a1) of `pairs`.
///
/// # Safety
/// The CPU must have i8mm; every row must hold as many blocks as `w[0]`.
#[target_feature(enable = "i8mm")]
#[allow(clippy::needless_range_loop)]
unsafe fn mmla_impl<const P: usize>(
    w: [&[BlockQ4K]; 2],
    pairs: &[[&[BlockQ8K]; 2]; P],
) -> [[f32; 4]; P] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        let nibble = vdupq_n_u8(0x0f);
        let mut fsum = [vdupq_n_f32(0.0); P];
        let mut fmin = [vdupq_n_f32(0.0); P];
        for b in 0..w[0].len() {
            let wb = [w[0].get_unchecked(b), w[1].get_unchecked(b)];
            let (s0, m0) = scales_mins(&wb[0].scales);
            let (s1, m1) = scales_mins(&wb[1].scales);
            let d = wb.map(|x| f16::from_bits(x.d).to_f32());
            let dmin = wb.map(|x| f16::from_bits(x.dmin).to_f32());
            let mut isum = [vdupq_n_s32(0); P];
            for c in 0..4 {
                // Sub-blocks 2c (low nibbles) and 2c + 1 (high), each as four
                // 2x8 blocks of [row 0 | row 1] over 8 values.
                let (lo, hi) = (
                    unpack(wb[0], wb[1], c, nibble, false),
                    unpack(wb[0], wb[1], c, nibble, true),
                );
                let scale = |s: usize| {
                    let lanes = [s0[s] as i32, s0[s] as i32, s1[s] as i32, s1[s] as i32];
                    vld1q_s32(lanes.as_ptr())
                };
                let (scale_lo, scale_hi) = (scale(2 * c), scale(2 * c + 1));
                for p in 0..P {
                    let a0 = pairs[p][0].get_unchecked(b).qs.as_ptr().add(64 * c);
                    let a1 = pairs[p][1].get_unchecked(b).qs.as_ptr().add(64 * c);
                    isum[p] = vmlaq_s32(isum[p], sub_block(&lo, a0, a1), scale_lo);
                    isum[p] = vmlaq_s32(isum[p], sub_block(&hi, a0.add(32), a1.add(32)), scale_hi);
                }
            }
            // dmin times each sub-block's min, for [w0, w0, w1, w1].
            let mins: [float32x4_t; 8] = std::array::from_fn(|s| {
                let (n0, n1) = (m0[s] as f32 * dmin[0], m1[s] as f32 * dmin[1]);
                vld1q_f32([n0, n0, n1, n1].as_ptr())
            });
            for p in 0..P {
                let [a0, a1] = pairs[p].map(|a| a.get_unchecked(b));
                let scales = [d[0] * a0.d, d[0] * a1.d, d[1] * a0.d, d[1] * a1.d];
                fsum[p] = vfmaq_f32(fsum[p], vcvtq_f32_s32(isum[p]), vld1q_f32(scales.as_ptr()));
                for s in 0..8 {
                    let sums = [
                        a0.scaled_sums[s],
                        a1.scaled_sums[s],
                        a0.scaled_sums[s],
                        a1.scaled_sums[s],
                    ];
                    fmin[p] = vfmaq_f32(fmin[p], mins[s], vld1q_f32(sums.as_ptr()));
                }
            }
        }
        let mut out = [[0f32; 4]; P];
        for p in 0..P {
            vst1q_f32(out[p].as_mut_ptr(), vsubq_f32(fsum[p], fmin[p]));
        }
        out
    }
}

/// One sub-block (32 values) of two weight rows against two activation rows:
/// `[w0.a0, w0.a1, w1.a0, w1.a1]`. A function, not a closure, so that it is
/// inlined into `mmla_impl`'s i8mm code even in debug builds.
///
/// # Safety
/// The CPU must have i8mm; 32 bytes must be readable at `a0` and at `a1`.
#[inline(always)]
unsafe fn sub_block(w: &[int8x16_t; 4], a0: *const i8, a1: *const i8) -> int32x4_t {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let mut acc = vdupq_n_s32(0);
        for half in 0..2 {
            let (first, second) =
                interleave(load_i8(a0.add(16 * half)), load_i8(a1.add(16 * half)));
            acc = smmla(acc, w[2 * half], first);
            acc = smmla(acc, w[2 * half + 1], second);
        }
        acc
    }
}

/// Sub-block `2c` (`high` false) or `2c + 1` of both weight blocks as four
/// [row 0 | row 1] 2x8 blocks: values 0-7, 8-15, 16-23, 24-31.
///
/// # Safety
/// NEON only (aarch64's baseline).
#[inline(always)]
unsafe fn unpack(
    w0: &BlockQ4K,
    w1: &BlockQ4K,
    c: usize,
    nibble: uint8x16_t,
    high: bool,
) -> [int8x16_t; 4] {
    // SAFETY: 32c + 32 <= 128 bytes of `qs` are read (c < 4).
    unsafe {
        let values = |w: &BlockQ4K, half: usize| {
            let q = vld1q_u8(w.qs.as_ptr().add(32 * c + 16 * half));
            vreinterpretq_s8_u8(if high {
                vshrq_n_u8(q, 4)
            } else {
                vandq_u8(q, nibble)
            })
        };
        let (a, b) = interleave(values(w0, 0), values(w1, 0));
        let (c2, d2) = interleave(values(w0, 1), values(w1, 1));
        [a, b, c2, d2]
    }
}

/// Two rows' 16 values as two 2x8 blocks: ([x 0-7 | y 0-7], [x 8-15 | y 8-15]).
#[inline(always)]
fn interleave(x: int8x16_t, y: int8x16_t) -> (int8x16_t, int8x16_t) {
    // SAFETY: register shuffles, NEON (aarch64's baseline).
    unsafe {
        let (x, y) = (vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y));
        (
            vreinterpretq_s8_s64(vtrn1q_s64(x, y)),
            vreinterpretq_s8_s64(vtrn2q_s64(x, y)),
        )
    }
}
