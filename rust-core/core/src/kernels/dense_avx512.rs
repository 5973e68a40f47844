//! The float weights' kernel on x86 with AVX-512: the strips of
//! [`super::dense_avx2::lay_out_strip`] (16 weight rows, k-major) are one
//! 512-bit register per value of k, so a tile of 14 activation rows keeps 14
//! accumulators and takes each activation value as the multiply-add's own
//! broadcast memory operand: one weight load and 14 fused multiply-adds a
//! step, where the AVX2 tile needs eight loads for twelve.
//!
//! 14 rows because the SigLIP tower's 196 patches are 14 tiles of 14. Each
//! output is the same chain of fused multiply-adds over k in order as on the
//! AVX2 path, so the two paths give the very same bits.

use std::arch::x86_64::*;

use super::dense_avx2::{by_tiles, tile_rows, Product, Tile, STRIP};

/// Activation rows per tile: 14 of the 32 zmm registers accumulate.
const TILE_ROWS: usize = 14;

/// Computes `p` with the 14 x 16 kernel.
///
/// # Safety
/// The CPU must have AVX-512 F; `p.out` as for [`super::dense_avx2::multiply`].
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn multiply(p: Product) {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        by_tiles(
            p,
            TILE_ROWS,
            |t| tile_rows!(t, tile, 1 2 3 4 5 6 7 8 9 10 11 12 13 14),
        );
    }
}

/// A tile of R rows.
///
/// # Safety
/// As [`multiply`], for the tile `t` describes: its rows of `x`, its
/// strip and its columns of the output.
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile<const R: usize>(t: Tile) {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        let (k, width) = (t.k, t.width);
        debug_assert!(t.strip.len() == STRIP * k && t.x.len() >= R * k);
        let w = t.strip.as_ptr();
        let rows: [*const f32; R] = std::array::from_fn(|r| t.x.as_ptr().add(r * k));
        let mut acc = [_mm512_setzero_ps(); R];
        for t in 0..k {
            let wt = _mm512_loadu_ps(w.add(STRIP * t));
            for r in 0..R {
                acc[r] = _mm512_fmadd_ps(wt, _mm512_set1_ps(*rows[r].add(t)), acc[r]);
            }
        }
        let mask: __mmask16 = if width == STRIP {
            0xffff
        } else {
            (1 << width) - 1
        };
        for r in 0..R {
            _mm512_mask_storeu_ps(t.out.add(r * t.ldo), mask, acc[r]);
        }
    }
}
