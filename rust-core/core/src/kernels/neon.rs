//! The one aarch64 primitive the int8 kernels are written over: a 16-byte
//! signed dot product accumulated into four i32 lanes, with `sdot` where the
//! CPU has it and widening multiplies where it does not.
//!
//! `sdot` is emitted with inline assembly because its intrinsic is not stable
//! Rust; kernels that use [`Sdot`] are compiled inside a function with the
//! `dotprod` target feature and are only called after run-time detection.

use std::arch::aarch64::*;

pub(super) trait DotI8 {
    /// `acc` plus, per lane i, the sum of a[4i..4i+4] * b[4i..4i+4] (which lane
    /// gets which products may differ between implementations; the total does not).
    ///
    /// # Safety
    /// The CPU must have the implementation's extension (dotprod for
    /// [`Sdot`]).
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t;
}

/// ARMv8.2 `sdot`.
pub(super) struct Sdot;

impl DotI8 for Sdot {
    /// # Safety
    /// The CPU must have the implementation's extension (dotprod for
    /// [`Sdot`]).
    #[inline(always)]
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        // SAFETY: the caller upholds this function's `# Safety` contract,
        // which covers every intrinsic, pointer and unchecked read below.
        unsafe {
            let mut acc = acc;
            std::arch::asm!(
                "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
                acc = inout(vreg) acc,
                a = in(vreg) a,
                b = in(vreg) b,
                options(pure, nomem, nostack, preserves_flags)
            );
            acc
        }
    }
}

/// Baseline NEON: 8x8 -> 16-bit products, pairwise added into the lanes.
pub(super) struct Widening;

impl DotI8 for Widening {
    /// # Safety
    /// The CPU must have the implementation's extension (dotprod for
    /// [`Sdot`]).
    #[inline(always)]
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        // SAFETY: the caller upholds this function's `# Safety` contract,
        // which covers every intrinsic, pointer and unchecked read below.
        unsafe {
            let lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
            let hi = vmull_high_s8(a, b);
            vpadalq_s16(vpadalq_s16(acc, lo), hi)
        }
    }
}

/// Loads 16 bytes as signed values.
///
/// # Safety
/// Sixteen bytes must be readable at `p`.
#[inline(always)]
pub(super) unsafe fn load_i8(p: *const i8) -> int8x16_t {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe { vld1q_s8(p) }
}
