//! `y = x W^T` for float weights (f16, bf16, f32: the vision tower's and the
//! projector's in a llama.cpp pair or an Imp file), a panel of weight rows
//! per task on the current rayon pool, each panel into its own columns of
//! the output through a buffer each thread keeps.
//!
//! - On x86 with AVX2 and FMA, the panel is laid out in strips for our own
//!   6 x 16 kernel ([`super::dense_avx2`]), f16 widened on the way; with
//!   AVX-512 the same strips go through a 14 x 16 kernel
//!   ([`super::dense_avx512`]).
//! - Elsewhere (NEON, scalar) the panel is converted to f32 rows and
//!   multiplied by the `gemm` crate, single-threaded.
//!
//! Converting a whole weight per call (what candle's matmul needs) wrote a
//! fresh, zeroed buffer of up to 20 MB per matrix for every picture, 11% of
//! an encode; converting the tower once at load would hold 1.6 GB of
//! anonymous memory. The panel buffers are 2.5 MB a thread at most and stay.

use std::any::TypeId;
use std::cell::RefCell;

use candle_core::quantized::k_quants::GgmlType;
use half::f16;
use rayon::prelude::*;

use super::tiles::Out;
use super::Isa;
#[cfg(target_arch = "x86_64")]
use super::IsaKind;

/// Weight rows converted and multiplied at a time, about: enough columns for
/// the gemm's microkernel to run at full rate, and enough panels to share out.
pub(super) const PANEL_ROWS: usize = 144;
/// Weight rows the `gemm` crate's AVX2 f32 microkernel takes at once (it runs
/// 16 of them against 6 activation rows): panels of a multiple of it leave no
/// narrow remainder to a slower kernel.
const KERNEL_ROWS: usize = 16;

/// Rows per panel for `n` weight rows on `threads` threads, a multiple of
/// `kernel_rows`: a whole number of panels per thread, so none waits on a last
/// odd panel (the SigLIP tower's 1152 rows were 9 panels of 128 on 2 threads:
/// 5 rounds where 4.5 do).
pub(super) fn panel_rows(n: usize, threads: usize, kernel_rows: usize) -> usize {
    let panels = n.div_ceil(PANEL_ROWS).next_multiple_of(threads.max(1));
    n.div_ceil(panels).next_multiple_of(kernel_rows)
}

/// `out (m, n) = x (m, k) @ w^T` with `w` holding n rows of `k / T::BLCK_SIZE`
/// blocks; f16 rows are converted on the path `isa` names.
pub fn matmul<T: GgmlType + Sync + 'static>(
    isa: Isa,
    w: &[T],
    n: usize,
    k: usize,
    x: &[f32],
    out: &mut [f32],
) {
    assert!(k > 0 && k.is_multiple_of(T::BLCK_SIZE), "{k} values a row");
    let per_row = k / T::BLCK_SIZE;
    let m = x.len() / k;
    assert!(w.len() == n * per_row && out.len() == m * n && x.len() == m * k);
    if out.is_empty() {
        // No rows or no columns: nothing to write, and no column offset
        // into an empty output to form.
        return;
    }
    thread_local! {
        static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }
    let dst = Out(out.as_mut_ptr());
    let panel_rows = panel_rows(n, rayon::current_num_threads(), KERNEL_ROWS);
    w.par_chunks(panel_rows * per_row)
        .enumerate()
        .for_each(move |(p, rows)| {
            let dst = dst;
            // SAFETY: column p * panel_rows of row 0 is inside (m, n); this
            // task alone writes its panel's columns.
            let out = unsafe { dst.0.add(p * panel_rows) };
            PANEL.with_borrow_mut(|buffer| panel(isa, rows, k, x, out, n, buffer));
        });
}

