//! The one aarch64 primitive the int8 kernels are written over: a 16-byte
//! signed dot product accumulated into four i32 lanes, with `sdot` where the
//! CPU has it and widening multiplies where it does not.
//!
//! `sdot` (and i8mm's `smmla`) are emitted with inline assembly because their
//! intrinsics are not stable Rust; kernels that use them are compiled inside
//! a function with the `dotprod` (`i8mm`) target feature and are only called
//! after run-time detection.

use std::arch::aarch64::*;

/// `acc` after one int8 multiply-accumulate instruction (`sdot`, `smmla`) on
/// two 16-byte vectors, by inline assembly: neither intrinsic is stable Rust.
/// Expands to an unsafe operation: the CPU must have the instruction.
macro_rules! int8_mla {
    ($instruction:literal, $acc:expr, $a:expr, $b:expr) => {{
        let mut acc = $acc;
        std::arch::asm!(
            concat!($instruction, " {acc:v}.4s, {a:v}.16b, {b:v}.16b"),
            acc = inout(vreg) acc,
            a = in(vreg) $a,
            b = in(vreg) $b,
            options(pure, nomem, nostack, preserves_flags)
        );
        acc
    }};
}

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
        // SAFETY: the caller upholds this function's `# Safety` contract
        // (the instruction exists); it reads and writes registers only.
        unsafe { int8_mla!("sdot", acc, a, b) }
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

/// ARMv8.6 `smmla`: `acc + A B^T` for the 2x8 matrices `a` and `b` (rows are
/// bytes 0-7 and 8-15), so lane `2i + j` gains row i of `a` dotted with row j
/// of `b`.
///
/// # Safety
/// The CPU must have i8mm.
#[inline(always)]
pub(super) unsafe fn smmla(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: the caller upholds this function's `# Safety` contract (the
    // instruction exists); it reads and writes registers only.
    unsafe { int8_mla!("smmla", acc, a, b) }
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
