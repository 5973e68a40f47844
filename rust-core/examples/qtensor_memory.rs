//! How much anonymous memory the same GGUF costs when loaded the usual candle
//! way (every tensor read into a `QTensor`, as candle-transformers'
//! `quantized_phi` does) against memory-mapped `MappedTensor`s, after one
//! single-row matmul through every text weight (which is when candle repacks).
//!
//! ```sh
//! cargo run --release -p imp-core --example qtensor_memory -- qtensor FILE.gguf
//! cargo run --release -p imp-core --example qtensor_memory -- mapped FILE.gguf
//! ```
//! Run each in its own process: the figures are this process's RssAnon.

use candle_core::quantized::{gguf_file, QMatMul};
use candle_core::{Device, Module, Tensor};
use imp_core::weights::gguf::GgufFile;
use imp_core::weights::mapped::MappedTensor;

fn rss_anon_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A loaded weight: its input width and its single-row matmul.
type Weight = (usize, Box<dyn Fn(&Tensor) -> candle_core::Result<Tensor>>);

fn main() -> anyhow_free::Result {
    let mut args = std::env::args().skip(1);
    let (mode, path) = (
        args.next().unwrap_or_default(),
        args.next().unwrap_or_default(),
    );
    let file = GgufFile::open(std::path::Path::new(&path))?;
    let text: Vec<_> = file
        .tensors
        .iter()
        .filter(|(n, t)| n.starts_with("model.layers.") && t.shape.rank() == 2)
        .collect();
    let started = std::time::Instant::now();
    let mut weights: Vec<Weight> = Vec::new();
    match mode.as_str() {
        "qtensor" => {
            let mut reader = std::fs::File::open(&path)?;
            let content = gguf_file::Content::read(&mut reader)?;
            for (name, info) in &text {
                let w = QMatMul::from_qtensor(content.tensor(&mut reader, name, &Device::Cpu)?)?;
                weights.push((info.shape.dims()[1], Box::new(move |x| w.forward(x))));
            }
        }
        "mapped" => {
            for (_, t) in &text {
                let w = MappedTensor::new(
                    file.mmap().clone(),
                    t.offset,
                    t.size,
                    t.dtype,
                    t.shape.clone(),
                )?;
                weights.push((t.shape.dims()[1], Box::new(move |x| w.matmul_t(x, None))));
            }
        }
        _ => {
            eprintln!("usage: qtensor_memory qtensor|mapped FILE.gguf");
            return Ok(());
        }
    }
    println!(
        "loaded {} tensors: {:.0} MB anonymous, {:.1} s",
        weights.len(),
        rss_anon_mb(),
        started.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    for (k, matmul) in &weights {
        matmul(&Tensor::ones(
            (1, *k),
            candle_core::DType::F32,
            &Device::Cpu,
        )?)?;
    }
    println!(
        "after one matmul each: {:.0} MB anonymous; that first pass took {:.2} s",
        rss_anon_mb(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Examples may not add dependencies: a boxed error is enough here.
mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}
