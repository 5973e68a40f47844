//! Our int8 kernels (`imp_core::kernels`), every ISA path this CPU runs (x86:
//! scalar, AVX2 and AVX-512 VNNI; aarch64 under qemu: scalar, NEON and NEON `sdot`), against
//! candle's dequantization of the same blocks.
//!
//! - Integer exactness: blocks whose scales are powers of two and activations
//!   that quantize without rounding make every partial sum exactly
//!   representable, so every path must give the exact dot product, bit for bit.
//! - Realistic blocks (candle's own quantizer on random weights): each path
//!   within 1e-5 of sum |w x| of the exact product of the dequantized weights
//!   and the dequantized activations (f32 products of at most 2^24 integer
//!   block sums, added in a different order per path: measured under 1e-6),
//!   and within 1.5 % relative L2 of candle's float matmul on the unquantized
//!   activations.
//! - A row's result does not depend on the rows multiplied with it.

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use imp_core::kernels::q8::{quantize_q8, quantize_q8k, BlockQ8, BlockQ8K};
use imp_core::kernels::{matmul_t, Isa, IsaKind};

const TYPES: [GgmlDType; 3] = [GgmlDType::Q4K, GgmlDType::Q6K, GgmlDType::Q8_0];

/// Deterministic pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn uniform(&mut self) -> f32 {
        (self.next() as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    }
    fn int(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo + 1) as u64) as i32
    }
}

fn dequantize(dtype: GgmlDType, bytes: &[u8], (n, k): (usize, usize)) -> Vec<f32> {
    let q = qtensor_from_ggml(dtype, bytes, vec![n, k], &Device::Cpu).unwrap();
    q.dequantize(&Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// What the kernels multiply with: the activations after their 8-bit rounding.
fn quantized_activations(dtype: GgmlDType, x: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    if dtype == GgmlDType::Q8_0 {
        let mut b = vec![BlockQ8::ZERO; x.len() / 32];
        quantize_q8(x, &mut b);
        for b in &b {
            out.extend(b.qs.iter().map(|&q| q as f32 * b.d));
        }
    } else {
        let mut b = vec![BlockQ8K::ZERO; x.len() / 256];
        quantize_q8k(x, &mut b);
        for b in &b {
            out.extend(b.qs.iter().map(|&q| q as f32 * b.d));
        }
    }
    out
}

fn run(isa: Isa, dtype: GgmlDType, bytes: &[u8], (n, k): (usize, usize), x: &[f32]) -> Vec<f32> {
    let mut out = vec![f32::NAN; x.len() / k * n];
    assert!(matmul_t(isa, dtype, bytes, (n, k), x, &mut out));
    out
}

/// f64 products of `w` (n, k) and `x` (m, k): (value, sum of |terms|) per output.
fn exact(w: &[f32], x: &[f32], n: usize, k: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for xr in x.chunks(k) {
        for wr in w.chunks(k).take(n) {
            let (s, a) = wr.iter().zip(xr).fold((0f64, 0f64), |(s, a), (&w, &x)| {
                let p = w as f64 * x as f64;
                (s + p, a + p.abs())
            });
            out.push((s, a));
        }
    }
    out
}

fn f16_bits(v: f32) -> [u8; 2] {
    half::f16::from_f32(v).to_bits().to_le_bytes()
}

/// Random blocks of `dtype` whose float scales are powers of two.
fn exact_blocks(dtype: GgmlDType, blocks: usize, rng: &mut Rng) -> Vec<u8> {
    let mut b = Vec::new();
    for _ in 0..blocks {
        match dtype {
            GgmlDType::Q4K => {
                b.extend(f16_bits(1.0 / 16.0));
                b.extend(f16_bits(1.0 / 32.0));
                b.extend((0..12 + 128).map(|_| rng.next() as u8));
            }
            GgmlDType::Q6K => {
                b.extend((0..128 + 64).map(|_| rng.next() as u8));
                b.extend((0..16).map(|_| rng.int(-64, 63) as i8 as u8));
                b.extend(f16_bits(1.0 / 16.0));
            }
            GgmlDType::Q8_0 => {
                b.extend(f16_bits(1.0 / 16.0));
                b.extend((0..32).map(|_| rng.int(-127, 127) as i8 as u8));
            }
            _ => unreachable!(),
        }
    }
    b
}

/// Activations that quantize exactly: small integers times 1/8, with one value
/// of 127/8 per 32 (so every block's scale is exactly 1/8).
fn exact_activations(len: usize, rng: &mut Rng) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let q = if i % 32 == 5 { 127 } else { rng.int(-8, 8) };
            q as f32 / 8.0
        })
        .collect()
}

#[test]
fn integer_sums_are_exact_on_every_path() {
    let mut rng = Rng(7);
    let (n, k) = (9, 512);
    for dtype in TYPES {
        let bytes = exact_blocks(dtype, n * k / dtype.block_size(), &mut rng);
        let w = dequantize(dtype, &bytes, (n, k));
        for m in [1, 3, 6, 8] {
            let x = exact_activations(m * k, &mut rng);
            assert_eq!(
                quantized_activations(dtype, &x),
                x,
                "activations must be exact"
            );
            let want: Vec<f32> = exact(&w, &x, n, k).iter().map(|e| e.0 as f32).collect();
            for &isa in &Isa::available() {
                let got = run(isa, dtype, &bytes, (n, k), &x);
                assert_eq!(got, want, "{dtype:?} {isa:?} m={m}");
            }
        }
    }
}

