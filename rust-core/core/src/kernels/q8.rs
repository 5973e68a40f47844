//! Activations quantized to 8 bits before an integer matmul, as ggml does
//! (its `q8_K` for the k-quants, `q8_0` for `q8_0` weights).
//!
//! Each block keeps one f32 scale `d` and `q = round(x / d)` with
//! `d = max|x| / 127`, rounding half to even (ggml's `nearest_int`). The
//! rounding is written so that every target computes the very same bytes.

/// Values per k-quant super-block.
pub const QK_K: usize = 256;
/// Values per `q8_0` block.
pub const QK8_0: usize = 32;

/// 256 activations: scale, values, the sums of each 16 values (q6_K's
/// offset is applied through these), and `d` times the sum of each 32 (q4_K's
/// mins are: one multiply-add of eight lanes per weight block and row, where
/// the integer sums took six instructions).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8K {
    pub d: f32,
    pub qs: [i8; QK_K],
    pub sums: [i16; QK_K / 16],
    pub scaled_sums: [f32; QK_K / 32],
}

impl BlockQ8K {
    pub const ZERO: Self = Self {
        d: 0.0,
        qs: [0; QK_K],
        sums: [0; QK_K / 16],
        scaled_sums: [0.0; QK_K / 32],
    };
}

/// 32 activations with their scale, for `q8_0` weights.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8 {
    pub d: f32,
    pub qs: [i8; QK8_0],
}

impl BlockQ8 {
    pub const ZERO: Self = Self {
        d: 0.0,
        qs: [0; QK8_0],
    };
}

/// Rounds half to even for |v| < 2^22 with plain f32 arithmetic: adding
/// 1.5 * 2^23 leaves no fraction bits, so the FPU's default rounding does it.
/// (`f32::round_ties_even` is a library call on baseline x86-64.)
#[inline(always)]
fn round_even(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (v + MAGIC) - MAGIC
}

/// The largest |x|, NaNs ignored (as `f32::max` does). In eight running
/// maxima, so that the compiler can vectorize it: a single chain of
/// `f32::max` is a sequential fold it must keep in order. The maximum is the
/// same in any order.
#[inline(always)]
fn abs_max(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let mut chunks = xs.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(x.abs());
        }
    }
    let tail = chunks.remainder().iter().fold(0f32, |m, x| m.max(x.abs()));
    lanes.iter().fold(tail, |m, &l| m.max(l))
}

/// Quantizes `xs` into `qs` with one scale; returns the scale.
#[inline(always)]
pub(super) fn quantize_block(xs: &[f32], qs: &mut [i8]) -> f32 {
    let amax = abs_max(xs);
    if amax == 0.0 || !amax.is_finite() {
        qs.fill(0);
        return if amax == 0.0 { 0.0 } else { f32::NAN };
    }
    let id = 127.0 / amax;
    for (q, &x) in qs.iter_mut().zip(xs) {
        // |x * id| <= 127 up to one rounding, so the cast never saturates.
        *q = round_even(x * id) as i8;
    }
    amax / 127.0
}

/// `xs.len()` must be `out.len() * 256`.
pub fn quantize_q8k(xs: &[f32], out: &mut [BlockQ8K]) {
    debug_assert_eq!(xs.len(), out.len() * QK_K);
    for (x, b) in xs.chunks_exact(QK_K).zip(out.iter_mut()) {
        b.d = quantize_block(x, &mut b.qs);
        for (sum, q) in b.sums.iter_mut().zip(b.qs.chunks_exact(16)) {
            *sum = q.iter().map(|&v| v as i16).sum();
        }
        for (scaled, pair) in b.scaled_sums.iter_mut().zip(b.sums.chunks_exact(2)) {
            *scaled = b.d * (pair[0] + pair[1]) as f32;
        }
    }
}

/// `xs.len()` must be `out.len() * 32`.
pub fn quantize_q8(xs: &[f32], out: &mut [BlockQ8]) {
    debug_assert_eq!(xs.len(), out.len() * QK8_0);
    for (x, b) in xs.chunks_exact(QK8_0).zip(out.iter_mut()) {
        b.d = quantize_block(x, &mut b.qs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_to_even_and_sums_hold() {
        assert_eq!(round_even(2.5), 2.0);
        assert_eq!(round_even(3.5), 4.0);
        assert_eq!(round_even(-2.5), -2.0);
        assert_eq!(round_even(-126.6), -127.0);
        let xs: Vec<f32> = (0..QK_K).map(|i| (i as f32 - 100.0) * 0.37).collect();
        let mut b = [BlockQ8K::ZERO];
        quantize_q8k(&xs, &mut b);
        assert_eq!(b[0].qs[QK_K - 1], 127);
        assert!((b[0].d - 155.0 * 0.37 / 127.0).abs() < 1e-6);
        for (g, sum) in b[0].sums.iter().enumerate() {
            let want: i32 = b[0].qs[g * 16..][..16].iter().map(|&q| q as i32).sum();
            assert_eq!(*sum as i32, want);
        }
        for (s, scaled) in b[0].scaled_sums.iter().enumerate() {
            let want: i32 = b[0].qs[s * 32..][..32].iter().map(|&q| q as i32).sum();
            assert_eq!(*scaled, b[0].d * want as f32);
        }
        let mut z = [BlockQ8::ZERO];
        quantize_q8(&[0.0; 32], &mut z);
        assert_eq!((z[0].d, z[0].qs), (0.0, [0; 32]));
    }

    /// The lane-wise maximum against a plain fold, wherever the largest
    /// value sits (every lane, and the tail) and whatever its sign; NaNs are
    /// skipped and an infinity gives a NaN scale, as before.
    #[test]
    fn abs_max_is_the_plain_maximum() {
        for len in [1, 7, 8, 19, 32] {
            for at in 0..len {
                let mut xs: Vec<f32> = (0..len).map(|i| (i as f32 * 0.31).sin()).collect();
                xs[at] = if at % 2 == 0 { 5.0 } else { -5.0 };
                let plain = xs.iter().fold(0f32, |m, x| m.max(x.abs()));
                assert_eq!(abs_max(&xs), plain, "len {len}, largest at {at}");
            }
        }
        let mut xs = [0.5f32; 32];
        xs[3] = f32::NAN;
        assert_eq!(abs_max(&xs), 0.5);
        xs[9] = f32::NEG_INFINITY;
        let mut b = [BlockQ8::ZERO];
        quantize_q8(&xs, &mut b);
        assert!(b[0].d.is_nan());
    }
}
