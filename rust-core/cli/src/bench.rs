//! `imp bench`: the paper's Table 4 protocol on any model file, or on random
//! weights of a published shape.
//!
//! One run = a random image through the vision tower and projector, a prompt of
//! `--prompt-tokens` text tokens (the `<image>` placeholder among them) plus the
//! image's patches prefilled in one pass, then `--gen-tokens` greedy steps. Each
//! repeat starts a fresh KV cache; repeat 1 is shown apart from the median of the
//! others, so a first-call cost (lazy initialisation, weight repacking) shows.
//! Peak memory as `memory::MemoryWatch` measures it.

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use clap::Args;
use imp_core::generation::sampling::argmax;
use imp_core::model::language_model::KvCache;
use imp_core::model::ImpModel;
use imp_core::source::ModelSource;
use imp_core::tools::convert::QuantPolicy;
use imp_core::LoadOptions;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

use crate::memory::MemoryWatch;
use crate::output::Format;

#[derive(Args)]
pub struct BenchArgs {
    /// A checkpoint directory or GGUF file.
    #[arg(
        long,
        conflicts_with = "synthetic",
        required_unless_present = "synthetic"
    )]
    model: Option<PathBuf>,
    /// Random weights of a published shape instead: imp-3b-196, imp-3b-384,
    /// imp-2b, imp-4b (written to a temporary GGUF, deleted afterwards).
    #[arg(long)]
    synthetic: Option<String>,
    /// With --synthetic: the language model's type.
    #[arg(long, default_value = "q4_k")]
    quant: String,
    /// With --synthetic: the vision tower's and projector's type.
    #[arg(long, default_value = "f16")]
    vision_quant: String,
    /// Run the vision tower at this size (default: the model's).
    #[arg(long)]
    image_size: Option<usize>,
    /// Text tokens in the prompt, the image placeholder included (Table 4: 41).
    #[arg(long, default_value_t = 41)]
    prompt_tokens: usize,
    #[arg(long, default_value_t = 64)]
    gen_tokens: usize,
    /// Compute threads (default: one per physical core).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

struct Run {
    vision_s: f64,
    prompt_positions: usize,
    prompt_s: f64,
    gen_s: f64,
}

