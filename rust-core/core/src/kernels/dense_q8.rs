//! q8_0 weights against hundreds of activation rows at once (the vision tower
//! and projector of a file written with `imp convert --vision-quant q8_0`),
//! in integer multiply-adds where the f16 tower runs float ones.
//!
//! The activations are rounded to 16 bits per block of 32 values (one f32
//! scale a block), not to ggml's 8: the product is then the q8_0 weights'
//! own, within about 2^-16 of each block's largest activation, so the only
//! loss against the float tower is the weights' rounding. `vpmaddwd`
//! multiplies sixteen 16-bit pairs into eight 32-bit sums, twice the
//! multiply-adds per instruction of an f32 FMA, and the integer sums are
//! exact: a block's 32 products of at most 2^15 * 2^7 stay far below 2^31.
//!
//! Layout as in [`super::dense_avx2`]: a panel of weight rows is laid out in
//! strips of 16 rows, here as pairs of k (rows 0-7 then 8-15, each row's two
//! values side by side, widened to 16 bits), plus each block's 16 scales;
//! a tile of activation rows broadcasts one pair of values at a time. Each
//! output adds its blocks' scaled sums in the order of k, so its value does
//! not depend on the panel, strip or tile it falls in, nor on the other rows.

use std::arch::x86_64::*;
use std::cell::RefCell;

use half::f16;
use rayon::prelude::*;

use super::q8_0::BlockQ8_0;
use super::tiles::Out;
use super::Isa;

const BLOCK: usize = 32;
/// Weight rows per strip: two registers of eight rows' pairs.
const STRIP: usize = 16;
/// Activation rows per tile: 8 integer accumulators and 8 float ones (kept
/// apart by the compiler between blocks; 3 and 6 rows were no faster).
const TILE_ROWS: usize = 4;

/// Activations rounded to 16 bits per block of 32: `values` (m, k) and one
/// scale per block, `value * scale` being the original.
struct Activations {
    values: Vec<i16>,
    scales: Vec<f32>,
    k: usize,
}

impl Activations {
    fn quantize(x: &[f32], k: usize) -> Self {
        assert!(k.is_multiple_of(BLOCK) && x.len().is_multiple_of(k));
        let mut values = vec![0i16; x.len()];
        let mut scales = vec![0f32; x.len() / BLOCK];
        values
            .par_chunks_mut(k)
            .zip(scales.par_chunks_mut(k / BLOCK))
            .zip(x.par_chunks(k))
            .for_each(|((values, scales), x)| {
                for ((q, s), x) in values
                    .chunks_exact_mut(BLOCK)
                    .zip(scales.iter_mut())
                    .zip(x.chunks_exact(BLOCK))
                {
                    let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
                    *s = max / i16::MAX as f32;
                    let inverse = if max > 0.0 {
                        i16::MAX as f32 / max
                    } else {
                        0.0
                    };
                    for (q, &v) in q.iter_mut().zip(x) {
                        // `as` saturates, and NaN becomes 0.
                        *q = (v * inverse).round() as i16;
                    }
                }
            });
        Self { values, scales, k }
    }

    fn rows(&self) -> usize {
        self.values.len() / self.k
    }
}

