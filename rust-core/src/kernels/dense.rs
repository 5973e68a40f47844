//! `y = x W^T` for float weights (f16, bf16, f32: the vision tower's and the
//! projector's in a llama.cpp pair or an Imp file): panels of weight rows are
//! converted to f32 into a buffer each thread keeps, and each panel is
//! multiplied by the `gemm` crate, single-threaded, into its columns of the
//! output; the panels run in parallel on the current rayon pool.
//!
//! Converting a whole weight per call (what candle's matmul needs) wrote a
//! fresh, zeroed buffer of up to 20 MB per matrix for every picture, 11% of
//! an encode; converting the tower once at load would hold 1.6 GB of
//! anonymous memory. The panel buffers are 2.2 MB a thread at most and stay.

use std::cell::RefCell;

use candle_core::quantized::k_quants::GgmlType;
use rayon::prelude::*;

use super::gemm::Out;

/// Weight rows converted and multiplied at a time: enough columns for the
/// gemm's microkernel to run at full rate, and enough panels to share out.
const PANEL_ROWS: usize = 128;

/// `out (m, n) = x (m, k) @ w^T` with `w` holding n rows of `k / T::BLCK_SIZE` blocks.
pub fn matmul<T: GgmlType + Sync>(w: &[T], n: usize, k: usize, x: &[f32], out: &mut [f32]) {
    let per_row = k / T::BLCK_SIZE;
    let m = x.len() / k;
    assert!(w.len() == n * per_row && out.len() == m * n && x.len() == m * k);
    thread_local! {
        static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }
    let dst = Out(out.as_mut_ptr());
    w.par_chunks(PANEL_ROWS * per_row)
        .enumerate()
        .for_each(move |(p, rows)| {
            let dst = dst;
            let first = p * PANEL_ROWS;
            let count = rows.len() / per_row;
            PANEL.with_borrow_mut(|panel| {
                if panel.len() < count * k {
                    panel.resize(count * k, 0.0);
                }
                for (row, src) in panel.chunks_exact_mut(k).zip(rows.chunks_exact(per_row)) {
                    T::to_float(src, row);
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

#[cfg(test)]
mod tests {
    use half::f16;

    /// Panels that do not divide the rows, on one and on several threads.
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
            let mut out = vec![f32::NAN; m * n];
            pool.install(|| super::matmul(&w, n, k, &x, &mut out));
            for i in 0..m {
                for j in 0..n {
                    let exact: f64 = (0..k)
                        .map(|t| x[i * k + t] as f64 * w[j * k + t].to_f64())
                        .sum();
                    let got = out[i * n + j] as f64;
                    assert!((got - exact).abs() < 1e-4, "({i}, {j}): {got} vs {exact}");
                }
            }
        }
    }
}
