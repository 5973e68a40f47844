//! `y = x W^T` for float weights (f16, bf16, f32: the vision tower's and the
//! projector's in a llama.cpp pair or an Imp file): panels of weight rows are
//! converted to f32 into a buffer each thread keeps, and each panel is
//! multiplied by the `gemm` crate, single-threaded, into its columns of the
//! output; the panels run in parallel on the current rayon pool.
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

use super::gemm::Out;
use super::Isa;

/// Weight rows converted and multiplied at a time, about: enough columns for
/// the gemm's microkernel to run at full rate, and enough panels to share out.
const PANEL_ROWS: usize = 144;
/// Weight rows the `gemm` crate's AVX2 f32 microkernel takes at once (it runs
/// 16 of them against 6 activation rows): panels of a multiple of it leave no
/// narrow remainder to a slower kernel.
const KERNEL_ROWS: usize = 16;

/// Rows per panel for `n` weight rows on `threads` threads: a whole number of
/// panels per thread, so none waits on a last odd panel (the SigLIP tower's
/// 1152 rows were 9 panels of 128 on 2 threads: 5 rounds where 4.5 do).
fn panel_rows(n: usize, threads: usize) -> usize {
    let panels = n.div_ceil(PANEL_ROWS).next_multiple_of(threads.max(1));
    n.div_ceil(panels).next_multiple_of(KERNEL_ROWS)
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
    let per_row = k / T::BLCK_SIZE;
    let m = x.len() / k;
    assert!(w.len() == n * per_row && out.len() == m * n && x.len() == m * k);
    thread_local! {
        static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }
    let dst = Out(out.as_mut_ptr());
    let panel_rows = panel_rows(n, rayon::current_num_threads());
    w.par_chunks(panel_rows * per_row)
        .enumerate()
        .for_each(move |(p, rows)| {
            let dst = dst;
            let first = p * panel_rows;
            let count = rows.len() / per_row;
            PANEL.with_borrow_mut(|panel| {
                if panel.len() < count * k {
                    panel.resize(count * k, 0.0);
                }
                for (row, src) in panel.chunks_exact_mut(k).zip(rows.chunks_exact(per_row)) {
                    widen(isa, src, row);
                }
                // SAFETY: dst (m, n) row-major, this task alone writes its
                // columns first..first + count; x is (m, k) row-major; the panel
                // holds `count` rows of k values, read as the (k, count) matrix
                // W^T. Single-threaded: nothing here re-enters the pool while
                // the panel is borrowed.
                unsafe {
                    gemm::gemm(
                        m,
                        count,
                        k,
                        dst.0.add(first),
                        1,
                        n as isize,
                        false,
                        x.as_ptr(),
                        1,
                        k as isize,
                        panel.as_ptr(),
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
            });
        });
}

/// One weight row as f32: f16 rows eight at a time through F16C where `isa`
/// has it (the generic conversion took 7% of an encode), others as candle does.
fn widen<T: GgmlType + 'static>(isa: Isa, src: &[T], dst: &mut [f32]) {
    if TypeId::of::<T>() == TypeId::of::<f16>() {
        // SAFETY: T is f16, checked above.
        let src = unsafe { &*(src as *const [T] as *const [f16]) };
        return super::widen::f16_to_f32(isa, src, dst);
    }
    T::to_float(src, dst)
}

#[cfg(test)]
mod tests {
    use half::f16;

    /// The SigLIP tower's and the projector's widths on 2 threads: an even
    /// number of panels, each a whole number of microkernel rows.
    #[test]
    fn panels_share_out_evenly() {
        for (n, panels, rows) in [(1152, 8, 144), (4304, 30, 144), (2560, 18, 144)] {
            let got = super::panel_rows(n, 2);
            assert_eq!((n.div_ceil(got), got), (panels, rows), "{n} rows");
        }
    }

    /// Panels that do not divide the rows, on one and on several threads,
    /// on every ISA path (k = 70 leaves a tail to the eight-wide conversion).
    #[test]
    fn matches_a_plain_dot_product() {
        let (m, n, k) = (5, 2 * super::PANEL_ROWS + 37, 70);
        let w: Vec<f16> = (0..n * k)
            .map(|i| f16::from_f32(((i * 7919) % 2001) as f32 / 1000.0 - 1.0))
            .collect();
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
                pool.install(|| super::matmul(isa, &w, n, k, &x, &mut out));
                for i in 0..m {
                    for j in 0..n {
                        let exact: f64 = (0..k)
                            .map(|t| x[i * k + t] as f64 * w[j * k + t].to_f64())
                            .sum();
                        let got = out[i * n + j] as f64;
                        assert!(
                            (got - exact).abs() < 1e-4,
                            "{isa:?} ({i}, {j}): {got} vs {exact}"
                        );
                    }
                }
            }
        }
    }
}
