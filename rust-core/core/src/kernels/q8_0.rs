//! `q8_0` weights (the fallback for rows that are not whole k-quant blocks,
//! and `--quant q8_0`) against `q8_0`-style activations: per 32 values an
//! exact integer dot product, then one float multiply-add by both scales.

use super::q8::{BlockQ8, QK8_0};
use super::Isa;
use half::f16;

#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8_0 {
    pub d: u16,
    pub qs: [i8; QK8_0],
}
const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 34);

row_kernels!(BlockQ8_0, BlockQ8);

fn scalar<const R: usize>(w: &[BlockQ8_0], acts: &[&[BlockQ8]; R]) -> [f32; R] {
    let mut out = [0f32; R];
    for (b, wb) in w.iter().enumerate() {
        let d = f16::from_bits(wb.d).to_f32();
        for (o, a) in out.iter_mut().zip(acts) {
            let a = &a[b];
            let isum: i32 = wb
                .qs
                .iter()
                .zip(&a.qs)
                .map(|(&v, &x)| v as i32 * x as i32)
                .sum();
            *o += d * a.d * isum as f32;
        }
    }
    out
}

/// # Safety
/// The CPU must have AVX2, FMA and F16C, and every `acts[i]` must hold
/// `w.len()` blocks (the format's `dot` checks it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::needless_range_loop)]
unsafe fn avx2_impl<const R: usize>(w: &[BlockQ8_0], acts: &[&[BlockQ8]; R]) -> [f32; R] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use std::arch::x86_64::*;
        let ones = _mm256_set1_epi16(1);
        let mut fsum = [_mm256_setzero_ps(); R];
        for (b, wb) in w.iter().enumerate() {
            let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(wb.d as i32)));
            let q = _mm256_loadu_si256(wb.qs.as_ptr() as *const __m256i);
            // vpmaddubsw wants one unsigned side: |w| x (x with w's sign).
            let abs = _mm256_sign_epi8(q, q);
            for i in 0..R {
                let a = acts[i].get_unchecked(b);
                let x = _mm256_loadu_si256(a.qs.as_ptr() as *const __m256i);
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16(abs, _mm256_sign_epi8(x, q)), ones);
                fsum[i] = _mm256_fmadd_ps(_mm256_set1_ps(d * a.d), _mm256_cvtepi32_ps(p), fsum[i]);
            }
        }
        super::avx2::hsums(fsum)
    }
}

/// # Safety
/// The CPU must have what `D` needs (dotprod for [`super::neon::Sdot`]),
/// and every `acts[i]` must hold `w.len()` blocks (`dot` checks it).
#[cfg(target_arch = "aarch64")]
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn neon_impl<D: super::neon::DotI8, const R: usize>(
    w: &[BlockQ8_0],
    acts: &[&[BlockQ8]; R],
) -> [f32; R] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use super::neon::load_i8;
        use std::arch::aarch64::*;
        let mut fsum = [vdupq_n_f32(0.0); R];
        for (b, wb) in w.iter().enumerate() {
            let d = f16::from_bits(wb.d).to_f32();
            let (w0, w1) = (load_i8(wb.qs.as_ptr()), load_i8(wb.qs.as_ptr().add(16)));
            for i in 0..R {
                let a = acts[i].get_unchecked(b);
                let x = a.qs.as_ptr();
                let p = D::dot(
                    D::dot(vdupq_n_s32(0), w0, load_i8(x)),
                    w1,
                    load_i8(x.add(16)),
                );
                fsum[i] = vfmaq_n_f32(fsum[i], vcvtq_f32_s32(p), d * a.d);
            }
        }
        let mut out = [0f32; R];
        for i in 0..R {
            out[i] = vaddvq_f32(fsum[i]);
        }
        out
    }
}
