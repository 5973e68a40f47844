//! `q6_K` weights (the LM head under 4-bit quantization) against `q8_K`
//! activations, one weight row with up to eight activation rows.
//!
//! The ggml block (210 bytes, 256 values): 128 bytes of low nibbles `ql`, 64
//! bytes of 2-bit high parts `qh`, sixteen i8 scales (one per 16 values) and an
//! f16 `d`; value v (0..63) stands for `d * scale * (v - 32)`. In each half
//! of 128 values (ql + 64, qh + 32, scales + 8), byte l < 32 gives
//! value l:      low nibble of ql[l],      bits 0-1 of qh[l];
//! value l + 32: low nibble of ql[l + 32], bits 2-3 of qh[l];
//! value l + 64: high nibble of ql[l],     bits 4-5 of qh[l];
//! value l + 96: high nibble of ql[l + 32], bits 6-7 of qh[l].
//! The `- 32` is applied through the activations' 16-value sums, so the
//! products stay unsigned x signed.

use super::q8::{BlockQ8K, QK_K};
use super::Isa;
use half::f16;

#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ6K {
    pub ql: [u8; QK_K / 2],
    pub qh: [u8; QK_K / 4],
    pub scales: [i8; QK_K / 16],
    pub d: u16,
}
const _: () = assert!(std::mem::size_of::<BlockQ6K>() == 210);

/// The 256 values 0..63 of a block, in order.
pub(super) fn values(b: &BlockQ6K) -> [u8; QK_K] {
    let mut v = [0u8; QK_K];
    for half in 0..2 {
        let (ql, qh) = (&b.ql[64 * half..], &b.qh[32 * half..]);
        let out = &mut v[128 * half..];
        for l in 0..32 {
            out[l] = (ql[l] & 15) | ((qh[l] & 3) << 4);
            out[l + 32] = (ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4);
            out[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            out[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
    }
    v
}

row_kernels!(BlockQ6K, BlockQ8K, avx512);

/// sum over the 16 groups of scale * (sum of the group's activations): the
/// `- 32` offset's share, to subtract 32 times.
#[inline(always)]
fn offset(scales: &[i8; 16], a: &BlockQ8K) -> i32 {
    scales
        .iter()
        .zip(&a.sums)
        .map(|(&s, &q)| s as i32 * q as i32)
        .sum()
}

fn scalar<const R: usize>(w: &[BlockQ6K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    let mut out = [0f32; R];
    for (b, wb) in w.iter().enumerate() {
        let v = values(wb);
        let d = f16::from_bits(wb.d).to_f32();
        for (o, a) in out.iter_mut().zip(acts) {
            let a = &a[b];
            let mut isum = 0i32;
            for (g, &s) in wb.scales.iter().enumerate() {
                let group: i32 = v[16 * g..16 * g + 16]
                    .iter()
                    .zip(&a.qs[16 * g..16 * g + 16])
                    .map(|(&v, &x)| v as i32 * x as i32)
                    .sum();
                isum += s as i32 * group;
            }
            isum -= 32 * offset(&wb.scales, a);
            *o += d * a.d * isum as f32;
        }
    }
    out
}

/// `fsum` plus one block's share against activation block `a`: the integer
/// sums `isum` less 32 x scale x each group's activation sum (the values
/// are stored 32 up), times `d * a.d`. Inlined into the AVX2 and AVX-512
/// paths.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn add_block(
    fsum: std::arch::x86_64::__m256,
    isum: std::arch::x86_64::__m256i,
    scales16: std::arch::x86_64::__m256i,
    a: &BlockQ8K,
    d: f32,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // SAFETY: the features are the caller's contract; the load reads the
    // block's 16 sums.
    unsafe {
        let sums = _mm256_loadu_si256(a.sums.as_ptr() as *const __m256i);
        let off = _mm256_slli_epi32(_mm256_madd_epi16(scales16, sums), 5);
        let total = _mm256_sub_epi32(isum, off);
        _mm256_fmadd_ps(_mm256_set1_ps(d * a.d), _mm256_cvtepi32_ps(total), fsum)
    }
}

/// Values 0-31, 32-63, 64-95 and 96-127 of half `half` of a block (0..63
/// each). Inlined into the AVX2 and AVX-512 paths, whose AVX2 it runs under.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn half_values(wb: &BlockQ6K, half: usize) -> [std::arch::x86_64::__m256i; 4] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use std::arch::x86_64::*;
        let low4 = _mm256_set1_epi8(0x0f);
        let bits45 = _mm256_set1_epi8(0x30);
        let ql = wb.ql.as_ptr().add(64 * half);
        let qa = _mm256_loadu_si256(ql as *const __m256i);
        let qb = _mm256_loadu_si256(ql.add(32) as *const __m256i);
        let qh = _mm256_loadu_si256(wb.qh.as_ptr().add(32 * half) as *const __m256i);
        let join = |low: __m256i, high: __m256i| {
            _mm256_or_si256(_mm256_and_si256(low, low4), _mm256_and_si256(high, bits45))
        };
        [
            join(qa, _mm256_slli_epi16(qh, 4)),
            join(qb, _mm256_slli_epi16(qh, 2)),
            join(_mm256_srli_epi16(qa, 4), qh),
            join(_mm256_srli_epi16(qb, 4), _mm256_srli_epi16(qh, 2)),
        ]
    }
}

/// # Safety
/// The CPU must have AVX2, FMA and F16C, and every `acts[i]` must hold
/// `w.len()` blocks (the format's `dot` checks it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::needless_range_loop)]
unsafe fn avx2_impl<const R: usize>(w: &[BlockQ6K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use std::arch::x86_64::*;
        // Byte shuffles putting i16 lane 2t of the low half over the low half's
        // lanes and lane 2t + 1 of the high half over the high half's.
        let spread: [__m256i; 4] = std::array::from_fn(|t| {
            let (lo, hi) = (4 * t as i16, 4 * t as i16 + 2);
            _mm256_set_m128i(
                _mm_set1_epi16(((hi + 1) << 8) | hi),
                _mm_set1_epi16(((lo + 1) << 8) | lo),
            )
        });
        let mut fsum = [_mm256_setzero_ps(); R];
        for (b, wb) in w.iter().enumerate() {
            let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(wb.d as i32)));
            let scales8 = _mm_loadu_si128(wb.scales.as_ptr() as *const __m128i);
            let scales16 = _mm256_cvtepi8_epi16(scales8);
            let mut isum = [_mm256_setzero_si256(); R];
            for half in 0..2 {
                let v = half_values(wb, half);
                // Lanes 0-7 of a product hold values 0-15 of its 32, lanes 8-15 the
                // rest: scales 2t and 2t + 1 of this half.
                let half_scales = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(if half == 0 {
                    scales8
                } else {
                    _mm_unpackhi_epi64(scales8, scales8)
                }));
                let scales: [__m256i; 4] =
                    std::array::from_fn(|t| _mm256_shuffle_epi8(half_scales, spread[t]));
                for i in 0..R {
                    let a = acts[i].get_unchecked(b).qs.as_ptr().add(128 * half);
                    for t in 0..4 {
                        let x = _mm256_loadu_si256(a.add(32 * t) as *const __m256i);
                        // u8 (<= 63) x i8 pairs fit i16; x scale -> i32.
                        let p = _mm256_madd_epi16(_mm256_maddubs_epi16(v[t], x), scales[t]);
                        isum[i] = _mm256_add_epi32(isum[i], p);
                    }
                }
            }
            for i in 0..R {
                fsum[i] = add_block(fsum[i], isum[i], scales16, acts[i].get_unchecked(b), d);
            }
        }
        super::avx2::hsums(fsum)
    }
}