#[test]
fn realistic_blocks_match_candle_dequantization() {
    let dev = Device::Cpu;
    let mut rng = Rng(11);
    let (n, k) = (70, 768);
    for dtype in TYPES {
        let weights: Vec<f32> = (0..n * k).map(|_| rng.uniform()).collect();
        let wt = Tensor::from_vec(weights, (n, k), &dev).unwrap();
        let q = QTensor::quantize(&wt, dtype).unwrap();
        let bytes = q.data().unwrap().to_vec();
        let w = dequantize(dtype, &bytes, (n, k));
        for m in [1, 2, 5, 9, 70] {
            let x: Vec<f32> = (0..m * k).map(|_| rng.uniform()).collect();
            let reference = exact(&w, &quantized_activations(dtype, &x), n, k);
            let float = exact(&w, &x, n, k);
            for &isa in &Isa::available() {
                let got = run(isa, dtype, &bytes, (n, k), &x);
                for (g, (e, scale)) in got.iter().zip(&reference) {
                    let err = (*g as f64 - e).abs() / scale;
                    assert!(err < 1e-5, "{dtype:?} {isa:?} m={m}: {g} vs {e} ({err:e})");
                }
                let (diff, norm) = got.iter().zip(&float).fold((0f64, 0f64), |(d, n), (g, f)| {
                    (d + (*g as f64 - f.0).powi(2), n + f.0 * f.0)
                });
                let rel = (diff / norm).sqrt();
                assert!(rel < 0.015, "{dtype:?} {isa:?} m={m}: relative L2 {rel}");
            }
        }
    }
}

#[test]
fn a_rows_result_does_not_depend_on_its_neighbours() {
    let mut rng = Rng(3);
    let (n, k) = (33, 512);
    for dtype in TYPES {
        let weights: Vec<f32> = (0..n * k).map(|_| rng.uniform()).collect();
        let wt = Tensor::from_vec(weights, (n, k), &Device::Cpu).unwrap();
        let bytes = QTensor::quantize(&wt, dtype)
            .unwrap()
            .data()
            .unwrap()
            .to_vec();
        let m = 67;
        let x: Vec<f32> = (0..m * k).map(|_| rng.uniform()).collect();
        for &isa in &Isa::available() {
            let all = run(isa, dtype, &bytes, (n, k), &x);
            for (i, xr) in x.chunks(k).enumerate() {
                let alone = run(isa, dtype, &bytes, (n, k), xr);
                assert_eq!(
                    &all[i * n..(i + 1) * n],
                    &alone[..],
                    "{dtype:?} {isa:?} row {i}"
                );
            }
        }
    }
}

/// Long rows on one thread: a prompt's kernels may unpack a chunk of
/// weight rows ahead in several pieces (AVX-512: as many rows as fit
/// 256 KiB unpacked, two of 256 blocks here), each piece's outputs in
/// their own columns; every row still matches the row computed alone.
#[test]
fn long_rows_in_pieces_give_each_row_its_own_result() {
    let mut rng = Rng(5);
    let (n, k, m) = (64, 256 * 256, 9);
    let weights: Vec<f32> = (0..n * k).map(|_| rng.uniform()).collect();
    let wt = Tensor::from_vec(weights, (n, k), &Device::Cpu).unwrap();
    let bytes = QTensor::quantize(&wt, GgmlDType::Q4K)
        .unwrap()
        .data()
        .unwrap()
        .to_vec();
    let x: Vec<f32> = (0..m * k).map(|_| rng.uniform()).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for &isa in &Isa::available() {
        let all = pool.install(|| run(isa, GgmlDType::Q4K, &bytes, (n, k), &x));
        for (i, xr) in x.chunks(k).enumerate() {
            let alone = run(isa, GgmlDType::Q4K, &bytes, (n, k), xr);
            assert_eq!(&all[i * n..(i + 1) * n], &alone[..], "{isa:?} row {i}");
        }
    }
}

#[test]
fn every_path_is_found() {
    let paths = Isa::available();
    assert_eq!(paths[0].kind(), IsaKind::Scalar);
    assert!(paths.contains(&Isa::best()));
    #[cfg(target_arch = "aarch64")]
    {
        assert!(paths.iter().any(|isa| isa.kind() == IsaKind::Neon));
        // qemu's -cpu max has both: the i8mm path must then be among those tested.
        let i8mm = std::arch::is_aarch64_feature_detected!("dotprod")
            && std::arch::is_aarch64_feature_detected!("i8mm");
        assert_eq!(
            i8mm,
            paths.iter().any(|isa| isa.kind() == IsaKind::NeonI8mm)
        );
    }
    eprintln!("kernel paths here: {paths:?}, best {:?}", Isa::best());
}
