//! Every other block type (q4_0, q5_k, ...): each weight row is expanded to
//! f32 once and dotted with every activation row, on the current rayon pool.
//! Slower than the integer kernels but exact in f32 and free of candle's own
//! thread pool; the formats `imp convert` writes by default never come here.

use candle_core::quantized::k_quants::GgmlType;
use rayon::prelude::*;

/// `out (m, n) = x (m, k) @ w^T` with `w` holding n rows of `k / T::BLCK_SIZE` blocks.
pub fn matmul<T: GgmlType + Sync>(w: &[T], n: usize, k: usize, x: &[f32], out: &mut [f32]) {
    let blocks = k / T::BLCK_SIZE;
    let m = x.len() / k;
    assert!(w.len() == n * blocks && out.len() == m * n);
    // Computed transposed (n, m) so that each task owns whole rows.
    let mut t = vec![0f32; n * m];
    t.par_chunks_mut(m).zip(w.par_chunks(blocks)).for_each_init(
        || vec![0f32; k],
        |row, (dst, wrow)| {
            T::to_float(wrow, row);
            for (d, x) in dst.iter_mut().zip(x.chunks_exact(k)) {
                *d = row.iter().zip(x).map(|(a, b)| a * b).sum();
            }
        },
    );
    for (j, col) in t.chunks_exact(m).enumerate() {
        for (i, &v) in col.iter().enumerate() {
            out[i * n + j] = v;
        }
    }
}
