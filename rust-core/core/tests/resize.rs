//! The bicubic resize against Pillow, bit for bit, in every direction.
//!
//! Two checks:
//! - goldens: `golden/resize.safetensors` holds Pillow 13's output for noise
//!   pictures (drawn here and in `generate.py` from the same SplitMix64 stream)
//!   for all nine enlarged/kept/shrunk pairs, both sides of Pillow's pass-order
//!   rule, pictures of 1-4 px a side and extreme aspect ratios;
//! - a property: the fast resize equals `slow::resize`, a direct reading of
//!   Pillow's filter (support scaled by the reduction, weights normalised then
//!   rounded to 22-bit fixed point, two separable passes clipped to 8 bits each,
//!   full intermediate images, no windowing), on thousands of seeded cases.
//!
//! Why a seeded loop and not proptest: the cases are the same on every run and
//! every target (x86 and aarch64 under qemu check the very same inputs), no
//! dependency is added to the core's lockfile, and the size distribution is
//! chosen by hand to hit what matters (1-4 px sides, kept axes, the pass-order
//! boundary, large reductions) far more often than a generic strategy would.
//! What proptest adds, shrinking, matters little here: cases run smallest
//! first, so the first failure reported is already a small one, and it prints
//! the sizes and seed to replay it.

use candle_core::Device;
use imp_core::picture::resample::{resize_bicubic, Rgb8};
use std::path::PathBuf;

/// The noise picture `generate.py`'s `noise_picture` draws: byte i of the RGB
/// data is the top byte of SplitMix64 for the state `seed + (i + 1) * gamma`.
fn noise_picture(width: usize, height: usize, seed: u64) -> Rgb8 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    let data = (1..=(width * height * 3) as u64)
        .map(|i| {
            let mut z = seed.wrapping_add(i.wrapping_mul(GAMMA));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 56) as u8
        })
        .collect();
    Rgb8 {
        width,
        height,
        data,
    }
}

/// The seed `generate.py` uses for a picture of this size.
fn golden_seed(width: usize, height: usize) -> u64 {
    (width * 65536 + height) as u64
}

/// Pillow's bicubic, read directly from its definition and kept apart from the
/// fast code on purpose: planar channels, every intermediate row computed,
/// 64-bit sums, each pass a plain loop over output samples.
mod slow {
    use super::Rgb8;

    /// Keys' cubic convolution kernel with a = -0.5, written in the form Pillow
    /// evaluates it (the fixed-point weights depend on the last bit of it).
    fn kernel(x: f64) -> f64 {
        let a = -0.5;
        let x = x.abs();
        if x < 1.0 {
            ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            (((x - 5.0) * x + 8.0) * x - 4.0) * a
        } else {
            0.0
        }
    }

    /// For output sample `o` of `out_len` over `in_len` inputs: the first input
    /// it reads and its weights in 22-bit fixed point.
    fn weights(in_len: usize, out_len: usize, o: usize) -> (usize, Vec<i64>) {
        let scale = in_len as f64 / out_len as f64;
        // Shrinking stretches the kernel over `scale` inputs (a low-pass);
        // enlarging keeps it at its natural width.
        let stretch = if scale > 1.0 { scale } else { 1.0 };
        let support = 2.0 * stretch;
        let center = (o as f64 + 0.5) * scale;
        let first = ((center - support + 0.5).trunc() as i64).max(0) as usize;
        let end = ((center + support + 0.5).trunc() as i64).min(in_len as i64) as usize;
        let inverse = 1.0 / stretch;
        let raw: Vec<f64> = (first..end)
            .map(|i| kernel((i as f64 - center + 0.5) * inverse))
            .collect();
        let mut sum = 0.0;
        for w in &raw {
            sum += w;
        }
        let one = (1u64 << 22) as f64;
        let fixed = raw
            .iter()
            .map(|&w| {
                let w = if sum == 0.0 { w } else { w / sum };
                // Round half away from zero.
                if w < 0.0 {
                    (-0.5 + w * one).trunc() as i64
                } else {
                    (0.5 + w * one).trunc() as i64
                }
            })
            .collect();
        (first, fixed)
    }

    fn to_u8(sum: i64) -> u8 {
        (sum >> 22).clamp(0, 255) as u8
    }

    /// One channel as rows of samples.
    type Plane = Vec<Vec<u8>>;

    fn horizontal(plane: &Plane, width: usize) -> Plane {
        let in_width = plane[0].len();
        let taps: Vec<_> = (0..width).map(|x| weights(in_width, width, x)).collect();
        plane
            .iter()
            .map(|row| {
                taps.iter()
                    .map(|(first, w)| {
                        let sum: i64 = w
                            .iter()
                            .enumerate()
                            .map(|(k, &w)| row[first + k] as i64 * w)
                            .sum();
                        to_u8((1 << 21) + sum)
                    })
                    .collect()
            })
            .collect()
    }

    fn vertical(plane: &Plane, height: usize) -> Plane {
        let (in_height, width) = (plane.len(), plane[0].len());
        (0..height)
            .map(|y| {
                let (first, w) = weights(in_height, height, y);
                (0..width)
                    .map(|x| {
                        let sum: i64 = w
                            .iter()
                            .enumerate()
                            .map(|(k, &w)| plane[first + k][x] as i64 * w)
                            .sum();
                        to_u8((1 << 21) + sum)
                    })
                    .collect()
            })
            .collect()
    }

