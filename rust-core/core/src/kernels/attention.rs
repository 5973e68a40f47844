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
    #[cfg(target_arch = "x86_64")]
    if let Some(widen) = F16c::on(isa) {
        // A function of its own: closures do not inherit target features.
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn avx2(job: &Job<F16c>, h: usize, out: &mut [f32]) {
            job.head(h, out)
        }
        let job = Job { q, k, v, s, widen };
        // SAFETY: an `F16c` is only made from an `Isa` with AVX2, FMA and F16C.
        return by_heads(s, |h, out| unsafe { avx2(&job, h, out) });
    }
    let _ = isa;
    let job = Job {
        q,
        k,
        v,
        s,
        widen: Portable,
    };
    by_heads(s, |h, out| job.head(h, out))
}

/// One call's queries, cache and shape, and how f16 is widened on its path.
struct Job<'a, W> {
    q: &'a [f32],
    k: KvBuf<'a>,
    v: KvBuf<'a>,
    s: &'a AttentionShape,
    widen: W,
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

/// Queries of one head that share each pass over the keys and values: an
/// f16 key or value is widened once for all of them.
const QUERIES: usize = 4;

impl<W: Widen> Job<'_, W> {
    /// Head `h`'s queries into `out` (seq, head_dim), [`QUERIES`] at a time.
    /// Compiled once for the baseline and once (x86-64) with AVX2, so that
    /// the compiler vectorises the dot products 8 wide. Each query's numbers
    /// are computed in the same order whatever the group it falls in.
    #[inline(always)]
    fn head(&self, h: usize, out: &mut [f32]) {
        let s = self.s;
        let d = s.head_dim;
        let mut scores = vec![0f32; QUERIES * (s.offset + s.seq)];
        for (g, outs) in out.chunks_mut(QUERIES * d).enumerate() {
            let group = Group::new(s, g * QUERIES, outs.len() / d);
            match group.n {
                1 => self.group::<1>(h, &group, &mut scores, outs),
                2 => self.group::<2>(h, &group, &mut scores, outs),
                3 => self.group::<3>(h, &group, &mut scores, outs),
                _ => self.group::<QUERIES>(h, &group, &mut scores, outs),
            }
        }
    }

    /// The `N` queries of `group` (`N == group.n`): the count is a constant
    /// so that each query's running sums stay in registers.
    #[inline(always)]
    fn group<const N: usize>(&self, h: usize, group: &Group, scores: &mut [f32], outs: &mut [f32]) {
        self.scores::<N>(h, group, scores);
        group.softmax(scores);
        self.values::<N>(h, group, scores, outs);
    }

    /// Row j of head `h`'s keys or values.
    fn row(&self, h: usize, j: usize) -> usize {
        (h * self.s.capacity + j) * self.s.head_dim
    }

    /// Head `h`'s rows of `buf` when `attention_avx2` takes them: on the
    /// AVX2 path, an f16 cache, a head size of whole eight-lane steps.
    #[cfg(target_arch = "x86_64")]
    fn avx2_rows<'b>(&self, buf: KvBuf<'b>, h: usize) -> Option<&'b [f16]> {
        match buf {
            KvBuf::F16(cache) if W::AVX2 && self.s.head_dim.is_multiple_of(8) => {
                Some(&cache[self.row(h, 0)..self.row(h + 1, 0)])
            }
            _ => None,
        }
    }

    /// Scaled scores of each query of `group` against the keys it reads.
    #[inline(always)]
    fn scores<const N: usize>(&self, h: usize, group: &Group, scores: &mut [f32]) {
        let (s, d) = (self.s, self.s.head_dim);
        let queries: [&[f32]; N] =
            std::array::from_fn(|t| &self.q[(h * s.seq + group.first + t) * d..][..d]);
        #[cfg(target_arch = "x86_64")]
        if let Some(cache) = self.avx2_rows(self.k, h) {
            for (t, query) in queries.iter().enumerate() {
                let row = &mut scores[t * group.total..][..group.total];
                // SAFETY: `W::AVX2` only for `F16c`, which is only made from an
                // `Isa` with AVX2, FMA and F16C.
                unsafe {
                    super::attention_avx2::scores(query, cache, d, group.seen(t), s.scale, row)
                };
            }
            return;
        }
        for j in group.keys() {
            let dots = dot::<W, N>(self.widen, &queries, self.k, self.row(h, j), d);
            for (t, dot) in dots.iter().enumerate() {
                scores[t * group.total + j] = dot * s.scale;
            }
        }
    }

    /// `outs[t]` = the values weighted by query t's probabilities.
    #[inline(always)]
    fn values<const N: usize>(&self, h: usize, group: &Group, scores: &[f32], outs: &mut [f32]) {
        let d = self.s.head_dim;
        #[cfg(target_arch = "x86_64")]
        if let Some(cache) = self.avx2_rows(self.v, h) {
            for (t, out) in outs.chunks_exact_mut(d).enumerate() {
                let p = &scores[t * group.total..][..group.total];
                // SAFETY: as in `scores`.
                unsafe { super::attention_avx2::values(p, cache, d, group.seen(t), out) };
            }
            return;
        }
        outs.fill(0.0);
        let mut outs: [&mut [f32]; N] = split(outs, d);
        for j in group.keys() {
            let seen: [bool; N] = std::array::from_fn(|t| group.sees(t, j));
            let p: [f32; N] = std::array::from_fn(|t| scores[t * group.total + j]);
            add_scaled::<W, N>(self.widen, &mut outs, &p, &seen, self.v, self.row(h, j), d);
        }
    }
}

