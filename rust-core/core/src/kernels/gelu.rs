//! GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`) for the
//! vision tower's and Phi-2's MLPs, in a form the compiler vectorizes.
//!
//! candle computes it element by element through libm's `tanhf`, which was
//! about 5% of a cold answer's time (a 236-position prompt runs 77 million
//! activations through Phi-2's MLPs). Here the identity
//! `0.5 * (1 + tanh(u)) = 1 / (1 + exp(-2u))` turns it into one exponential
//! and one division, and the exponential is a branch-free polynomial
//! (`exp(r) * 2^n`, `|r| <= ln2 / 2`), so the loop runs 8 lanes wide on AVX2
//! and 4 on NEON or SSE2. Within 2e-7 * max(1, |x|) of the exact formula
//! (`tests` below); no contraction into FMA happens, so every path gives the
//! same bits.

use rayon::prelude::*;

use super::Isa;

/// Applies GELU (tanh approximation) to every element, on the current rayon pool.
pub fn gelu_tanh(xs: &mut [f32]) {
    const CHUNK: usize = 1 << 15;
    let isa = Isa::best();
    if xs.len() <= CHUNK {
        return apply(isa, xs);
    }
    xs.par_chunks_mut(CHUNK).for_each(|chunk| apply(isa, chunk));
}

fn apply(isa: Isa, xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx2() {
        // SAFETY: the x86 paths are only chosen when the CPU has AVX2.
        return unsafe { avx2(xs) };
    }
    let _ = isa;
    portable(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2(xs: &mut [f32]) {
    portable(xs)
}

#[inline(always)]
fn portable(xs: &mut [f32]) {
    for x in xs {
        *x = gelu(*x);
    }
}

#[inline(always)]
fn gelu(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let u = SQRT_2_OVER_PI * (x + 0.044_715 * (x * x * x));
    x / (1.0 + exp(-2.0 * u))
}

/// `e^x` for finite x, to about 1 ulp; beyond +-87 it saturates (the caller
/// divides by 1 + e^x, so the saturated values give 0 and x exactly).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^9.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer without
    // a rounding instruction (SSE2 has none), so the loop still vectorizes.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 87.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // exp(r) on [-ln2/2, ln2/2]: Cephes' expf polynomial.
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5e-1;
    let e = p * (r * r) + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) << 23) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(x: f32) -> f64 {
        let x = x as f64;
        let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
        0.5 * x * (1.0 + u.tanh())
    }

    /// Every value from -20 to 20 in steps of 1/1024, and the far tails.
    fn grid() -> Vec<f32> {
        let mut xs: Vec<f32> = (-20 * 1024..=20 * 1024)
            .map(|i| i as f32 / 1024.0)
            .collect();
        xs.extend([
            -1e30, -3e4, -100.0, -9.5, 9.5, 100.0, 3e4, 1e30, 1e-30, -1e-30, 0.0, -0.0,
        ]);
        xs
    }

    #[test]
    fn close_to_the_exact_formula_everywhere() {
        for isa in Isa::available() {
            let mut ys = grid();
            apply(isa, &mut ys);
            for (&x, &y) in grid().iter().zip(&ys) {
                let bound = 2e-7 * (x.abs() as f64).max(1.0);
                assert!(y.is_finite(), "{isa:?}: gelu({x}) = {y}");
                assert!(
                    (y as f64 - reference(x)).abs() <= bound,
                    "{isa:?}: gelu({x}) = {y}, exact {}",
                    reference(x)
                );
            }
        }
    }

    #[test]
    fn every_path_and_any_split_give_the_same_bits() {
        let xs: Vec<f32> = (0..100_000)
            .map(|i| ((i * 7919) % 20_000) as f32 / 1000.0 - 10.0)
            .collect();
        let mut whole = xs.clone();
        gelu_tanh(&mut whole);
        for isa in Isa::available() {
            let mut ys = xs.clone();
            for chunk in ys.chunks_mut(777) {
                apply(isa, chunk);
            }
            assert!(
                ys.iter()
                    .zip(&whole)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{isa:?}"
            );
        }
    }
}
