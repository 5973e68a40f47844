//! Causal self-attention read straight from the KV cache's buffers (f32, or
//! f16 for quantized models), one task per head on the current rayon pool.
//!
//! Nothing of size queries x keys is materialised beyond one query's scores,
//! the cache is neither copied nor made contiguous, and masked keys are never
//! visited: query i (position `offset + i`) reads keys `lo..=offset + i`, with
//! `lo` the start of its sliding window (Phi-3) or 0. Scores and softmax are
//! f32, as the reference computes them.

use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

/// One layer's keys or values: (heads, capacity, head_dim), positions
/// `0..offset + seq` written.
#[derive(Clone, Copy)]
pub enum KvBuf<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
}

impl KvBuf<'_> {
    /// Positions `0..len` of head `h` as f32 into `out` (len * head_dim).
    fn head_rows(&self, h: usize, capacity: usize, head_dim: usize, out: &mut [f32]) {
        let start = h * capacity * head_dim;
        match self {
            KvBuf::F32(b) => out.copy_from_slice(&b[start..start + out.len()]),
            KvBuf::F16(b) => b[start..start + out.len()].convert_to_f32_slice(out),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub heads: usize,
    pub head_dim: usize,
    /// Positions each head's buffer holds room for.
    pub capacity: usize,
    /// Positions cached before the queries.
    pub offset: usize,
    /// Queries (positions `offset..offset + seq`).
    pub seq: usize,
    pub window: Option<usize>,
    pub scale: f32,
}

/// `q` (heads, seq, head_dim) against keys `k` and values `v`; returns
/// (seq, heads * head_dim).
pub fn causal(q: &[f32], k: KvBuf, v: KvBuf, s: &AttentionShape) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if super::Isa::best() == super::Isa::Avx2 {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(q: &[f32], k: KvBuf, v: KvBuf, s: &AttentionShape) -> Vec<f32> {
            causal_impl(q, k, v, s)
        }
        // SAFETY: `Isa::best` found AVX2 and FMA.
        return unsafe { avx2(q, k, v, s) };
    }
    causal_impl(q, k, v, s)
}

/// The body, compiled once for the baseline and once (x86-64) with AVX2 so
/// that the compiler vectorises the dot products 8 wide.
#[inline(always)]
fn causal_impl(q: &[f32], k: KvBuf, v: KvBuf, s: &AttentionShape) -> Vec<f32> {
    let (d, total) = (s.head_dim, s.offset + s.seq);
    assert_eq!(q.len(), s.heads * s.seq * d);
    let mut by_head = vec![0f32; s.heads * s.seq * d];
    by_head
        .par_chunks_mut(s.seq * d)
        .enumerate()
        .for_each(|(h, out)| {
            let mut keys = vec![0f32; total * d];
            let mut values = vec![0f32; total * d];
            k.head_rows(h, s.capacity, d, &mut keys);
            v.head_rows(h, s.capacity, d, &mut values);
            let mut scores = vec![0f32; total];
            for (i, o) in out.chunks_exact_mut(d).enumerate() {
                let pos = s.offset + i;
                let lo = s.window.map_or(0, |w| (pos + 1).saturating_sub(w));
                let query = &q[(h * s.seq + i) * d..][..d];
                let visible = &mut scores[lo..=pos];
                let mut max = f32::NEG_INFINITY;
                for (j, score) in visible.iter_mut().enumerate() {
                    *score = dot(query, &keys[(lo + j) * d..][..d]) * s.scale;
                    max = max.max(*score);
                }
                let mut sum = 0f32;
                for score in visible.iter_mut() {
                    *score = (*score - max).exp();
                    sum += *score;
                }
                o.fill(0.0);
                for (j, &p) in visible.iter().enumerate() {
                    let p = p / sum;
                    for (o, &x) in o.iter_mut().zip(&values[(lo + j) * d..][..d]) {
                        *o += p * x;
                    }
                }
            }
        });
    // (heads, seq, d) -> (seq, heads * d)
    let mut out = vec![0f32; by_head.len()];
    for (h, head) in by_head.chunks_exact(s.seq * d).enumerate() {
        for (i, row) in head.chunks_exact(d).enumerate() {
            out[(i * s.heads + h) * d..][..d].copy_from_slice(row);
        }
    }
    out
}

/// f32 dot product in eight independent lanes (vectorised by the compiler).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a direct softmax(q k^T * scale + mask) v in f64.
    #[test]
    fn matches_masked_softmax_in_f64() {
        let (heads, d, capacity, offset, seq) = (3, 20, 16, 5, 4);
        let total = offset + seq;
        let val = |i: usize| ((i * 7919 % 1000) as f32 / 500.0) - 1.0;
        let q: Vec<f32> = (0..heads * seq * d).map(val).collect();
        let k: Vec<f32> = (0..heads * capacity * d).map(|i| val(i + 3)).collect();
        let v: Vec<f32> = (0..heads * capacity * d).map(|i| val(i + 11)).collect();
        let k16: Vec<f16> = k.iter().map(|&x| f16::from_f32(x)).collect();
        let v16: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
        for window in [None, Some(3)] {
            let shape = AttentionShape {
                heads,
                head_dim: d,
                capacity,
                offset,
                seq,
                window,
                scale: 0.3,
            };
            let got = causal(&q, KvBuf::F32(&k), KvBuf::F32(&v), &shape);
            let got16 = causal(&q, KvBuf::F16(&k16), KvBuf::F16(&v16), &shape);
            for h in 0..heads {
                for i in 0..seq {
                    let pos = offset + i;
                    let keys: Vec<usize> = (0..total)
                        .filter(|&j| j <= pos && window.is_none_or(|w| j + w > pos))
                        .collect();
                    let at =
                        |buf: &[f32], j: usize, c: usize| buf[(h * capacity + j) * d + c] as f64;
                    let scores: Vec<f64> = keys
                        .iter()
                        .map(|&j| {
                            (0..d)
                                .map(|c| q[(h * seq + i) * d + c] as f64 * at(&k, j, c))
                                .sum::<f64>()
                                * 0.3
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                    for c in 0..d {
                        let want: f64 = keys
                            .iter()
                            .zip(&scores)
                            .map(|(&j, s)| (s - max).exp() / sum * at(&v, j, c))
                            .sum();
                        let idx = (i * heads + h) * d + c;
                        assert!(
                            (got[idx] as f64 - want).abs() < 1e-6,
                            "{window:?} {h} {i} {c}"
                        );
                        // f16 storage: within the rounding of keys and values.
                        assert!((got16[idx] as f64 - want).abs() < 5e-3, "f16 {window:?}");
                    }
                }
            }
        }
    }
}
