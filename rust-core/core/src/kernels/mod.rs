//! Our own matmul kernels over the memory-mapped GGUF blocks: int8 dot
//! products the way ggml computes them (activations quantized to 8 bits per
//! block, exact integer sums per block, one float multiply per block), tiled
//! so that a prompt's rows share each unpacked weight block, and run on the
//! engine's rayon pool.
//!
//! One file per concern: [`q8`] quantizes activations; [`q4k`], [`q6k`] and
//! [`q8_0`] are the dot products of each weight format, every ISA path side by
//! side (scalar reference, AVX2, NEON, NEON `sdot`); `q4k_vnni` is q4_K on
//! AVX-512 VNNI, with activations in its own order, and `q4k_mmla` q4_K on
//! ARM's i8mm, two weight rows by two activation rows an instruction; [`gemm`] threads them
//! over the tiles `tiles` cuts; [`dense`] multiplies float (f16) weights a panel at a time
//! (`dense_avx2` and `dense_avx512` are its x86 kernels), and `dense_q8`
//! q8_0 weights against 16-bit activations for the vision tower on x86;
//! [`fallback`] serves the other block types; [`gelu`] is the
//! MLPs' activation, vectorized; [`attention`]
//! reads the KV cache in place (f32 or f16); `widen` converts f16 to f32 for
//! both float paths; [`isa`] detects the CPU at run time.

/// `out[i] = $f::<R>(w, acts)[i]` with R = `acts.len()` (1 to 8).
macro_rules! by_rows {
    ($f:ident, $w:expr, $acts:expr, $out:expr) => {
        match $acts.len() {
            1 => $out.copy_from_slice(&$f::<1>($w, $acts.try_into().unwrap())),
            2 => $out.copy_from_slice(&$f::<2>($w, $acts.try_into().unwrap())),
            3 => $out.copy_from_slice(&$f::<3>($w, $acts.try_into().unwrap())),
            4 => $out.copy_from_slice(&$f::<4>($w, $acts.try_into().unwrap())),
            5 => $out.copy_from_slice(&$f::<5>($w, $acts.try_into().unwrap())),
            6 => $out.copy_from_slice(&$f::<6>($w, $acts.try_into().unwrap())),
            7 => $out.copy_from_slice(&$f::<7>($w, $acts.try_into().unwrap())),
            8 => $out.copy_from_slice(&$f::<8>($w, $acts.try_into().unwrap())),
            n => unreachable!("{n} activation rows"),
        }
    };
}

/// A weight format's `dot(isa, w, acts, out)`: `out[i] = dot(w, acts[i])` for
/// 1 to 8 activation rows, on the path `isa` names. The format's file supplies
/// `scalar::<R>`, `avx2_impl::<R>` (x86-64) and `neon_impl::<D, R>` (aarch64,
/// generic over the int8 dot primitive); with `avx512` also
/// `avx512_impl::<R>`, which AVX-512 VNNI CPUs run instead of the AVX2 code.
macro_rules! row_kernels {
    ($w:ty, $a:ty, avx512) => {
        row_kernels!(@dispatch $w, $a, avx512);

        #[cfg(target_arch = "x86_64")]
        fn avx512<const R: usize>(w: &[$w], acts: &[&[$a]; R]) -> [f32; R] {
            // SAFETY: only dispatched for an `Isa` of that kind, which only
            // detection of AVX-512 F, BW, VL and VNNI besides AVX2, FMA and
            // F16C builds; `dot` checked the rows' lengths.
            unsafe { avx512_impl(w, acts) }
        }
    };
    ($w:ty, $a:ty) => {
        row_kernels!(@dispatch $w, $a, avx2);
    };
    (@dispatch $w:ty, $a:ty, $wide:ident) => {
        pub(super) fn dot(isa: Isa, w: &[$w], acts: &[&[$a]], out: &mut [f32]) {
            // The SIMD bodies read activation block b for every weight block
            // b unchecked: this is the one place their lengths are held.
            assert!(
                acts.iter().all(|a| a.len() == w.len()) && out.len() == acts.len(),
                "a weight row of {} blocks against activation rows of other lengths",
                w.len()
            );
            use super::isa::IsaKind;
            match isa.kind() {
                #[cfg(target_arch = "x86_64")]
                IsaKind::Avx2 => by_rows!(avx2, w, acts, out),
                #[cfg(target_arch = "x86_64")]
                IsaKind::Avx512Vnni => by_rows!($wide, w, acts, out),
                #[cfg(target_arch = "aarch64")]
                IsaKind::NeonDot | IsaKind::NeonI8mm => by_rows!(neon_dot, w, acts, out),
                #[cfg(target_arch = "aarch64")]
                IsaKind::Neon => by_rows!(neon, w, acts, out),
                _ => by_rows!(scalar, w, acts, out),
            }
        }

        #[cfg(target_arch = "x86_64")]
        fn avx2<const R: usize>(w: &[$w], acts: &[&[$a]; R]) -> [f32; R] {
            // SAFETY: only dispatched for an `Isa` built by detecting AVX2, FMA
            // and F16C; `dot` checked the rows' lengths.
            unsafe { avx2_impl(w, acts) }
        }

        #[cfg(target_arch = "aarch64")]
        fn neon_dot<const R: usize>(w: &[$w], acts: &[&[$a]; R]) -> [f32; R] {
            /// # Safety
            /// As the format's `neon_impl` with `Sdot`.
            #[target_feature(enable = "dotprod")]
            unsafe fn run<const R: usize>(w: &[$w], acts: &[&[$a]; R]) -> [f32; R] {
                // SAFETY: passed on from this function's contract.
                unsafe { neon_impl::<super::neon::Sdot, R>(w, acts) }
            }
            // SAFETY: only dispatched for an `Isa` built by detecting dotprod
            // (NeonDot, and NeonI8mm, detected only with it); `dot` checked
            // the rows' lengths.
            unsafe { run(w, acts) }
        }

        #[cfg(target_arch = "aarch64")]
        fn neon<const R: usize>(w: &[$w], acts: &[&[$a]; R]) -> [f32; R] {
            // SAFETY: NEON is part of the aarch64 baseline; `dot` checked the
            // rows' lengths.
            unsafe { neon_impl::<super::neon::Widening, R>(w, acts) }
        }
    };
}

