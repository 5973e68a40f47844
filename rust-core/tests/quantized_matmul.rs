//! candle's quantized matmul kernels, which take different SIMD paths on x86
//! (AVX2) and on phones (NEON, dotprod), against the float matmul of the same
//! dequantized weights. Run natively and under qemu-aarch64 (tests/aarch64.sh).
//!
//! The kernels quantize the activations too (to 8 bits), so the two sides differ
//! by that rounding: measured relative L2 error 0.31-0.42 % on x86 for every type
//! here. A kernel bug (wrong block layout, scale, or lane order) gives errors
//! of tens of percent; the bound of 1.5 % separates the two.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

/// Deterministic values in [-1, 1) without a random-number dependency.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn relative_error(actual: &Tensor, expected: &Tensor) -> f32 {
    let a: Vec<f32> = actual.flatten_all().unwrap().to_vec1().unwrap();
    let e: Vec<f32> = expected.flatten_all().unwrap().to_vec1().unwrap();
    let diff: f32 = a.iter().zip(&e).map(|(x, y)| (x - y).powi(2)).sum();
    let norm: f32 = e.iter().map(|y| y * y).sum();
    (diff / norm).sqrt()
}

#[test]
fn quantized_matmul_matches_the_dequantized_weights() {
    let dev = Device::Cpu;
    // k a multiple of 256 (k-quant blocks); m = 1 is the decode step, m = 7 a
    // small prefill, which take different code paths.
    let (n, k) = (96, 512);
    let weights = Tensor::from_vec(values(n * k, 1), (n, k), &dev).unwrap();
    for dtype in [
        GgmlDType::Q4_0,
        GgmlDType::Q4_1,
        GgmlDType::Q5_0,
        GgmlDType::Q8_0,
        GgmlDType::Q2K,
        GgmlDType::Q3K,
        GgmlDType::Q4K,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
    ] {
        let quantized = QTensor::quantize(&weights, dtype).unwrap();
        let dequantized = quantized.dequantize(&dev).unwrap();
        let matmul = QMatMul::from_qtensor(quantized).unwrap();
        for m in [1, 7] {
            let x = Tensor::from_vec(values(m * k, 2 + m as u64), (m, k), &dev).unwrap();
            let expected = x.matmul(&dequantized.t().unwrap()).unwrap();
            let actual = matmul.forward(&x).unwrap();
            let err = relative_error(&actual, &expected);
            assert!(err < 0.015, "{dtype:?} m={m}: relative error {err}");
        }
    }
}