/// After `packs`, 128-bit lane k of half h holds four sums of group
/// 8h + k, then four of group 8h + 4 + k: each i16 lane's scale index. A
/// constant: built in the kernel, its 64 closure calls ran on every call,
/// once per LM-head row (3% of a decode step's samples).
#[cfg(target_arch = "x86_64")]
const GROUP_SCALES: [[i16; 32]; 2] = {
    let mut idx = [[0i16; 32]; 2];
    let mut h = 0;
    while h < 2 {
        let mut j = 0;
        while j < 32 {
            idx[h][j] = (8 * h + j / 8 + if j % 8 < 4 { 0 } else { 4 }) as i16;
            j += 1;
        }
        h += 1;
    }
    idx
};

/// 64 values per `vpdpbusd`: values 0-63 and 64-127 of each half in one
/// 512-bit register each, against the activations' 64 consecutive values.
/// A product's 16 lane sums cover four groups of 16 values (at most
/// 4 * 63 * 127, within i16); two products are packed to i16 and multiplied
/// by their groups' scales with `vpdpwssd`.
///
/// # Safety
/// The CPU must have AVX-512 F, BW, VL and VNNI besides AVX2, FMA and
/// F16C, and every weight and activation row must hold as many blocks as
/// the first weight row (`dot` checks it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[allow(clippy::needless_range_loop)]
unsafe fn avx512_impl<const R: usize>(w: &[BlockQ6K], acts: &[&[BlockQ8K]; R]) -> [f32; R] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use std::arch::x86_64::*;
        let idx = GROUP_SCALES.map(|idx| _mm512_loadu_si512(idx.as_ptr() as *const __m512i));
        let zero = _mm512_setzero_si512();
        let mut fsum = [_mm256_setzero_ps(); R];
        for (b, wb) in w.iter().enumerate() {
            let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(wb.d as i32)));
            let scales16 =
                _mm256_cvtepi8_epi16(_mm_loadu_si128(wb.scales.as_ptr() as *const __m128i));
            let wide16 = _mm512_castsi256_si512(scales16);
            let scales = [
                _mm512_permutexvar_epi16(idx[0], wide16),
                _mm512_permutexvar_epi16(idx[1], wide16),
            ];
            let v: [[__m512i; 2]; 2] = std::array::from_fn(|half| {
                let [v0, v1, v2, v3] = half_values(wb, half);
                let join = |lo, hi| _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
                [join(v0, v1), join(v2, v3)]
            });
            for i in 0..R {
                let a = acts[i].get_unchecked(b);
                let x = |at: usize| _mm512_loadu_si512(a.qs.as_ptr().add(at) as *const __m512i);
                let mut isum = zero;
                for half in 0..2 {
                    let p0 = _mm512_dpbusd_epi32(zero, v[half][0], x(128 * half));
                    let p1 = _mm512_dpbusd_epi32(zero, v[half][1], x(128 * half + 64));
                    isum = _mm512_dpwssd_epi32(isum, _mm512_packs_epi32(p0, p1), scales[half]);
                }
                let isum = _mm256_add_epi32(
                    _mm512_castsi512_si256(isum),
                    _mm512_extracti64x4_epi64(isum, 1),
                );
                fsum[i] = add_block(fsum[i], isum, scales16, a, d);
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
    w: &[BlockQ6K],
    acts: &[&[BlockQ8K]; R],
) -> [f32; R] {
    // SAFETY: the caller upholds this function's `# Safety` contract,
    // which covers every intrinsic, pointer and unchecked read below.
    unsafe {
        use super::neon::load_i8;
        use std::arch::aarch64::*;
        let low4 = vdupq_n_u8(0x0f);
        let two = vdupq_n_u8(0x03);
        let mut fsum = [vdupq_n_f32(0.0); R];
        for (b, wb) in w.iter().enumerate() {
            let d = f16::from_bits(wb.d).to_f32();
            let mut isum = [vdupq_n_s32(0); R];
            for half in 0..2 {
                let ql = wb.ql.as_ptr().add(64 * half);
                let qh = wb.qh.as_ptr().add(32 * half);
                // 16-value groups in order: (ql bytes, shift of ql, shift of qh).
                let mut v = [vdupq_n_s8(0); 8];
                for part in 0..2 {
                    let l0 = vld1q_u8(ql.add(16 * part));
                    let l1 = vld1q_u8(ql.add(32 + 16 * part));
                    let h = vld1q_u8(qh.add(16 * part));
                    let high = |shift: i32| -> uint8x16_t {
                        let bits = match shift {
                            0 => h,
                            2 => vshrq_n_u8(h, 2),
                            4 => vshrq_n_u8(h, 4),
                            _ => vshrq_n_u8(h, 6),
                        };
                        vshlq_n_u8(vandq_u8(bits, two), 4)
                    };
                    v[part] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l0, low4), high(0)));
                    v[2 + part] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l1, low4), high(2)));
                    v[4 + part] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l0, 4), high(4)));
                    v[6 + part] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l1, 4), high(6)));
                }
                for i in 0..R {
                    let a = acts[i].get_unchecked(b).qs.as_ptr().add(128 * half);
                    for g in 0..8 {
                        let p = D::dot(vdupq_n_s32(0), v[g], load_i8(a.add(16 * g)));
                        isum[i] = vmlaq_n_s32(isum[i], p, wb.scales[8 * half + g] as i32);
                    }
                }
            }
            for i in 0..R {
                let a = acts[i].get_unchecked(b);
                let off = offset(&wb.scales, a);
                // The offset joins lane 0, keeping the block's sum exact in integers.
                let total = vsetq_lane_s32::<0>(vgetq_lane_s32::<0>(isum[i]) - 32 * off, isum[i]);
                fsum[i] = vfmaq_n_f32(fsum[i], vcvtq_f32_s32(total), d * a.d);
            }
        }
        let mut out = [0f32; R];
        for i in 0..R {
            out[i] = vaddvq_f32(fsum[i]);
        }
        out
    }
}
