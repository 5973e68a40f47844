//! The float weights' own f32 kernel on x86 (AVX2 + FMA): a panel of weight
//! rows is laid out as strips of 16 rows, k-major (value t of the strip's 16
//! rows side by side), and each strip runs against 6 activation rows at a
//! time, every activation value broadcast once for two 8-lane multiply-adds.
//!
//! This is the register tile of BLIS's Haswell kernel (6 x 16: twelve
//! accumulators, two weight registers and one broadcast, 15 of the 16 ymm
//! registers). Laying the strips out as the f16 rows are widened replaces
//! both our widening pass and the `gemm` crate's packing, which copied the
//! activations again for every panel.
//!
//! `examples/dense_speed.rs --threads 2 --repeat 8` runs both paths in turn
//! on the SigLIP shapes: one layer took 46.3 and 46.9 ms here against the
//! `gemm` crate's 55.2 and 54.7 (2 Zen 3 cores). Tried and slower: spans of
//! 256 to 1024 values of k (the strip then stays in L1 but the outputs are
//! reloaded), and activations laid out k-major too.
//!
//! Each output is one chain of fused multiply-adds over k in order, so its
//! value does not depend on the panel, strip or tile it falls in.

use std::arch::x86_64::*;

use half::f16;

/// Weight rows per strip: two 8-lane registers.
pub(super) const STRIP: usize = 16;
/// Activation rows per tile (see the module header for the register count).
const TILE_ROWS: usize = 6;

/// A weight element the strips are laid out from: f32 as it is, f16
/// widened on the way (F16C), so f16 rows need no pass of their own.
pub(super) trait Element: Copy {
    /// Eight values from `p` as f32.
    ///
    /// # Safety
    /// Eight values must be readable at `p`; the CPU must have AVX2 and F16C.
    unsafe fn eight(p: *const Self) -> __m256;
    fn to_f32(self) -> f32;
}

impl Element for f32 {
    #[inline(always)]
    unsafe fn eight(p: *const f32) -> __m256 {
        // SAFETY: the caller upholds this function's `# Safety` contract,
        // which covers every intrinsic, pointer and unchecked read below.
        unsafe { _mm256_loadu_ps(p) }
    }
    fn to_f32(self) -> f32 {
        self
    }
}

impl Element for f16 {
    #[inline(always)]
    unsafe fn eight(p: *const f16) -> __m256 {
        // SAFETY: the caller upholds this function's `# Safety` contract,
        // which covers every intrinsic, pointer and unchecked read below.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)) }
    }
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

/// `dst` (k groups of [`STRIP`] values) = the strip of `rows` (`rows.len() / k`
/// rows of k values, at most [`STRIP`]), transposed, as f32; missing rows
/// are zeros.
///
/// # Safety
/// The CPU must have AVX2 and F16C.
#[target_feature(enable = "avx2,f16c")]
pub(super) unsafe fn lay_out_strip<E: Element>(rows: &[E], k: usize, dst: &mut [f32]) {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        let count = rows.len() / k;
        assert!(count <= STRIP && rows.len() == count * k && dst.len() == STRIP * k);
        let body = k - k % 8;
        for half in 0..2 {
            let first = 8 * half;
            for t in (0..body).step_by(8) {
                let v: [__m256; 8] = std::array::from_fn(|r| {
                    if first + r < count {
                        E::eight(rows[(first + r) * k + t..][..8].as_ptr())
                    } else {
                        _mm256_setzero_ps()
                    }
                });
                for (j, column) in transpose8(v).into_iter().enumerate() {
                    let at = (t + j) * STRIP + first;
                    _mm256_storeu_ps(dst[at..at + 8].as_mut_ptr(), column);
                }
            }
        }
        for t in body..k {
            for r in 0..STRIP {
                dst[t * STRIP + r] = if r < count {
                    rows[r * k + t].to_f32()
                } else {
                    0.0
                };
            }
        }
    }
}

/// Rows of eight to columns of eight.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // Per 128-bit half: columns 0 and 4 (s0, s4), 1 and 5, 2 and 6, 3 and 7.
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xee>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xee>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xee>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xee>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