    pub fn resize(src: &Rgb8, width: usize, height: usize) -> Rgb8 {
        let (w0, h0) = (src.width as i64, src.height as i64);
        // Pillow runs the vertical pass first when the height loses more than
        // twice what the width loses; otherwise horizontal first.
        let vertical_first = h0 - height as i64 > 0 && h0 - height as i64 > 2 * (w0 - width as i64);
        let planes: Vec<Plane> = (0..3)
            .map(|c| {
                (0..src.height)
                    .map(|y| {
                        (0..src.width)
                            .map(|x| src.data[(y * src.width + x) * 3 + c])
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let planes: Vec<Plane> = planes
            .into_iter()
            .map(|p| {
                // A kept axis is not resampled at all.
                let h = |p: Plane| {
                    if width != src.width {
                        horizontal(&p, width)
                    } else {
                        p
                    }
                };
                let v = |p: Plane| {
                    if height != src.height {
                        vertical(&p, height)
                    } else {
                        p
                    }
                };
                if vertical_first {
                    h(v(p))
                } else {
                    v(h(p))
                }
            })
            .collect();
        let mut data = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                data.extend(planes.iter().map(|p| p[y][x]));
            }
        }
        Rgb8 {
            width,
            height,
            data,
        }
    }
}

/// Where two images first differ, and how many bytes do.
fn difference(got: &Rgb8, want: &[u8]) -> Option<String> {
    assert_eq!(got.data.len(), want.len(), "sizes differ");
    let differing: Vec<usize> = (0..want.len())
        .filter(|&i| got.data[i] != want[i])
        .collect();
    let &first = differing.first()?;
    let px = first / 3;
    Some(format!(
        "{} bytes differ; first at x {} y {} channel {}: {} instead of {}",
        differing.len(),
        px % got.width,
        px / got.width,
        first % 3,
        got.data[first],
        want[first]
    ))
}

fn parse_case(name: &str) -> ((usize, usize), (usize, usize)) {
    let dims = |s: &str| {
        let (w, h) = s.split_once('x').unwrap();
        (w.parse().unwrap(), h.parse().unwrap())
    };
    let (from, to) = name.split_once("_to_").unwrap();
    (dims(from), dims(to))
}

#[test]
fn every_direction_matches_pillow_bit_for_bit() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/golden/resize.safetensors");
    let goldens = candle_core::safetensors::load(path, &Device::Cpu).unwrap();
    let mut directions = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for (name, tensor) in &goldens {
        let ((w0, h0), (w, h)) = parse_case(name);
        assert_eq!(tensor.dims(), [h, w, 3], "{name}");
        let want: Vec<u8> = tensor.flatten_all().unwrap().to_vec1().unwrap();
        let src = noise_picture(w0, h0, golden_seed(w0, h0));
        directions.insert((w.cmp(&w0), h.cmp(&h0)));
        if let Some(diff) = difference(&resize_bicubic(&src, w, h), &want) {
            failures.push(format!("{name}: {diff}"));
        }
        // The slow reading of the filter must agree with Pillow too, or the
        // property test below would compare against the wrong thing. (Its
        // largest cases are left to the fast path: they take seconds unoptimised.)
        if w0 * h0 * w * h <= 40_000_000 {
            if let Some(diff) = difference(&slow::resize(&src, w, h), &want) {
                failures.push(format!("{name} (slow reference): {diff}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "differs from Pillow:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        directions.len(),
        9,
        "not every enlarged/kept/shrunk pair: {directions:?}"
    );
    assert!(goldens.len() >= 30, "only {} cases", goldens.len());
}

/// SplitMix64, to draw the property test's cases.
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// An input side: mostly small, sometimes 1-4 px, sometimes long.
    fn side(&mut self, limit: usize) -> usize {
        match self.below(8) {
            0 | 1 => 1 + self.below(4),
            2 => 1 + self.below(limit * 8),
            _ => 1 + self.below(limit),
        }
    }

    /// An output side for input side `from`: kept, enlarged, shrunk (often by
    /// a large factor) or tiny.
    fn target(&mut self, from: usize, limit: usize) -> usize {
        match self.below(6) {
            0 => from,
            1 => from + 1 + self.below(limit),
            2 => 1 + self.below(4),
            _ => 1 + self.below(from.max(2) - 1).min(limit),
        }
    }
}

#[test]
fn fast_resize_equals_the_direct_filter_on_seeded_cases() {
    let mut cases = Cases(0x1317);
    let mut directions = std::collections::BTreeSet::new();
    let mut vertical_first = 0;
    // Sides grow as cases go on, so a failure shows up first on a small case.
    for case in 0..2000 {
        let limit = 4 + case / 50;
        let (w0, mut h0) = (cases.side(limit), cases.side(limit));
        let (mut w, mut h) = (cases.target(w0, limit), cases.target(h0, limit));
        if case % 25 == 7 && w0 >= 2 {
            // Right on Pillow's pass-order boundary: the height loses exactly
            // twice what the width loses (horizontal first), or one row more.
            w = 1 + cases.below(w0 - 1);
            let lost = 2 * (w0 - w) + case % 2;
            h0 = h0.max(lost + 1 + cases.below(4));
            h = h0 - lost;
        }
        let seed = cases.next();
        let src = noise_picture(w0, h0, seed);
        let fast = resize_bicubic(&src, w, h);
        let slow = slow::resize(&src, w, h);
        assert_eq!((fast.width, fast.height), (w, h));
        if let Some(diff) = difference(&fast, &slow.data) {
            panic!("case {case}: {w0}x{h0} -> {w}x{h}, seed {seed:#x}: {diff}");
        }
        directions.insert((w.cmp(&w0), h.cmp(&h0)));
        let (lost_h, lost_w) = (h0 as i64 - h as i64, w0 as i64 - w as i64);
        vertical_first += usize::from(lost_h > 0 && lost_h > 2 * lost_w);
    }
    assert_eq!(directions.len(), 9, "{directions:?}");
    assert!(
        vertical_first > 300,
        "only {vertical_first} vertical-first cases"
    );
}