impl Run {
    fn total_s(&self) -> f64 {
        self.vision_s + self.prompt_s + self.gen_s
    }
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.prompt_tokens == 0 || args.repeat == 0 {
        bail!("--prompt-tokens and --repeat must be at least 1");
    }
    if let Some(n) = args.threads {
        // candle's quantized matmuls run on its own global pool, sized from this
        // variable when first used: set it before any tensor work.
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
    }
    let threads = args
        .threads
        .unwrap_or_else(candle_core::utils::get_num_threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("thread pool")?;
    let memory = MemoryWatch::start();
    let (path, _temp) = model_path(args)?;

    let started = Instant::now();
    let source = ModelSource::open(&path)?;
    let options = LoadOptions {
        image_size: args.image_size,
        ..Default::default()
    };
    let model = pool.install(|| ImpModel::load_with_progress(&source, &options, &mut |_| true))?;
    let load_s = started.elapsed().as_secs_f64();

    let runs = (0..args.repeat)
        .map(|i| pool.install(|| one_run(&model, args, i as u64)))
        .collect::<Result<Vec<_>>>()?;
    let (peak_rss, peak_anon) = memory.stop();
    let name = args
        .synthetic
        .clone()
        .unwrap_or_else(|| path.display().to_string());
    report(
        args, &name, &model, threads, load_s, &runs, peak_rss, peak_anon,
    );
    Ok(())
}

/// The model to load, and the temporary file to delete afterwards if synthetic.
fn model_path(args: &BenchArgs) -> Result<(PathBuf, Option<TempFile>)> {
    let Some(preset) = &args.synthetic else {
        return Ok((args.model.clone().expect("clap requires one"), None));
    };
    let policy = QuantPolicy {
        text: crate::convert::dtype(&args.quant, "--quant")?,
        vision: crate::convert::dtype(&args.vision_quant, "--vision-quant")?,
    };
    let path = std::env::temp_dir().join(format!(
        "imp-bench-{preset}-{}-{}.gguf",
        args.quant,
        std::process::id()
    ));
    let temp = TempFile(path.clone());
    let started = Instant::now();
    imp_core::tools::synthetic::write_synthetic(preset, policy, &path, &mut |_, _| {})?;
    eprintln!(
        "synthetic {preset} ({}, vision {}) written in {:.1} s: {:.2} GB",
        args.quant,
        args.vision_quant,
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&path)?.len() as f64 / 1e9
    );
    Ok((path, Some(temp)))
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn one_run(model: &ImpModel, args: &BenchArgs, seed: u64) -> Result<Run> {
    let config = model.config();
    let size = config.vision.image_size;
    let pixels = Tensor::rand(-1f32, 1f32, (3, size, size), &Device::Cpu)?;
    let t = Instant::now();
    let image = model.encode_image(&pixels)?;
    let vision_s = t.elapsed().as_secs_f64();

    // Text ids away from the special tokens; the values do not change the work.
    let vocab = config.text.vocab_size as u64;
    let image_id = config.image_token_index;
    let mut ids: Vec<u32> = (0..args.prompt_tokens as u64)
        .map(|i| ((i * 7919 + seed * 104_729) % (vocab / 2)) as u32 + 10)
        .map(|id| if id == image_id { id + 1 } else { id })
        .collect();
    ids[args.prompt_tokens.min(5) - 1] = image_id;
    let mut cache = KvCache::default();
    let t = Instant::now();
    let embeds = model.embed_prompt(&ids, Some(&image))?;
    let prompt_positions = embeds.dim(0)?;
    let mut logits = model.forward(&embeds, &mut cache)?;
    let prompt_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    for _ in 0..args.gen_tokens {
        let next = argmax(&logits.to_vec1::<f32>()?);
        logits = model.forward(&model.embed_prompt(&[next], None)?, &mut cache)?;
    }
    let gen_s = t.elapsed().as_secs_f64();
    Ok(Run {
        vision_s,
        prompt_positions,
        prompt_s,
        gen_s,
    })
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &BenchArgs,
    name: &str,
    model: &ImpModel,
    threads: usize,
    load_s: f64,
    runs: &[Run],
    peak_rss: u64,
    peak_anon: u64,
) {
    let per_run: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            json!({
                "vision_s": r.vision_s,
                "prompt_positions": r.prompt_positions,
                "prompt_tok_s": r.prompt_positions as f64 / r.prompt_s,
                "gen_tok_s": args.gen_tokens as f64 / r.gen_s,
                "total_s": r.total_s(),
            })
        })
        .collect();
    // Steady state: the median of the runs after the first (the first alone if
    // there is only one).
    let steady = if runs.len() > 1 { &runs[1..] } else { runs };
    let median = |f: &dyn Fn(&Run) -> f64| {
        let mut v: Vec<f64> = steady.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let summary = json!({
        "model": name,
        "image_size": model.config().vision.image_size,
        "prompt_tokens": args.prompt_tokens,
        "gen_tokens": args.gen_tokens,
        "threads": threads,
        "load_s": load_s,
        "vision_s": median(&|r| r.vision_s),
        "prompt_tok_s": median(&|r| r.prompt_positions as f64 / r.prompt_s),
        "gen_tok_s": median(&|r| args.gen_tokens as f64 / r.gen_s),
        "total_s": median(&|r| r.total_s()),
        "first_run_total_s": runs[0].total_s(),
        "peak_rss_mb": peak_rss as f64 / 1e6,
        "peak_anon_rss_mb": peak_anon as f64 / 1e6,
        "runs": per_run,
    });
    match args.format {
        Format::Json => println!("{summary}"),
        Format::Text => {
            let s = &summary;
            println!(
                "{name}: {} px, {} prompt tokens ({} positions with the image), {} generated, {threads} threads",
                s["image_size"], args.prompt_tokens, runs[0].prompt_positions, args.gen_tokens
            );
            println!("load {:.2} s", load_s);
            println!("run   vision s   prompt tok/s   gen tok/s   total s");
            for (i, r) in runs.iter().enumerate() {
                println!(
                    "{:<5} {:>8.2}   {:>12.1}   {:>9.2}   {:>7.2}",
                    i + 1,
                    r.vision_s,
                    r.prompt_positions as f64 / r.prompt_s,
                    args.gen_tokens as f64 / r.gen_s,
                    r.total_s()
                );
            }
            println!(
                "median of runs after the first: vision {:.2} s, prompt {:.1} tok/s, generation {:.2} tok/s, total {:.2} s",
                s["vision_s"].as_f64().unwrap_or_default(),
                s["prompt_tok_s"].as_f64().unwrap_or_default(),
                s["gen_tok_s"].as_f64().unwrap_or_default(),
                s["total_s"].as_f64().unwrap_or_default(),
            );
            println!(
                "peak RSS {:.0} MB, peak anonymous RSS {:.0} MB",
                peak_rss as f64 / 1e6,
                peak_anon as f64 / 1e6
            );
        }
    }
}