/// A panel's product: `out[i][j] = x[i] . w[j]` for the `cols` weight rows
/// of the laid-out `strips` (from [`lay_out_strip`]) and the m = `x.len() /
/// k` activation rows; `out` points at column 0 of row 0 of an output with
/// row stride `ldo`.
pub(super) struct Product<'a> {
    pub strips: &'a [f32],
    pub cols: usize,
    pub k: usize,
    pub x: &'a [f32],
    pub out: *mut f32,
    pub ldo: usize,
}

/// Computes `p` with the 6 x 16 kernel.
///
/// # Safety
/// The CPU must have AVX2 and FMA; `p.out` must be valid for writes at
/// `i * ldo + j` for every i < m, j < `cols`, and no other thread may touch
/// those elements meanwhile.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn multiply(p: Product) {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        by_tiles(p, TILE_ROWS, |t| tile_rows!(t, tile, 1 2 3 4 5 6));
    }
}

/// One call of a tile kernel: `rows` activation rows from `x` (row stride
/// `k`) against `strip`, into the first `width` columns at `out`.
pub(super) struct Tile<'a> {
    pub rows: usize,
    pub strip: &'a [f32],
    pub x: &'a [f32],
    pub k: usize,
    pub out: *mut f32,
    pub ldo: usize,
    pub width: usize,
}

/// `tile::<R>(..)` for the tile's row count, one of the listed R.
macro_rules! tile_rows {
    ($t:expr, $tile:ident, $($r:literal)*) => {
        match $t.rows {
            $($r => $tile::<$r>($t),)*
            rows => unreachable!("a tile of {rows} rows"),
        }
    };
}
pub(super) use tile_rows;

/// Runs `kernel` on every strip of `p` against tiles of `tile_rows`
/// activation rows, then one tile of what is left.
///
/// # Safety
/// As [`multiply`], with the CPU features `kernel` needs.
#[inline(always)]
pub(super) unsafe fn by_tiles(p: Product, tile_rows: usize, kernel: impl Fn(Tile)) {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        let Product {
            strips,
            cols,
            k,
            x,
            out,
            ldo,
        } = p;
        let m = x.len() / k;
        assert!(strips.len() == cols.div_ceil(STRIP) * STRIP * k && x.len() == m * k);
        for (s, strip) in strips.chunks_exact(STRIP * k).enumerate() {
            let width = (cols - s * STRIP).min(STRIP);
            let out = out.add(s * STRIP);
            for i in (0..m).step_by(tile_rows) {
                kernel(Tile {
                    rows: tile_rows.min(m - i),
                    strip,
                    x: &x[i * k..],
                    k,
                    out: out.add(i * ldo),
                    ldo,
                    width,
                });
            }
        }
    }
}

/// A tile of R rows.
///
/// # Safety
/// As [`multiply`], for the tile `t` describes: its rows of `x`, its
/// strip and its columns of the output.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile<const R: usize>(t: Tile) {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        let (k, width) = (t.k, t.width);
        debug_assert!(t.strip.len() == STRIP * k && t.x.len() >= R * k);
        let w = t.strip.as_ptr();
        let rows: [*const f32; R] = std::array::from_fn(|r| t.x.as_ptr().add(r * k));
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        let step = |acc: &mut [[__m256; 2]; R], t: usize| {
            let w0 = _mm256_loadu_ps(w.add(STRIP * t));
            let w1 = _mm256_loadu_ps(w.add(STRIP * t + 8));
            for r in 0..R {
                let v = _mm256_broadcast_ss(&*rows[r].add(t));
                acc[r][0] = _mm256_fmadd_ps(w0, v, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(w1, v, acc[r][1]);
            }
        };
        // Two steps a turn: the loop's own counting is then a small share of
        // the front end's work beside twelve multiply-adds.
        let pairs = k - k % 2;
        for t in (0..pairs).step_by(2) {
            step(&mut acc, t);
            step(&mut acc, t + 1);
        }
        if pairs < k {
            step(&mut acc, pairs);
        }
        for r in 0..R {
            let row = t.out.add(r * t.ldo);
            if width == STRIP {
                _mm256_storeu_ps(row, acc[r][0]);
                _mm256_storeu_ps(row.add(8), acc[r][1]);
            } else {
                let mut all = [0f32; STRIP];
                _mm256_storeu_ps(all.as_mut_ptr(), acc[r][0]);
                _mm256_storeu_ps(all.as_mut_ptr().add(8), acc[r][1]);
                std::ptr::copy_nonoverlapping(all.as_ptr(), row, width);
            }
        }
    }
}
