//! f16 to f32, the one conversion the float paths share: the attention widens
//! cached keys and values eight at a time as it reads them, the dense matmul
//! whole weight rows into its panels. Both conversions are exact.

use half::f16;

use super::Isa;

/// How eight f16 values become f32, chosen by the caller's ISA path. A value
/// of the type is the evidence that its instructions may run.
pub(super) trait Widen: Copy + Send + Sync {
    /// Code holding this conversion runs on the AVX2 path (AVX2, FMA and
    /// F16C present).
    #[cfg(target_arch = "x86_64")]
    const AVX2: bool = false;
    fn eight(self, src: &[f16]) -> [f32; 8];
}

/// Any CPU: `half` picks the conversion instruction at run time (FCVTL on
/// ARM, F16C on x86 where present).
#[derive(Clone, Copy)]
pub(super) struct Portable;

impl Widen for Portable {
    #[inline(always)]
    fn eight(self, src: &[f16]) -> [f32; 8] {
        use half::slice::HalfFloatSliceExt;
        let mut out = [0f32; 8];
        src[..8].convert_to_f32_slice(&mut out);
        out
    }
}

/// x86-64 F16C, for code compiled with the `f16c` target feature. Its field
/// is private: the only one is made by [`F16c::on`], from an AVX2 `Isa`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(super) struct F16c(());

#[cfg(target_arch = "x86_64")]
impl F16c {
    /// The conversion, if `isa` runs AVX2 code (detected with F16C).
    pub(super) fn on(isa: Isa) -> Option<F16c> {
        isa.has_avx2().then_some(F16c(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Widen for F16c {
    const AVX2: bool = true;
    #[inline(always)]
    fn eight(self, src: &[f16]) -> [f32; 8] {
        use std::arch::x86_64::*;
        assert!(src.len() >= 8);
        // SAFETY: `self` exists, so an `Isa` found F16C; the load reads the
        // eight values checked above.
        unsafe {
            let wide = _mm256_cvtph_ps(_mm_loadu_si128(src.as_ptr() as *const __m128i));
            std::mem::transmute::<__m256, [f32; 8]>(wide)
        }
    }
}

/// `dst = src` as f32, on the path `isa` names.
pub(super) fn f16_to_f32(isa: Isa, src: &[f16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if let Some(widen) = F16c::on(isa) {
        #[target_feature(enable = "avx2,f16c")]
        unsafe fn avx2(widen: F16c, src: &[f16], dst: &mut [f32]) {
            by_eight(widen, src, dst)
        }
        // SAFETY: an `F16c` is only made from an `Isa` with AVX2 and F16C.
        return unsafe { avx2(widen, src, dst) };
    }
    let _ = isa;
    use half::slice::HalfFloatSliceExt;
    src.convert_to_f32_slice(dst)
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn by_eight<W: Widen>(widen: W, src: &[f16], dst: &mut [f32]) {
    let whole = src.len() / 8 * 8;
    for (s, d) in src[..whole]
        .chunks_exact(8)
        .zip(dst[..whole].chunks_exact_mut(8))
    {
        d.copy_from_slice(&widen.eight(s));
    }
    for (s, d) in src[whole..].iter().zip(&mut dst[whole..]) {
        *d = s.to_f32();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path, on a length with a tail, against `half`'s scalar conversion.
    #[test]
    fn every_path_is_exact() {
        let src: Vec<f16> = (0..29u16).map(|i| f16::from_bits(i * 2203 + 7)).collect();
        for isa in Isa::available() {
            let mut dst = vec![f32::NAN; src.len()];
            f16_to_f32(isa, &src, &mut dst);
            for (s, d) in src.iter().zip(&dst) {
                assert_eq!(s.to_f32().to_bits(), d.to_bits(), "{isa:?} {s}");
            }
        }
    }
}
