//! Which instruction set the kernels run on, detected once at run time.
//!
//! The library is compiled for the baseline of each target (x86-64 with SSE2,
//! aarch64 with NEON), so the faster paths are chosen by asking the CPU, never
//! by compile-time flags: one build runs on every phone and every CI machine.
//!
//! An [`Isa`] is a capability, not a name: its field is private, so the only
//! way to hold one is to get it from [`Isa::best`] or [`Isa::available`], which
//! ask the CPU. The kernels' safe entry points take an `Isa` and run its
//! instructions on that evidence alone, so no safe code, in this crate or
//! outside it, can make them run AVX-512 on a CPU without it.

use std::sync::OnceLock;

/// A kernel path this CPU was found to run. Every path computes the same
/// integer sums per block (per sub-block for q4_K on AVX-512 VNNI, whose
/// scales apply in float); they differ only in the order the float products
/// are added (see `tests`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Isa {
    kind: IsaKind,
}

/// Which path an [`Isa`] is: for matching and naming, not for running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsaKind {
    /// Portable Rust, for any CPU; the reference the others are tested against.
    Scalar,
    /// x86-64 with AVX2, FMA and F16C (`vpmaddubsw` int8 products).
    Avx2,
    /// x86-64 with all of AVX2's and AVX-512 F, BW, VL and VNNI (`vpdpbusd`
    /// int8 products, 512-bit): the integer kernels that have such a path
    /// take it, everything else runs the AVX2 code.
    Avx512Vnni,
    /// aarch64 NEON without the dot-product extension (widening multiplies).
    Neon,
    /// aarch64 with `sdot` (ARMv8.2 dotprod: Snapdragon 845 on, Apple A11 on).
    NeonDot,
    /// aarch64 with `sdot` and `smmla` (ARMv8.6 i8mm: Cortex-A710/X2 and later
    /// cores, Apple A15 on): q4_K takes two weight rows and two activation
    /// rows per instruction; the other formats run the `sdot` code.
    NeonI8mm,
}

impl Isa {
    /// The fastest path this CPU runs. `IMP_KERNELS=scalar` (or `avx2`, `avx512vnni`,
    /// `neon`, `neondot`, `neoni8mm`) forces one, for measuring; an unavailable
    /// choice is ignored.
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            let available = Isa::available();
            let forced = std::env::var("IMP_KERNELS").ok().and_then(|name| {
                available
                    .iter()
                    .copied()
                    .find(|isa| isa.name().eq_ignore_ascii_case(name.trim()))
            });
            forced.unwrap_or(*available.last().expect("scalar is always available"))
        })
    }

    /// Every path this CPU can run, slowest first (the tests run them all).
    pub fn available() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut paths = vec![IsaKind::Scalar];
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
        {
            paths.push(IsaKind::Avx2);
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni")
            {
                paths.push(IsaKind::Avx512Vnni);
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            paths.push(IsaKind::Neon);
            if std::arch::is_aarch64_feature_detected!("dotprod") {
                paths.push(IsaKind::NeonDot);
                if std::arch::is_aarch64_feature_detected!("i8mm") {
                    paths.push(IsaKind::NeonI8mm);
                }
            }
        }
        paths.into_iter().map(|kind| Isa { kind }).collect()
    }

    pub fn kind(self) -> IsaKind {
        self.kind
    }

    /// Whether this path may run AVX2, FMA and F16C code (every x86 path but
    /// the scalar one).
    pub fn has_avx2(self) -> bool {
        matches!(self.kind, IsaKind::Avx2 | IsaKind::Avx512Vnni)
    }

    pub fn name(self) -> &'static str {
        match self.kind {
            IsaKind::Scalar => "scalar",
            IsaKind::Avx2 => "avx2",
            IsaKind::Avx512Vnni => "avx512vnni",
            IsaKind::Neon => "neon",
            IsaKind::NeonDot => "neondot",
            IsaKind::NeonI8mm => "neoni8mm",
        }
    }
}

impl std::fmt::Debug for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