/// `out (m, n) = x (m, k) @ w^T` for `bytes`, n rows of k / 32 q8_0 blocks.
/// Returns false (and leaves `out` alone) on a CPU without AVX2.
pub fn matmul(isa: Isa, bytes: &[u8], n: usize, k: usize, x: &[f32], out: &mut [f32]) -> bool {
    if !isa.has_avx2() || !k.is_multiple_of(BLOCK) {
        return false;
    }
    let w = super::blocks::<BlockQ8_0>(bytes);
    let per_row = k / BLOCK;
    assert!(k > 0 && w.len() == n * per_row && out.len() * k == x.len() * n);
    if out.is_empty() {
        return true;
    }
    let acts = Activations::quantize(x, k);
    thread_local! {
        static PANEL: RefCell<(Vec<i16>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    }
    // Panels as the float path's, in whole strips.
    let panel_rows = super::dense::panel_rows(n, rayon::current_num_threads(), STRIP);
    let dst = Out(out.as_mut_ptr());
    w.par_chunks(panel_rows * per_row)
        .enumerate()
        .for_each(move |(p, rows)| {
            let dst = dst;
            // SAFETY: column p * panel_rows of row 0 is inside (m, n); this
            // task alone writes its panel's columns; an `Isa` with AVX2 is
            // only built by detecting AVX2, FMA and F16C.
            PANEL.with_borrow_mut(|(values, scales)| unsafe {
                panel(rows, k, &acts, dst.0.add(p * panel_rows), n, values, scales)
            });
        });
    true
}

/// One panel of weight rows into its columns of the output (row stride `ldo`).
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C; `out` must be valid for writes of
/// this panel's columns in every row, and no other thread may touch them.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn panel(
    rows: &[BlockQ8_0],
    k: usize,
    acts: &Activations,
    out: *mut f32,
    ldo: usize,
    values: &mut Vec<i16>,
    scales: &mut Vec<f32>,
) {
    let per_row = k / BLOCK;
    let count = rows.len() / per_row;
    let strips = count.div_ceil(STRIP);
    values.resize(strips * STRIP * k, 0);
    scales.resize(strips * STRIP * per_row, 0.0);
    for (s, group) in rows.chunks(STRIP * per_row).enumerate() {
        let v = &mut values[s * STRIP * k..][..STRIP * k];
        let d = &mut scales[s * STRIP * per_row..][..STRIP * per_row];
        // SAFETY: as this function's contract.
        unsafe { lay_out_strip(group, per_row, v, d) };
    }
    for s in 0..strips {
        let width = (count - s * STRIP).min(STRIP);
        let strip = Strip {
            values: &values[s * STRIP * k..][..STRIP * k],
            scales: &scales[s * STRIP * per_row..][..STRIP * per_row],
        };
        for i in (0..acts.rows()).step_by(TILE_ROWS) {
            let tile = Tile {
                first: i,
                // SAFETY: row i, column s * STRIP is inside this panel.
                out: unsafe { out.add(i * ldo + s * STRIP) },
                ldo,
                width,
            };
            // SAFETY: as this function's contract, for the tile's columns.
            unsafe {
                match TILE_ROWS.min(acts.rows() - i) {
                    1 => tile_of::<1>(&strip, acts, tile),
                    2 => tile_of::<2>(&strip, acts, tile),
                    3 => tile_of::<3>(&strip, acts, tile),
                    _ => tile_of::<TILE_ROWS>(&strip, acts, tile),
                }
            }
        }
    }
}

/// A strip as laid out: for each block, 16 pairs of k, each as two registers
/// (rows 0-7, rows 8-15) of eight rows' two values; then `scales`, the 16
/// rows' scale of each block.
struct Strip<'a> {
    values: &'a [i16],
    scales: &'a [f32],
}

/// Where a tile of activation rows starting at `first` writes: `width` columns
/// from `out`, rows `ldo` apart.
struct Tile {
    first: usize,
    out: *mut f32,
    ldo: usize,
    width: usize,
}

