//! `q4_K` weights against `q8_K` activations: one weight row with up to
//! [`MAX_ROWS`](super::MAX_ROWS) activation rows at once, so a prompt unpacks
//! each weight block once for several positions.
//!
//! The ggml block (144 bytes, 256 values): f16 `d` and `dmin`, twelve bytes
//! packing eight 6-bit scales and eight 6-bit mins (one of each per 32 values),
//! and 128 bytes of 4-bit values. Byte l of the 32-byte chunk c holds value
//! 64c + l in its low nibble and 64c + 32 + l in its high one; value
//! v of sub-block s is `d * scale[s] * v - dmin * min[s]`.
//!
//! Per super-block the integer sum `sum_s scale[s] * dot(v_s, q_s)` is
//! exact and multiplied by `d * d_act` once; the mins' share is
//! `sum_s (dmin * min[s]) * (d_act * sum(q_s))` in float, from the activation
//! block's `scaled_sums`.

use super::q8::{BlockQ8K, QK_K};
use super::Isa;
use half::f16;

#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ4K {
    pub d: u16,
    pub dmin: u16,
    pub scales: [u8; 12],
    pub qs: [u8; QK_K / 2],
}
const _: () = assert!(std::mem::size_of::<BlockQ4K>() == 144);

/// The eight scales and eight mins, unpacked from their twelve bytes: bytes
/// 0-3 hold scales 0-3 (low 6 bits) and the top 2 bits of scales 4-7; bytes
/// 4-7 the same for the mins; bytes 8-11 the low 4 bits of scales 4-7 (low
/// nibble) and of mins 4-7 (high nibble). Done on 32-bit words, four lanes at once.
#[inline(always)]
pub(super) fn scales_mins(packed: &[u8; 12]) -> ([u8; 8], [u8; 8]) {
    let [scales_lo, scales_hi, mins_lo, mins_hi] = scale_words(packed);
    let join = |a: u32, b: u32| {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&a.to_le_bytes());
        out[4..].copy_from_slice(&b.to_le_bytes());
        out
    };
    (join(scales_lo, scales_hi), join(mins_lo, mins_hi))
}

/// [`scales_mins`] as four little-endian words: scales 0-3, scales 4-7,
/// mins 0-3, mins 4-7.
#[inline(always)]
fn scale_words(packed: &[u8; 12]) -> [u32; 4] {
    let word = |i: usize| u32::from_le_bytes(packed[4 * i..4 * i + 4].try_into().unwrap());
    let (w0, w1, w2) = (word(0), word(1), word(2));
    const LOW6: u32 = 0x3f3f_3f3f;
    const LOW4: u32 = 0x0f0f_0f0f;
    const TOP2: u32 = 0x0303_0303;
    [
        w0 & LOW6,
        (w2 & LOW4) | (((w0 >> 6) & TOP2) << 4),
        w1 & LOW6,
        ((w2 >> 4) & LOW4) | (((w1 >> 6) & TOP2) << 4),
    ]
}

row_kernels!(BlockQ4K, BlockQ8K);