/// `outs` as `N` rows of `d`.
fn split<const N: usize>(outs: &mut [f32], d: usize) -> [&mut [f32]; N] {
    let mut rows = outs.chunks_exact_mut(d);
    std::array::from_fn(|_| rows.next().expect("N rows"))
}

/// Up to [`QUERIES`] consecutive queries of a head: query t (t < n) is at
/// position `pos[t]` and reads keys `lo[t]..=pos[t]`.
struct Group {
    first: usize,
    n: usize,
    pos: [usize; QUERIES],
    lo: [usize; QUERIES],
    /// Positions of a score row (cached and new).
    total: usize,
}

impl Group {
    fn new(s: &AttentionShape, first: usize, n: usize) -> Self {
        let pos: [usize; QUERIES] = std::array::from_fn(|t| s.offset + first + t.min(n - 1));
        let lo = pos.map(|p| s.window.map_or(0, |w| (p + 1).saturating_sub(w)));
        let total = s.offset + s.seq;
        Self {
            first,
            n,
            pos,
            lo,
            total,
        }
    }

    /// Every key some query of the group reads.
    fn keys(&self) -> std::ops::RangeInclusive<usize> {
        self.lo[0]..=self.pos[self.n - 1]
    }

    /// The keys query t reads.
    fn seen(&self, t: usize) -> std::ops::RangeInclusive<usize> {
        self.lo[t]..=self.pos[t]
    }

    fn sees(&self, t: usize, j: usize) -> bool {
        t < self.n && self.seen(t).contains(&j)
    }

    /// Each query's visible scores to probabilities: exp(score - max)
    /// divided by their sum (a division per score, as the reference's
    /// softmax does).
    #[inline(always)]
    fn softmax(&self, scores: &mut [f32]) {
        for t in 0..self.n {
            let visible = &mut scores[t * self.total..][self.seen(t)];
            let max = visible.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            let mut sum = 0f32;
            for score in visible.iter_mut() {
                *score = (*score - max).exp();
                sum += *score;
            }
            for score in visible.iter_mut() {
                *score /= sum;
            }
        }
    }
}

