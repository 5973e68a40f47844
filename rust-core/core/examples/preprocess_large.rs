//! Measures decoding and preprocessing a phone-sized photo.
//!
//!   cargo run --release -p imp-core --example preprocess_large -- make /tmp/photo12mp.jpg
//!   cargo run --release -p imp-core --example preprocess_large -- run /tmp/photo12mp.jpg
//!
//! `make` writes a 4032x3024 (12.2 MP) JPEG; `run` reports the time of each stage
//! (best of 5) and the process's peak resident memory (VmHWM), so run it in a
//! fresh process after `make`.

use imp_core::config::AspectMode;
use imp_core::picture::preprocess::{decode_rgb, ImagePreprocessor};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("make"), Some(path)) => make(path),
        (Some("run"), Some(path)) => run(path),
        _ => eprintln!("usage: preprocess_large make|run FILE.jpg"),
    }
}

fn make(path: &str) {
    let (w, h) = (4032u32, 3024u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) % 23;
        image::Rgb([
            (x * 255 / w) as u8 ^ n as u8,
            (y * 255 / h) as u8,
            ((x / 8 + y / 8) % 256) as u8,
        ])
    });
    img.save(path).expect("write jpeg");
    println!(
        "wrote {path} ({} bytes)",
        std::fs::metadata(path).unwrap().len()
    );
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..n {
        let start = Instant::now();
        out = Some(f());
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    (best, out.unwrap())
}

fn run(path: &str) {
    let bytes = std::fs::read(path).expect("read jpeg");
    let (decode_ms, rgb) = best_of(5, || decode_rgb(&bytes).expect("decode"));
    println!("decode {}x{}: {decode_ms:.1} ms", rgb.width, rgb.height);
    for size in [384, 196] {
        let pre = ImagePreprocessor {
            image_size: size,
            aspect: AspectMode::Squash,
        };
        let (ms, _) = best_of(5, || {
            pre.preprocess_rgb(&rgb, &candle_core::Device::Cpu).unwrap()
        });
        println!("resize + normalise to {size}: {ms:.1} ms");
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?");
    println!("peak RSS {}", peak.trim_start_matches("VmHWM:").trim());
}
