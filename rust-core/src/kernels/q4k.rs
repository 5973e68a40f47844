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
//! Per super-block the integer sums are exact:
//! `sum_s scale[s] * dot(v_s, q_s)` and `sum_s min[s] * sum(q_s)` (the latter
//! from the activation block's 16-value sums); only the final
//! `d * d_act * isum - dmin * d_act * imin` is float.

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
    let word = |i: usize| u32::from_le_bytes(packed[4 * i..4 * i + 4].try_into().unwrap());
    let (w0, w1, w2) = (word(0), word(1), word(2));
    const LOW6: u32 = 0x3f3f_3f3f;
    const LOW4: u32 = 0x0f0f_0f0f;
    const TOP2: u32 = 0x0303_0303;
    let scales_lo = w0 & LOW6;
    let scales_hi = (w2 & LOW4) | (((w0 >> 6) & TOP2) << 4);
    let mins_lo = w1 & LOW6;
    let mins_hi = ((w2 >> 4) & LOW4) | (((w1 >> 6) & TOP2) << 4);
    let join = |a: u32, b: u32| {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&a.to_le_bytes());
        out[4..].copy_from_slice(&b.to_le_bytes());
        out
    };
    (join(scales_lo, scales_hi), join(mins_lo, mins_hi))
}

/// `out[i] = dot(w, acts[i])` for 1 to 4 activation rows of `w.len()` blocks.
pub(super) fn dot(isa: Isa, w: &[BlockQ4K], acts: &[&[BlockQ8K]], out: &mut [f32]) {
    macro_rules! rows {
        ($f:ident) => {
            match acts.len() {
                1 => out.copy_from_slice(&$f::<1>(w, acts.try_into().unwrap())),
                2 => out.copy_from_slice(&$f::<2>(w, acts.try_into().unwrap())),
                3 => out.copy_from_slice(&$f::<3>(w, acts.try_into().unwrap())),
                4 => out.copy_from_slice(&$f::<4>(w, acts.try_into().unwrap())),
                n => unreachable!("{n} activation rows"),
            }
        };
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => rows!(avx2),
        #[cfg(target_arch = "aarch64")]
        Isa::NeonDot => rows!(neon_dot),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => rows!(neon),
        _ => rows!(scalar),
    }
}

fn scalar<const R: usize>(w: &[BlockQ4K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    let mut out = [0f32; R];
    for (b, wb) in w.iter().enumerate() {
        let (scales, mins) = scales_mins(&wb.scales);
        let d = f16::from_bits(wb.d).to_f32();
        let dmin = f16::from_bits(wb.dmin).to_f32();
        for (o, a) in out.iter_mut().zip(acts) {
            let a = &a[b];
            let (mut isum, mut imin) = (0i32, 0i32);
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
            for (s, &m) in mins.iter().enumerate() {
                imin += m as i32 * (a.sums[2 * s] as i32 + a.sums[2 * s + 1] as i32);
            }
            *o += d * a.d * isum as f32 - dmin * a.d * imin as f32;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
fn avx2<const R: usize>(w: &[BlockQ4K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    // SAFETY: only dispatched when `Isa::available` found AVX2 and FMA.
    unsafe { avx2_impl(w, acts) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)]
unsafe fn avx2_impl<const R: usize>(w: &[BlockQ4K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    use std::arch::x86_64::*;
    let nibble = _mm256_set1_epi8(0x0f);
    let mut fsum = [_mm256_setzero_ps(); R];
    let mut fmin = [_mm256_setzero_ps(); R];
    for (b, wb) in w.iter().enumerate() {
        let (scales, mins) = scales_mins(&wb.scales);
        let d = f16::from_bits(wb.d).to_f32();
        let dmin = f16::from_bits(wb.dmin).to_f32();
        // Each min twice: it multiplies the two 16-value sums of its sub-block.
        let mut mins2 = [0u8; 16];
        for (s, &m) in mins.iter().enumerate() {
            mins2[2 * s] = m;
            mins2[2 * s + 1] = m;
        }
        let mins16 = _mm256_cvtepu8_epi16(_mm_loadu_si128(mins2.as_ptr() as *const __m128i));
        let mut isum = [_mm256_setzero_si256(); R];
        for c in 0..4 {
            let q = _mm256_loadu_si256(wb.qs.as_ptr().add(32 * c) as *const __m256i);
            let lo = _mm256_and_si256(q, nibble);
            let hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), nibble);
            let s_lo = _mm256_set1_epi16(scales[2 * c] as i16);
            let s_hi = _mm256_set1_epi16(scales[2 * c + 1] as i16);
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
            let sums = _mm256_loadu_si256(a.sums.as_ptr() as *const __m256i);
            let imin = _mm256_madd_epi16(mins16, sums);
            fsum[i] = _mm256_fmadd_ps(
                _mm256_set1_ps(d * a.d),
                _mm256_cvtepi32_ps(isum[i]),
                fsum[i],
            );
            fmin[i] = _mm256_fmadd_ps(
                _mm256_set1_ps(dmin * a.d),
                _mm256_cvtepi32_ps(imin),
                fmin[i],
            );
        }
    }
    let mut out = [0f32; R];
    for i in 0..R {
        out[i] = super::avx2::hsum(fsum[i]) - super::avx2::hsum(fmin[i]);
    }
    out
}

#[cfg(target_arch = "aarch64")]
fn neon_dot<const R: usize>(w: &[BlockQ4K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    #[target_feature(enable = "dotprod")]
    unsafe fn run<const R: usize>(w: &[BlockQ4K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
        neon_impl::<super::neon::Sdot, R>(w, acts)
    }
    // SAFETY: only dispatched when `Isa::available` found dotprod.
    unsafe { run(w, acts) }
}

#[cfg(target_arch = "aarch64")]
fn neon<const R: usize>(w: &[BlockQ4K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { neon_impl::<super::neon::Widening, R>(w, acts) }
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn neon_impl<D: super::neon::DotI8, const R: usize>(
    w: &[BlockQ4K],
    acts: &[&[BlockQ8K]; R],
) -> [f32; R] {
    use super::neon::load_i8;
    use std::arch::aarch64::*;
    let nibble = vdupq_n_u8(0x0f);
    let mut fsum = [vdupq_n_f32(0.0); R];
    let mut fmin = [0f32; R];
    for (b, wb) in w.iter().enumerate() {
        let (scales, mins) = scales_mins(&wb.scales);
        let d = f16::from_bits(wb.d).to_f32();
        let dmin = f16::from_bits(wb.dmin).to_f32();
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
            let mut imin = 0i32;
            for (s, &m) in mins.iter().enumerate() {
                imin += m as i32 * (a.sums[2 * s] as i32 + a.sums[2 * s + 1] as i32);
            }
            fsum[i] = vfmaq_n_f32(fsum[i], vcvtq_f32_s32(isum[i]), d * a.d);
            fmin[i] += dmin * a.d * imin as f32;
        }
    }
    let mut out = [0f32; R];
    for i in 0..R {
        out[i] = vaddvq_f32(fsum[i]) - fmin[i];
    }
    out
}