fn scalar<const R: usize>(w: &[BlockQ4K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    let mut out = [0f32; R];
    for (b, wb) in w.iter().enumerate() {
        let (scales, mins) = scales_mins(&wb.scales);
        let d = f16::from_bits(wb.d).to_f32();
        let dmin = f16::from_bits(wb.dmin).to_f32();
        for (o, a) in out.iter_mut().zip(acts) {
            let a = &a[b];
            let mut isum = 0i32;
            for c in 0..4 {
                let q = &wb.qs[32 * c..32 * c + 32];
                let (lo, hi) = (&a.qs[64 * c..64 * c + 32], &a.qs[64 * c + 32..64 * c + 64]);
                let dot_lo: i32 = q
                    .iter()
                    .zip(lo)
                    .map(|(&v, &x)| (v & 15) as i32 * x as i32)
                    .sum();
                let dot_hi: i32 = q
                    .iter()
                    .zip(hi)
                    .map(|(&v, &x)| (v >> 4) as i32 * x as i32)
                    .sum();
                isum += scales[2 * c] as i32 * dot_lo + scales[2 * c + 1] as i32 * dot_hi;
            }
            let fmin: f32 = mins
                .iter()
                .zip(&a.scaled_sums)
                .map(|(&m, &x)| dmin * m as f32 * x)
                .sum();
            *o += d * a.d * isum as f32 - fmin;
        }
    }
    out
}

/// What the x86 paths take from a block besides its values.
#[cfg(target_arch = "x86_64")]
pub(super) struct Header {
    /// The eight scales as i16.
    pub(super) scales8: std::arch::x86_64::__m128i,
    /// `dmin` times each min.
    pub(super) mins: std::arch::x86_64::__m256,
    pub(super) d: f32,
}

/// Inlined into the AVX2 and AVX-512 ([`super::q4k_vnni`]) paths, whose
/// target features it runs under (AVX2, F16C).
///
/// # Safety
/// The CPU must have AVX2 and F16C.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn header(wb: &BlockQ4K) -> Header {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use std::arch::x86_64::*;
        let [scales_lo, scales_hi, mins_lo, mins_hi] = scale_words(&wb.scales);
        let packed = _mm_set_epi32(
            mins_hi as i32,
            mins_lo as i32,
            scales_hi as i32,
            scales_lo as i32,
        );
        let mins8 = _mm_unpackhi_epi64(packed, packed);
        let d_dmin = _mm_cvtph_ps(_mm_cvtsi32_si128(
            (wb.d as u32 | (wb.dmin as u32) << 16) as i32,
        ));
        let dmin = _mm_cvtss_f32(_mm_movehdup_ps(d_dmin));
        Header {
            scales8: _mm_cvtepu8_epi16(packed),
            mins: _mm256_mul_ps(
                _mm256_set1_ps(dmin),
                _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mins8)),
            ),
            d: _mm_cvtss_f32(d_dmin),
        }
    }
}

/// `fmin` plus the block's mins' share against activation block `a`.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn add_mins(
    fmin: std::arch::x86_64::__m256,
    h: &Header,
    a: &BlockQ8K,
) -> std::arch::x86_64::__m256 {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use std::arch::x86_64::*;
        _mm256_fmadd_ps(h.mins, _mm256_loadu_ps(a.scaled_sums.as_ptr()), fmin)
    }
}

/// # Safety
/// The CPU must have AVX2, FMA and F16C, and every `acts[i]` must hold
/// `w.len()` blocks (the format's `dot` checks it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::needless_range_loop)]
unsafe fn avx2_impl<const R: usize>(w: &[BlockQ4K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use std::arch::x86_64::*;
        let nibble = _mm256_set1_epi8(0x0f);
        // Byte shuffles spreading i16 lane s of each 128-bit half over all its lanes.
        let spread: [__m256i; 8] =
            std::array::from_fn(|s| _mm256_set1_epi16((((2 * s + 1) << 8) | (2 * s)) as i16));
        let mut fsum = [_mm256_setzero_ps(); R];
        let mut fmin = [_mm256_setzero_ps(); R];
        for (b, wb) in w.iter().enumerate() {
            let h = header(wb);
            // The eight scales as i16 in both halves.
            let scales16 = _mm256_broadcastsi128_si256(h.scales8);
            let mut isum = [_mm256_setzero_si256(); R];
            for c in 0..4 {
                let q = _mm256_loadu_si256(wb.qs.as_ptr().add(32 * c) as *const __m256i);
                let lo = _mm256_and_si256(q, nibble);
                let hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), nibble);
                let s_lo = _mm256_shuffle_epi8(scales16, spread[2 * c]);
                let s_hi = _mm256_shuffle_epi8(scales16, spread[2 * c + 1]);
                for i in 0..R {
                    let a = acts[i].get_unchecked(b).qs.as_ptr().add(64 * c);
                    let a_lo = _mm256_loadu_si256(a as *const __m256i);
                    let a_hi = _mm256_loadu_si256(a.add(32) as *const __m256i);
                    // u8 x i8 pairs -> i16 (at most 2 * 15 * 127), then x scale -> i32.
                    let p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a_lo), s_lo);
                    let p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a_hi), s_hi);
                    isum[i] = _mm256_add_epi32(isum[i], _mm256_add_epi32(p_lo, p_hi));
                }
            }
            for i in 0..R {
                let a = acts[i].get_unchecked(b);
                fsum[i] = _mm256_fmadd_ps(
                    _mm256_set1_ps(h.d * a.d),
                    _mm256_cvtepi32_ps(isum[i]),
                    fsum[i],
                );
                fmin[i] = add_mins(fmin[i], &h, a);
            }
        }
        let mut out = [0f32; R];
        for i in 0..R {
            out[i] = super::avx2::hsum(fsum[i]) - super::avx2::hsum(fmin[i]);
        }
        out
    }
}