/// Lays out up to 16 weight rows (`per_row` blocks each) as [`Strip`] says;
/// missing rows are zeros with scale 0.
///
/// # Safety
/// The CPU must have AVX2 and F16C.
#[target_feature(enable = "avx2,f16c")]
unsafe fn lay_out_strip(
    rows: &[BlockQ8_0],
    per_row: usize,
    values: &mut [i16],
    scales: &mut [f32],
) {
    let count = rows.len() / per_row;
    assert!(count <= STRIP && values.len() == per_row * BLOCK * STRIP);
    assert!(scales.len() == per_row * STRIP);
    for b in 0..per_row {
        for r in 0..STRIP {
            scales[b * STRIP + r] = if r < count {
                f16::from_bits(rows[r * per_row + b].d).to_f32()
            } else {
                0.0
            };
        }
        // Eight pairs (16 values) at a time: each row's as eight 32-bit
        // lanes, transposed so that a register holds one pair of 8 rows.
        for half_block in 0..2 {
            for group in 0..2 {
                // SAFETY: each row's block has 32 values, 16 read from
                // 16 * half_block; the CPU has AVX2 (this function's contract).
                let lanes: [__m256; 8] = std::array::from_fn(|r| unsafe {
                    let r = group * 8 + r;
                    if r < count {
                        let qs = rows[r * per_row + b].qs[16 * half_block..].as_ptr();
                        let wide = _mm256_cvtepi8_epi16(_mm_loadu_si128(qs as *const __m128i));
                        _mm256_castsi256_ps(wide)
                    } else {
                        _mm256_setzero_ps()
                    }
                });
                for (j, pair) in super::dense_avx2::transpose8(lanes).into_iter().enumerate() {
                    let p = b * 16 + half_block * 8 + j;
                    let at = (p * 2 + group) * 16;
                    // SAFETY: 16 values at `at` are inside `values` (checked
                    // length: per_row * 16 pairs * 2 registers * 16).
                    unsafe {
                        _mm256_storeu_si256(
                            values[at..at + 16].as_mut_ptr() as *mut __m256i,
                            _mm256_castps_si256(pair),
                        )
                    };
                }
            }
        }
    }
}