pub mod attention;
pub mod dense;
pub mod fallback;
pub mod gelu;
pub mod gemm;
pub mod isa;
pub mod q4k;
#[cfg(target_arch = "aarch64")]
mod q4k_mmla;
#[cfg(target_arch = "x86_64")]
pub mod q4k_vnni;
pub mod q6k;
pub mod q8;
pub mod q8_0;
mod tiles;
mod widen;

#[cfg(target_arch = "x86_64")]
mod attention_avx2;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod dense_avx2;
#[cfg(target_arch = "x86_64")]
mod dense_avx512;
#[cfg(target_arch = "x86_64")]
pub mod dense_q8;
#[cfg(target_arch = "aarch64")]
mod neon;

use candle_core::quantized::GgmlDType;

pub use isa::{Isa, IsaKind};

/// Whether [`matmul_t`] has an integer kernel for `dtype`.
pub fn supports(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4K | GgmlDType::Q6K | GgmlDType::Q8_0)
}

/// Views `bytes` as blocks of `W` (2-byte aligned, whole blocks).
fn blocks<W>(bytes: &[u8]) -> &[W] {
    let size = std::mem::size_of::<W>();
    assert!(
        bytes.len().is_multiple_of(size)
            && (bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<W>()),
        "weight bytes are not whole aligned blocks"
    );
    // SAFETY: length and alignment checked; the block types are plain bytes
    // and u16s, valid for any bit pattern.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const W, bytes.len() / size) }
}

/// `out (m, n) = x (m, k) @ w^T` for a weight of `n` rows of `k` values stored
/// as `dtype` blocks in `bytes`, on `isa`. Returns false (and leaves `out`
/// alone) if `dtype` has no kernel or `k` is not whole blocks of it.
pub fn matmul_t(
    isa: Isa,
    dtype: GgmlDType,
    bytes: &[u8],
    (n, k): (usize, usize),
    x: &[f32],
    out: &mut [f32],
) -> bool {
    use gemm::Format;
    fn run<F: Format>(
        isa: Isa,
        bytes: &[u8],
        n: usize,
        k: usize,
        x: &[f32],
        out: &mut [f32],
    ) -> bool {
        if k == 0 || !k.is_multiple_of(F::BLOCK) {
            return false;
        }
        gemm::matmul::<F>(isa, blocks::<F::W>(bytes), n, k, x, out);
        true
    }
    match dtype {
        #[cfg(target_arch = "x86_64")]
        GgmlDType::Q4K if isa.kind() == IsaKind::Avx512Vnni => {
            run::<gemm::Q4KVnni>(isa, bytes, n, k, x, out)
        }
        #[cfg(target_arch = "aarch64")]
        GgmlDType::Q4K if isa.kind() == IsaKind::NeonI8mm => {
            run::<gemm::Q4KMmla>(isa, bytes, n, k, x, out)
        }
        GgmlDType::Q4K => run::<gemm::Q4K>(isa, bytes, n, k, x, out),
        GgmlDType::Q6K => run::<gemm::Q6K>(isa, bytes, n, k, x, out),
        GgmlDType::Q8_0 => run::<gemm::Q8_0>(isa, bytes, n, k, x, out),
        _ => false,
    }
}