/// Each query's dot product with `buf[start..start + d]`, in eight
/// independent lanes (vectorised by the compiler), the tail added last.
#[inline(always)]
fn dot<W: Widen, const N: usize>(
    widen: W,
    queries: &[&[f32]; N],
    buf: KvBuf,
    start: usize,
    d: usize,
) -> [f32; N] {
    let mut lanes = [[0f32; 8]; N];
    let whole = d / 8 * 8;
    let mut tail = [0f32; 8];
    match buf {
        KvBuf::F32(b) => {
            let key = &b[start..start + d];
            for c in (0..whole).step_by(8) {
                step(&mut lanes, queries, c, key[c..c + 8].try_into().unwrap());
            }
            tail[..d - whole].copy_from_slice(&key[whole..]);
        }
        KvBuf::F16(b) => {
            let key = &b[start..start + d];
            for c in (0..whole).step_by(8) {
                step(&mut lanes, queries, c, widen.eight(&key[c..c + 8]));
            }
            for (t, y) in tail.iter_mut().zip(&key[whole..]) {
                *t = y.to_f32();
            }
        }
    }
    std::array::from_fn(|t| {
        let tail: f32 = queries[t][whole..]
            .iter()
            .zip(&tail)
            .map(|(x, y)| x * y)
            .sum();
        // A tree, the order `vhaddps` adds in (see `attention_avx2`).
        let l = &lanes[t];
        ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])) + tail
    })
}