/// R activation rows from `t.first` against a strip.
///
/// # Safety
/// The CPU must have AVX2 and FMA; `t.out` must be valid for writes of
/// `t.width` columns in R rows `t.ldo` apart, untouched by other threads.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile_of<const R: usize>(strip: &Strip, acts: &Activations, t: Tile) {
    let k = acts.k;
    let per_row = k / BLOCK;
    let x: [&[i16]; R] = std::array::from_fn(|r| &acts.values[(t.first + r) * k..][..k]);
    let xs: [&[f32]; R] =
        std::array::from_fn(|r| &acts.scales[(t.first + r) * per_row..][..per_row]);
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    let w = strip.values.as_ptr();
    for b in 0..per_row {
        let mut sums = [[_mm256_setzero_si256(); 2]; R];
        // A trip count LLVM cannot see: knowing it, it unrolls the 16 pairs
        // and goes row by row, each row's 16 broadcasts held in registers
        // (some spilled) and each weight register loaded once per row; this
        // way the loop is the one the header describes, two weight loads and
        // four broadcasts for eight `vpmaddwd` (the two timed alike within
        // this machine's noise).
        for p in 0..std::hint::black_box(16) {
            let pair = b * 16 + p;
            // SAFETY: pair < per_row * 16, so both registers lie in the
            // strip's per_row * 16 * 32 values.
            let (w0, w1) = unsafe {
                (
                    _mm256_loadu_si256(w.add(pair * 32) as *const __m256i),
                    _mm256_loadu_si256(w.add(pair * 32 + 16) as *const __m256i),
                )
            };
            for r in 0..R {
                // SAFETY: values 2 * pair and 2 * pair + 1 of a row of k.
                let two = unsafe { (x[r].as_ptr().add(2 * pair) as *const i32).read_unaligned() };
                let a = _mm256_set1_epi32(two);
                sums[r][0] = _mm256_add_epi32(sums[r][0], _mm256_madd_epi16(w0, a));
                sums[r][1] = _mm256_add_epi32(sums[r][1], _mm256_madd_epi16(w1, a));
            }
        }
        // SAFETY: 16 scales of block b in the strip's per_row * 16.
        let (d0, d1) = unsafe {
            let d = strip.scales.as_ptr().add(b * 16);
            (_mm256_loadu_ps(d), _mm256_loadu_ps(d.add(8)))
        };
        for r in 0..R {
            let s = _mm256_set1_ps(xs[r][b]);
            acc[r][0] = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(sums[r][0]),
                _mm256_mul_ps(d0, s),
                acc[r][0],
            );
            acc[r][1] = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(sums[r][1]),
                _mm256_mul_ps(d1, s),
                acc[r][1],
            );
        }
    }
    for r in 0..R {
        let mut all = [0f32; STRIP];
        // SAFETY: `all` holds 16 values; the row's `width` columns are this
        // tile's (this function's contract).
        unsafe {
            _mm256_storeu_ps(all.as_mut_ptr(), acc[r][0]);
            _mm256_storeu_ps(all.as_mut_ptr().add(8), acc[r][1]);
            std::ptr::copy_nonoverlapping(all.as_ptr(), t.out.add(r * t.ldo), t.width);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::k_quants::{BlockQ8_0 as CandleQ8_0, GgmlType};

    /// `floats` (whole blocks) as q8_0 bytes, and their dequantized values.
    fn quantize(floats: &[f32]) -> (Vec<u8>, Vec<f32>) {
        let mut blocks = vec![CandleQ8_0::zeros(); floats.len() / BLOCK];
        CandleQ8_0::from_float(floats, &mut blocks);
        let mut dequantized = vec![0f32; floats.len()];
        CandleQ8_0::to_float(&blocks, &mut dequantized);
        // SAFETY: ggml's q8_0 block is 34 plain bytes, as ours.
        let bytes =
            unsafe { std::slice::from_raw_parts(blocks.as_ptr() as *const u8, blocks.len() * 34) };
        (bytes.to_vec(), dequantized)
    }

    fn value(i: usize) -> f32 {
        ((i * 7919) % 2001) as f32 / 1000.0 - 1.0
    }

    /// Against the f64 product of the dequantized weights and the original
    /// activations, for shapes that leave every remainder: a last strip of 5
    /// weight rows, tiles of 1 to 3 rows, panels on 1 and 3 threads. Each
    /// activation is rounded by at most 2^-16 of its block's largest, so an
    /// output is off by at most 2^-16 sum |w| max|x| (about 1e-5 of sum |w x|
    /// for these evenly spread values; f32 sums add less): 1e-4 bounds it
    /// and would catch any block, pair or row out of place.
    #[test]
    fn matches_the_dequantized_product() {
        if !Isa::best().has_avx2() {
            eprintln!("no AVX2 here: the q8_0 dense path does not run");
            return;
        }
        let (n, k) = (2 * crate::kernels::dense::PANEL_ROWS + 37, 96);
        let floats: Vec<f32> = (0..n * k).map(value).collect();
        let (w, dequantized) = quantize(&floats);
        for m in [1, 2, 3, 7, 13] {
            let x: Vec<f32> = (0..m * k).map(|i| value(i * 31 + 5) * 3.0).collect();
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut out = vec![f32::NAN; m * n];
                assert!(pool.install(|| matmul(Isa::best(), &w, n, k, &x, &mut out)));
                for i in 0..m {
                    for j in 0..n {
                        let terms =
                            (0..k).map(|t| x[i * k + t] as f64 * dequantized[j * k + t] as f64);
                        let exact: f64 = terms.clone().sum();
                        let size: f64 = terms.map(f64::abs).sum();
                        let got = out[i * n + j] as f64;
                        assert!(
                            (got - exact).abs() <= 1e-4 * size,
                            "m {m} ({i}, {j}): {got} vs {exact}"
                        );
                    }
                }
            }
        }
    }

    /// A row's result is the same whichever rows share its tile.
    #[test]
    fn a_rows_result_does_not_depend_on_its_neighbours() {
        if !Isa::best().has_avx2() {
            return;
        }
        let (n, k) = (40, 64);
        let floats: Vec<f32> = (0..n * k).map(value).collect();
        let (w, _) = quantize(&floats);
        let m = 9;
        let x: Vec<f32> = (0..m * k).map(|i| value(i * 13 + 1)).collect();
        let mut all = vec![0f32; m * n];
        assert!(matmul(Isa::best(), &w, n, k, &x, &mut all));
        for i in 0..m {
            let mut one = vec![0f32; n];
            assert!(matmul(
                Isa::best(),
                &w,
                n,
                k,
                &x[i * k..(i + 1) * k],
                &mut one
            ));
            assert_eq!(one, all[i * n..(i + 1) * n], "row {i}");
        }
    }
}