/// One panel of weight rows into its columns of the output (row stride
/// `ldo`), through `buffer`, the calling thread's. Single-threaded: nothing
/// here re-enters the pool while the buffer is borrowed.
fn panel<T: GgmlType + 'static>(
    isa: Isa,
    rows: &[T],
    k: usize,
    x: &[f32],
    out: *mut f32,
    ldo: usize,
    buffer: &mut Vec<f32>,
) {
    let per_row = k / T::BLCK_SIZE;
    let count = rows.len() / per_row;
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx2() {
        use super::dense_avx2::{lay_out_strip, STRIP};
        let strips = count.div_ceil(STRIP) * STRIP * k;
        if buffer.len() < strips + STRIP * k {
            buffer.resize(strips + STRIP * k, 0.0);
        }
        let (laid, scratch) = buffer.split_at_mut(strips);
        for (group, dst) in rows
            .chunks(STRIP * per_row)
            .zip(laid.chunks_exact_mut(STRIP * k))
        {
            if let Some(group) = as_f16(group) {
                // SAFETY: an `Isa` with AVX2 is only built by detecting AVX2,
                // FMA and F16C.
                unsafe { lay_out_strip(group, k, dst) };
                continue;
            }
            let widened = group.len() / per_row * k;
            for (row, src) in scratch.chunks_exact_mut(k).zip(group.chunks_exact(per_row)) {
                widen(isa, src, row);
            }
            // SAFETY: as above.
            unsafe { lay_out_strip(&scratch[..widened], k, dst) };
        }
        let product = super::dense_avx2::Product {
            strips: &laid[..strips],
            cols: count,
            k,
            x,
            out,
            ldo,
        };
        // SAFETY: as above, and an `Isa` of kind `Avx512Vnni` is only built
        // with AVX-512 F; the caller hands this task `count` columns of
        // (m, ldo) at `out`.
        return unsafe {
            match isa.kind() {
                IsaKind::Avx512Vnni => super::dense_avx512::multiply(product),
                _ => super::dense_avx2::multiply(product),
            }
        };
    }
    if buffer.len() < count * k {
        buffer.resize(count * k, 0.0);
    }
    for (row, src) in buffer.chunks_exact_mut(k).zip(rows.chunks_exact(per_row)) {
        widen(isa, src, row);
    }
    let m = x.len() / k;
    // SAFETY: out (m, ldo) row-major, this task alone writes its `count`
    // columns; x is (m, k) row-major; the buffer holds `count` rows of k
    // values, read as the (k, count) matrix W^T.
    unsafe {
        gemm::gemm(
            m,
            count,
            k,
            out,
            1,
            ldo as isize,
            false,
            x.as_ptr(),
            1,
            k as isize,
            buffer.as_ptr(),
            k as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `rows` as f16 values, if that is what T is.
fn as_f16<T: 'static>(rows: &[T]) -> Option<&[f16]> {
    // SAFETY: T is f16, checked first.
    (TypeId::of::<T>() == TypeId::of::<f16>())
        .then(|| unsafe { &*(rows as *const [T] as *const [f16]) })
}

/// One weight row as f32: f16 rows eight at a time through F16C where `isa`
/// has it (the generic conversion took 7% of an encode), others as candle does.
fn widen<T: GgmlType + 'static>(isa: Isa, src: &[T], dst: &mut [f32]) {
    match as_f16(src) {
        Some(src) => super::widen::f16_to_f32(isa, src, dst),
        None => T::to_float(src, dst),
    }
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::k_quants::GgmlType;
    use half::f16;

    /// The SigLIP tower's and the projector's widths on 2 threads: an even
    /// number of panels, each a whole number of microkernel rows.
    #[test]
    fn panels_share_out_evenly() {
        for (n, panels, rows) in [(1152, 8, 144), (4304, 30, 144), (2560, 18, 144)] {
            let got = super::panel_rows(n, 2, super::KERNEL_ROWS);
            assert_eq!((n.div_ceil(got), got), (panels, rows), "{n} rows");
        }
    }

    /// Panels that do not divide the rows, on one and on several threads,
    /// on every ISA path. The shapes leave every remainder the AVX2 path
    /// has: a last strip of 5 weight rows (n = 325), last tiles of 5 and 1
    /// activation rows, a k that is not a multiple of eight (the transposes'
    /// tail) nor of two (the kernel's unrolled steps); f16 weights are laid
    /// out directly, f32 ones as they are.
    #[test]
    fn matches_a_plain_dot_product() {
        let n = 2 * super::PANEL_ROWS + 37;
        let value = |i: usize| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0;
        for (m, k) in [(5, 70), (13, 71)] {
            let w: Vec<f16> = (0..n * k).map(|i| f16::from_f32(value(i))).collect();
            check(m, n, k, &w, |v| v.to_f64());
        }
        let w: Vec<f32> = (0..n * 40).map(value).collect();
        check(7, n, 40, &w, |&v| v as f64);
        // Whole 14-row tiles of the AVX-512 path and a last one of 2.
        let w: Vec<f16> = (0..n * 33).map(|i| f16::from_f32(value(i))).collect();
        check(30, n, 33, &w, |v| v.to_f64());
    }

    /// Every x86 path runs one chain of fused multiply-adds per output, in
    /// the order of k, so each agrees to the bit with that chain computed
    /// here (the scalar path's `gemm` adds in another order). On a host
    /// without AVX2 there is no x86 path to compare, and the test says so.
    #[test]
    fn the_x86_paths_are_one_fma_chain() {
        let (m, n, k) = (31, 200, 129);
        let w: Vec<f16> = (0..n * k)
            .map(|i| f16::from_f32(((i * 7919) % 2001) as f32 / 1000.0 - 1.0))
            .collect();
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 104_729) % 997) as f32 / 500.0 - 1.0)
            .collect();
        let chain: Vec<f32> = (0..m * n)
            .map(|o| {
                let (i, j) = (o / n, o % n);
                (0..k).fold(0f32, |acc, t| {
                    x[i * k + t].mul_add(w[j * k + t].to_f32(), acc)
                })
            })
            .collect();
        let paths: Vec<_> = super::Isa::available()
            .into_iter()
            .filter(|isa| isa.has_avx2())
            .collect();
        for &isa in &paths {
            let mut out = vec![f32::NAN; m * n];
            super::matmul(isa, &w, n, k, &x, &mut out);
            let first = (0..m * n).find(|&o| out[o].to_bits() != chain[o].to_bits());
            assert!(first.is_none(), "{isa:?} differs at {first:?}");
        }
        eprintln!("dense x86 paths compared with the FMA chain: {paths:?}");
    }

    fn check<T: GgmlType + Sync + 'static>(
        m: usize,
        n: usize,
        k: usize,
        w: &[T],
        to_f64: impl Fn(&T) -> f64,
    ) {
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 104_729) % 997) as f32 / 500.0 - 1.0)
            .collect();
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for isa in super::Isa::available() {
                let mut out = vec![f32::NAN; m * n];
                pool.install(|| super::matmul(isa, w, n, k, &x, &mut out));
                for i in 0..m {
                    for j in 0..n {
                        let exact: f64 = (0..k)
                            .map(|t| x[i * k + t] as f64 * to_f64(&w[j * k + t]))
                            .sum();
                        let got = out[i * n + j] as f64;
                        // Sums of at most 71 products under 2 in size: f32
                        // rounding stays far below 1e-4.
                        assert!(
                            (got - exact).abs() < 1e-4,
                            "{isa:?} m {m} k {k} ({i}, {j}): {got} vs {exact}"
                        );
                    }
                }
            }
        }
    }
}
