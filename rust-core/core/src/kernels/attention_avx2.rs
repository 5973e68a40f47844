//! The AVX2 inner loops of a query's attention over an f16 cache (every
//! query of a prompt, one at a time; a decode step's one), where the
//! portable loops in [`super::attention`] left the compiler spilling its
//! lanes: eight keys' dot products at once, reduced
//! with `vhaddps`, and each eight values of the output summed over all keys
//! in one register. Every sum is formed in the portable path's order (lanes
//! by multiply then add, then `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 +
//! l7))`; outputs key by key), so a query's bits do not depend on the path
//! or on the queries grouped with it.
//!
//! `examples/attention_speed.rs --offset 300` (Zen 4, 2 threads, 32 heads
//! of 80): a decode step's layer 0.167 ms with the portable loops, 0.088 ms
//! with these (0.32 and 0.16-0.18 ms at 600 positions); a 236-position
//! prompt's layer 10.6 ms with the portable loops taking four queries a
//! pass, 6.8 ms with these taking one.

use std::arch::x86_64::*;
use std::ops::RangeInclusive;

use half::f16;

/// `scores[j] = scale * q . keys[j * d..][..d]` for each j in `keys`; `d`
/// a multiple of 8.
///
/// # Safety
/// AVX2, FMA and F16C must be present.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn scores(
    q: &[f32],
    cache: &[f16],
    d: usize,
    keys: RangeInclusive<usize>,
    scale: f32,
    scores: &mut [f32],
) {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        assert!(d.is_multiple_of(8) && q.len() >= d && cache.len() >= (keys.end() + 1) * d);
        assert!(scores.len() > *keys.end());
        let (lo, end) = (*keys.start(), keys.end() + 1);
        let key = |j: usize, c: usize| {
            _mm256_cvtph_ps(_mm_loadu_si128(
                cache.as_ptr().add(j * d + c) as *const __m128i
            ))
        };
        let scale8 = _mm256_set1_ps(scale);
        let mut j = lo;
        while j + 8 <= end {
            let mut lanes = [_mm256_setzero_ps(); 8];
            for c in (0..d).step_by(8) {
                let x = _mm256_loadu_ps(q.as_ptr().add(c));
                for (k, lane) in lanes.iter_mut().enumerate() {
                    *lane = _mm256_add_ps(*lane, _mm256_mul_ps(x, key(j + k, c)));
                }
            }
            let h0 = _mm256_hadd_ps(
                _mm256_hadd_ps(lanes[0], lanes[1]),
                _mm256_hadd_ps(lanes[2], lanes[3]),
            );
            let h1 = _mm256_hadd_ps(
                _mm256_hadd_ps(lanes[4], lanes[5]),
                _mm256_hadd_ps(lanes[6], lanes[7]),
            );
            let low = _mm256_permute2f128_ps(h0, h1, 0x20);
            let high = _mm256_permute2f128_ps(h0, h1, 0x31);
            // `+ 0.0`: the portable path adds its (empty) tail.
            let dots = _mm256_add_ps(_mm256_add_ps(low, high), _mm256_setzero_ps());
            _mm256_storeu_ps(scores.as_mut_ptr().add(j), _mm256_mul_ps(dots, scale8));
            j += 8;
        }
        for (j, score) in scores.iter_mut().enumerate().take(end).skip(j) {
            let mut lane = _mm256_setzero_ps();
            for c in (0..d).step_by(8) {
                lane = _mm256_add_ps(
                    lane,
                    _mm256_mul_ps(_mm256_loadu_ps(q.as_ptr().add(c)), key(j, c)),
                );
            }
            let mut l = [0f32; 8];
            _mm256_storeu_ps(l.as_mut_ptr(), lane);
            let dot = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])) + 0.0;
            *score = dot * scale;
        }
    }
}

/// `out = sum over j in keys of p[j] * values[j * d..][..d]`, key by key;
/// `d` a multiple of 8.
///
/// # Safety
/// AVX2, FMA and F16C must be present.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn values(
    p: &[f32],
    cache: &[f16],
    d: usize,
    keys: RangeInclusive<usize>,
    out: &mut [f32],
) {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        assert!(d.is_multiple_of(8) && out.len() >= d && cache.len() >= (keys.end() + 1) * d);
        assert!(p.len() > *keys.end());
        for c in (0..d).step_by(8) {
            let mut sum = _mm256_setzero_ps();
            for j in keys.clone() {
                let value = _mm256_cvtph_ps(_mm_loadu_si128(
                    cache.as_ptr().add(j * d + c) as *const __m128i
                ));
                sum = _mm256_add_ps(sum, _mm256_mul_ps(_mm256_set1_ps(p[j]), value));
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(c), sum);
        }
    }
}