/// `lanes[t] += queries[t][c..c + 8] * y`, lane by lane. A function, not
/// a closure: closures are compiled without the caller's target features
/// unless inlined, and for four queries this one was not.
#[inline(always)]
fn step<const N: usize>(lanes: &mut [[f32; 8]; N], queries: &[&[f32]; N], c: usize, y: [f32; 8]) {
    for (lanes, query) in lanes.iter_mut().zip(queries) {
        let x: &[f32; 8] = query[c..c + 8].try_into().unwrap();
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
}

/// `outs[t] += p[t] * buf[start..start + d]` for each query t that `seen`.
#[inline(always)]
fn add_scaled<W: Widen, const N: usize>(
    widen: W,
    outs: &mut [&mut [f32]; N],
    p: &[f32; N],
    seen: &[bool; N],
    buf: KvBuf,
    start: usize,
    d: usize,
) {
    let whole = d / 8 * 8;
    match buf {
        KvBuf::F32(b) => {
            let value = &b[start..start + d];
            for c in (0..whole).step_by(8) {
                add(outs, p, seen, c, &value[c..c + 8]);
            }
            add(outs, p, seen, whole, &value[whole..]);
        }
        KvBuf::F16(b) => {
            let value = &b[start..start + d];
            for c in (0..whole).step_by(8) {
                add(outs, p, seen, c, &widen.eight(&value[c..c + 8]));
            }
            let mut tail = [0f32; 8];
            for (t, x) in tail.iter_mut().zip(&value[whole..]) {
                *t = x.to_f32();
            }
            add(outs, p, seen, whole, &tail[..d - whole]);
        }
    }
}

/// `outs[t][c..c + x.len()] += p[t] * x` for each query t that `seen` (a
/// function for the reason [`step`] is).
#[inline(always)]
fn add<const N: usize>(
    outs: &mut [&mut [f32]; N],
    p: &[f32; N],
    seen: &[bool; N],
    c: usize,
    x: &[f32],
) {
    for t in 0..N {
        if seen[t] {
            for (o, &x) in outs[t][c..c + x.len()].iter_mut().zip(x) {
                *o += p[t] * x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query's output is the same bits whether it is asked alone or in a
    /// group with others (a prompt prefilled in pieces matches one pass):
    /// on x86 a lone query over an f16 cache takes `attention_avx2`'s loops
    /// (eight keys at a time, so the second case reads 19-25 keys).
    #[test]
    fn a_querys_result_does_not_depend_on_its_group() {
        for (capacity, offset, window) in [(16, 3, Some(4)), (40, 19, None)] {
            alone_matches_grouped(capacity, offset, window);
        }
    }

    fn alone_matches_grouped(capacity: usize, offset: usize, window: Option<usize>) {
        let (heads, d, seq) = (2, 24, 6);
        let val = |i: usize| ((i * 7919 % 1000) as f32 / 500.0) - 1.0;
        let q: Vec<f32> = (0..heads * seq * d).map(val).collect();
        let k: Vec<f16> = (0..heads * capacity * d)
            .map(|i| f16::from_f32(val(i + 3)))
            .collect();
        let v: Vec<f16> = (0..heads * capacity * d)
            .map(|i| f16::from_f32(val(i + 11)))
            .collect();
        let shape = |offset, seq| AttentionShape {
            heads,
            head_dim: d,
            capacity,
            offset,
            seq,
            window,
            scale: 0.3,
        };
        for isa in Isa::available() {
            let all = causal(isa, &q, KvBuf::F16(&k), KvBuf::F16(&v), &shape(offset, seq));
            for i in 0..seq {
                let one: Vec<f32> = (0..heads)
                    .flat_map(|h| q[(h * seq + i) * d..][..d].to_vec())
                    .collect();
                let alone = causal(
                    isa,
                    &one,
                    KvBuf::F16(&k),
                    KvBuf::F16(&v),
                    &shape(offset + i, 1),
                );
                assert!(
                    alone == all[i * heads * d..][..heads * d],
                    "{isa:?} query {i}"
                );
            }
        }
    }

    /// Against a direct softmax(q k^T * scale + mask) v in f64, on every
    /// ISA path: a head size with a tail past the eight-lane steps, and one
    /// without (which x86 runs through `attention_avx2` with an f16 cache).
    #[test]
    fn matches_masked_softmax_in_f64() {
        for (d, offset) in [(20, 5), (24, 13)] {
            matches_in_f64(d, offset);
        }
    }

    fn matches_in_f64(d: usize, offset: usize) {
        let (heads, capacity, seq) = (3, 24, 7);
        let val = |i: usize| ((i * 7919 % 1000) as f32 / 500.0) - 1.0;
        let q: Vec<f32> = (0..heads * seq * d).map(val).collect();
        // Values f16 represents exactly, so that both caches hold the same
        // numbers and both results have the f32 tolerance.
        let exact = |i: usize| f16::from_f32(val(i)).to_f32();
        let k: Vec<f32> = (0..heads * capacity * d).map(|i| exact(i + 3)).collect();
        let v: Vec<f32> = (0..heads * capacity * d).map(|i| exact(i + 11)).collect();
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
            let want = reference(&q, &k, &v, &shape);
            let got = causal(isa, &q, KvBuf::F32(&k), KvBuf::F32(&v), &shape);
            let got16 = causal(isa, &q, KvBuf::F16(&k16), KvBuf::F16(&v16), &shape);
            for (idx, want) in want.iter().enumerate() {
                let at = format!("{isa:?} {window:?} d {d} output {idx}");
                assert!((got[idx] as f64 - want).abs() < 1e-6, "{at}");
                assert!((got16[idx] as f64 - want).abs() < 1e-6, "f16 {at}");
            }
        }
    }

    /// softmax(q k^T * scale + mask) v in f64, laid out as `causal`'s result.
    fn reference(q: &[f32], k: &[f32], v: &[f32], s: &AttentionShape) -> Vec<f64> {
        let (d, seq) = (s.head_dim, s.seq);
        let mut out = vec![0f64; seq * s.heads * d];
        for h in 0..s.heads {
            for i in 0..seq {
                let pos = s.offset + i;
                let keys: Vec<usize> = (0..=pos)
                    .filter(|&j| s.window.is_none_or(|w| j + w > pos))
                    .collect();
                let at = |buf: &[f32], j: usize, c: usize| buf[(h * s.capacity + j) * d + c] as f64;
                let scores: Vec<f64> = keys
                    .iter()
                    .map(|&j| {
                        let dot: f64 = (0..d)
                            .map(|c| q[(h * seq + i) * d + c] as f64 * at(k, j, c))
                            .sum();
                        dot * s.scale as f64
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = scores.iter().map(|x| (x - max).exp()).sum();
                for c in 0..d {
                    out[(i * s.heads + h) * d + c] = keys
                        .iter()
                        .zip(&scores)
                        .map(|(&j, x)| (x - max).exp() / sum * at(v, j, c))
                        .sum();
                }
            }
        }
        out
    }
}
