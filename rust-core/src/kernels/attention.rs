//! Causal self-attention read straight from the KV cache's buffers (f32, or
//! f16 for quantized models), one task per head on the current rayon pool.
//!
//! Nothing of size queries x keys is materialised beyond one query's scores,
//! the cache is neither copied nor converted as a whole (an f16 key or value
//! is widened eight lanes at a time as the dot product reads it: converting
//! each head into a fresh f32 buffer was 9% of a decode step), and masked keys
//! are never visited: query i (position `offset + i`) reads keys
//! `lo..=offset + i`, with `lo` the start of its sliding window (Phi-3) or 0.
//! Scores and softmax are f32, as the reference computes them.

use half::f16;
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::widen::F16c;
use super::widen::{Portable, Widen};
use super::Isa;

/// One layer's keys or values: (heads, capacity, head_dim), positions
/// `0..offset + seq` written.
#[derive(Clone, Copy)]
pub enum KvBuf<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
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

/// `q` (heads, seq, head_dim) against keys `k` and values `v`, on the path
/// `isa` names; returns (seq, heads * head_dim).
pub fn causal(isa: Isa, q: &[f32], k: KvBuf, v: KvBuf, s: &AttentionShape) -> Vec<f32> {
    let total = s.offset + s.seq;
    assert_eq!(q.len(), s.heads * s.seq * s.head_dim);
    for buf in [k, v] {
        let len = match buf {
            KvBuf::F32(b) => b.len(),
            KvBuf::F16(b) => b.len(),
        };
        assert!(total <= s.capacity && len >= s.heads * s.capacity * s.head_dim);
    }
    let job = Job { q, k, v, s };
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx2() {
        // A function of its own: closures do not inherit target features.
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn avx2(job: &Job, h: usize, out: &mut [f32]) {
            job.head::<F16c>(h, out)
        }
        // SAFETY: `Isa::available` offers AVX2 only with FMA and F16C.
        return by_heads(s, |h, out| unsafe { avx2(&job, h, out) });
    }
    let _ = isa;
    by_heads(s, |h, out| job.head::<Portable>(h, out))
}

/// One call's queries, cache and shape.
struct Job<'a> {
    q: &'a [f32],
    k: KvBuf<'a>,
    v: KvBuf<'a>,
    s: &'a AttentionShape,
}

/// Runs `head(h, out)` for every head in parallel into a (heads, seq,
/// head_dim) buffer, then lays it out as (seq, heads * head_dim).
fn by_heads(s: &AttentionShape, head: impl Fn(usize, &mut [f32]) + Sync) -> Vec<f32> {
    let d = s.head_dim;
    let mut by_head = vec![0f32; s.heads * s.seq * d];
    by_head
        .par_chunks_mut(s.seq * d)
        .enumerate()
        .for_each(|(h, out)| head(h, out));
    let mut out = vec![0f32; by_head.len()];
    for (h, head) in by_head.chunks_exact(s.seq * d).enumerate() {
        for (i, row) in head.chunks_exact(d).enumerate() {
            out[(i * s.heads + h) * d..][..d].copy_from_slice(row);
        }
    }
    out
}

impl Job<'_> {
    /// Head `h`'s queries into `out` (seq, head_dim). Compiled once for the
    /// baseline and once (x86-64) with AVX2, so that the compiler vectorises
    /// the dot products 8 wide.
    #[inline(always)]
    fn head<W: Widen>(&self, h: usize, out: &mut [f32]) {
        let Job { q, k, v, s } = *self;
        let d = s.head_dim;
        // Row j of this head's keys or values.
        let row = |j: usize| (h * s.capacity + j) * d;
        let mut scores = vec![0f32; s.offset + s.seq];
        for (i, o) in out.chunks_exact_mut(d).enumerate() {
            let pos = s.offset + i;
            let lo = s.window.map_or(0, |w| (pos + 1).saturating_sub(w));
            let query = &q[(h * s.seq + i) * d..][..d];
            let visible = &mut scores[lo..=pos];
            let mut max = f32::NEG_INFINITY;
            for (j, score) in visible.iter_mut().enumerate() {
                *score = dot::<W>(query, k, row(lo + j), d) * s.scale;
                max = max.max(*score);
            }
            let mut sum = 0f32;
            for score in visible.iter_mut() {
                *score = (*score - max).exp();
                sum += *score;
            }
            o.fill(0.0);
            for (j, &p) in visible.iter().enumerate() {
                add_scaled::<W>(o, p / sum, v, row(lo + j));
            }
        }
    }
}

/// `query . buf[start..start + d]` in eight independent lanes (vectorised by
/// the compiler), the tail added last.
#[inline(always)]
fn dot<W: Widen>(query: &[f32], buf: KvBuf, start: usize, d: usize) -> f32 {
    let mut lanes = [0f32; 8];
    let whole = d / 8 * 8;
    let mut lane_step = |x: &[f32], y: [f32; 8]| {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    };
    let tail: f32 = match buf {
        KvBuf::F32(b) => {
            let key = &b[start..start + d];
            for (x, y) in query[..whole].chunks_exact(8).zip(key.chunks_exact(8)) {
                lane_step(x, y.try_into().unwrap());
            }
            query[whole..]
                .iter()
                .zip(&key[whole..])
                .map(|(x, y)| x * y)
                .sum()
        }
        KvBuf::F16(b) => {
            let key = &b[start..start + d];
            for (x, y) in query[..whole].chunks_exact(8).zip(key.chunks_exact(8)) {
                lane_step(x, W::eight(y));
            }
            query[whole..]
                .iter()
                .zip(&key[whole..])
                .map(|(x, y)| x * y.to_f32())
                .sum()
        }
    };
    lanes.iter().sum::<f32>() + tail
}

/// `out += p * buf[start..start + out.len()]`.
#[inline(always)]
fn add_scaled<W: Widen>(out: &mut [f32], p: f32, buf: KvBuf, start: usize) {
    let d = out.len();
    match buf {
        KvBuf::F32(b) => {
            for (o, &x) in out.iter_mut().zip(&b[start..start + d]) {
                *o += p * x;
            }
        }
        KvBuf::F16(b) => {
            let value = &b[start..start + d];
            let whole = d / 8 * 8;
            for (o, x) in out[..whole].chunks_exact_mut(8).zip(value.chunks_exact(8)) {
                for (o, x) in o.iter_mut().zip(W::eight(x)) {
                    *o += p * x;
                }
            }
            for (o, x) in out[whole..].iter_mut().zip(&value[whole..]) {
                *o += p * x.to_f32();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a direct softmax(q k^T * scale + mask) v in f64, on every
    /// ISA path.
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
        for (isa, window) in Isa::available()
            .into_iter()
            .flat_map(|isa| [(isa, None), (isa, Some(3))])
        {
            let shape = AttentionShape {
                heads,
                head_dim: d,
                capacity,
                offset,
                seq,
                window,
                scale: 0.3,
            };
            let got = causal(isa, &q, KvBuf::F32(&k), KvBuf::F32(&v), &shape);
            let got16 = causal(isa, &q, KvBuf::F16(&k16), KvBuf::F16(&v16), &shape);
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
                            "{isa:?} {window:?} {h} {i} {c}"
                        );
                        // f16 storage: within the rounding of keys and values.
                        assert!(
                            (got16[idx] as f64 - want).abs() < 5e-3,
                            "f16 {isa:?} {window:?}"
                        );
                    }
                }
            }
        }
    }
}