/// # Safety
/// The CPU must have what `D` needs (dotprod for [`super::neon::Sdot`]),
/// and every `acts[i]` must hold `w.len()` blocks (`dot` checks it).
#[cfg(target_arch = "aarch64")]
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn neon_impl<D: super::neon::DotI8, const R: usize>(
    w: &[BlockQ4K],
    acts: &[&[BlockQ8K]; R],
) -> [f32; R] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use super::neon::load_i8;
        use std::arch::aarch64::*;
        let nibble = vdupq_n_u8(0x0f);
        let mut fsum = [vdupq_n_f32(0.0); R];
        let mut fmin = [vdupq_n_f32(0.0); R];
        for (b, wb) in w.iter().enumerate() {
            let (scales, mins) = scales_mins(&wb.scales);
            let d = f16::from_bits(wb.d).to_f32();
            let dmin = f16::from_bits(wb.dmin).to_f32();
            // dmin times each min, four lanes twice.
            let wide = vmovl_u8(vld1_u8(mins.as_ptr()));
            let mins = [vget_low_u16(wide), vget_high_u16(wide)]
                .map(|m| vmulq_n_f32(vcvtq_f32_u32(vmovl_u16(m)), dmin));
            let mut isum = [vdupq_n_s32(0); R];
            for c in 0..4 {
                let q0 = vld1q_u8(wb.qs.as_ptr().add(32 * c));
                let q1 = vld1q_u8(wb.qs.as_ptr().add(32 * c + 16));
                let lo0 = vreinterpretq_s8_u8(vandq_u8(q0, nibble));
                let lo1 = vreinterpretq_s8_u8(vandq_u8(q1, nibble));
                let hi0 = vreinterpretq_s8_u8(vshrq_n_u8(q0, 4));
                let hi1 = vreinterpretq_s8_u8(vshrq_n_u8(q1, 4));
                for i in 0..R {
                    let a = acts[i].get_unchecked(b).qs.as_ptr().add(64 * c);
                    let zero = vdupq_n_s32(0);
                    let p_lo = D::dot(D::dot(zero, lo0, load_i8(a)), lo1, load_i8(a.add(16)));
                    let p_hi = D::dot(
                        D::dot(zero, hi0, load_i8(a.add(32))),
                        hi1,
                        load_i8(a.add(48)),
                    );
                    isum[i] = vmlaq_n_s32(isum[i], p_lo, scales[2 * c] as i32);
                    isum[i] = vmlaq_n_s32(isum[i], p_hi, scales[2 * c + 1] as i32);
                }
            }
            for i in 0..R {
                let a = acts[i].get_unchecked(b);
                let x = a.scaled_sums.as_ptr();
                fsum[i] = vfmaq_n_f32(fsum[i], vcvtq_f32_s32(isum[i]), d * a.d);
                fmin[i] = vfmaq_f32(fmin[i], mins[0], vld1q_f32(x));
                fmin[i] = vfmaq_f32(fmin[i], mins[1], vld1q_f32(x.add(4)));
            }
        }
        let mut out = [0f32; R];
        for i in 0..R {
            out[i] = vaddvq_f32(fsum[i]) - vaddvq_f32(fmin[i]);
        }
        out
    }
}
