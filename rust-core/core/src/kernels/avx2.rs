//! Small AVX2 helpers the x86 kernels share.

use std::arch::x86_64::*;

/// Sum of the eight lanes.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn hsum(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    let one = _mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1));
    _mm_cvtss_f32(one)
}

/// Each accumulator's lanes summed: the last step of every int8 kernel.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn hsums<const R: usize>(fsum: [__m256; R]) -> [f32; R] {
    fsum.map(|v| hsum(v))
}
