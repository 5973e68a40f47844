//! One model's vision encode, timed alone: loads a llama.cpp pair (or an Imp
//! file) and encodes random pictures at the tower's size on the engine's pool.
//!
//! cargo run --release -p imp-core --example vision_speed -- TEXT.gguf [MMPROJ.gguf] [--repeat 5]

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use imp_core::{Engine, EngineOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeat = args
        .iter()
        .position(|a| a == "--repeat")
        .map(|i| args[i + 1].parse())
        .transpose()?
        .unwrap_or(5);
    let files: Vec<&String> = args.iter().take_while(|a| !a.starts_with("--")).collect();
    let options = EngineOptions {
        threads: Some(2),
        mmproj: files.get(1).map(PathBuf::from),
        ..Default::default()
    };
    let engine = Engine::load(&PathBuf::from(files[0]), &options)?;
    let size = engine.model().config().vision.image_size;
    for run in 0..repeat {
        let pixels = Tensor::rand(-1f32, 1f32, (3, size, size), &Device::Cpu)?;
        let t = Instant::now();
        engine.run(|| engine.model().encode_image(&pixels))?;
        println!("run {run}: {:.3} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}
