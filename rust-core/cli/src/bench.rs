//! `imp bench`: the paper's Table 4 protocol (`imp_tools::bench`, the
//! same code the apps' benchmark screens run) on any model file, or on random
//! weights of a published shape.

use anyhow::Result;
use clap::Args;
use imp_core::CancelToken;
use imp_tools::bench::{run_benchmark, BenchModel, BenchOptions, BenchProgress, BenchRecord};
use imp_tools::convert::QuantPolicy;
use std::path::PathBuf;
use std::time::Instant;

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
    /// With a llama.cpp text GGUF as --model: its mmproj GGUF.
    #[arg(long, requires = "model")]
    mmproj: Option<PathBuf>,
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
    /// Tokens of the question whose time to first token is measured.
    #[arg(long, default_value_t = 10)]
    question_tokens: usize,
    /// The question's text instead, as given (its tokens are reported).
    #[arg(long)]
    question: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let model = match (&args.model, &args.synthetic) {
        (Some(path), _) => BenchModel::File {
            path: path.clone(),
            mmproj: args.mmproj.clone(),
        },
        (None, Some(preset)) => BenchModel::Synthetic {
            preset: preset.clone(),
            policy: QuantPolicy {
                text: crate::convert::dtype(&args.quant, "--quant")?,
                vision: crate::convert::dtype(&args.vision_quant, "--vision-quant")?,
            },
            scratch_dir: std::env::temp_dir(),
        },
        (None, None) => unreachable!("clap requires --model or --synthetic"),
    };
    let options = BenchOptions {
        image_size: args.image_size,
        prompt_tokens: args.prompt_tokens,
        gen_tokens: args.gen_tokens,
        threads: args.threads,
        repeat: args.repeat,
        question_tokens: args.question_tokens,
        question: args.question.clone(),
    };
    let started = Instant::now();
    let mut written = false;
    let mut progress = |p: BenchProgress| {
        if let (BenchProgress::Loading(_), false) = (p, written) {
            written = true;
            if args.synthetic.is_some() {
                eprintln!(
                    "synthetic model ({}, vision {}) written in {:.1} s",
                    args.quant,
                    args.vision_quant,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    };
    let record = run_benchmark(&model, &options, &mut progress, &CancelToken::new())?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&record)?),
        Format::Text => print_text(&record),
    }
    Ok(())
}

fn print_text(r: &BenchRecord) {
    let positions = r.runs[0].prompt_positions;
    println!(
        "{}: {} px, {} prompt tokens ({positions} positions with the image), {} generated, {} threads, {} kernels",
        r.model, r.image_size, r.prompt_tokens, r.gen_tokens, r.threads, r.kernels
    );
    println!("load {:.2} s", r.load_s);
    println!("run   vision s   prompt tok/s   gen tok/s   total s   TTFT cold s   TTFT ahead s");
    for (i, run) in r.runs.iter().enumerate() {
        println!(
            "{:<5} {:>8.2}   {:>12.1}   {:>9.2}   {:>7.2}   {:>11.2}   {:>12.3}",
            i + 1,
            run.vision_s,
            run.prompt_tok_s(),
            r.gen_tokens as f64 / run.gen_s,
            run.total_s(),
            run.ttft_cold_s,
            run.ttft_ahead_s
        );
    }
    println!(
        "median of runs after the first: vision {:.2} s, prompt {:.1} tok/s, generation {:.2} tok/s, total {:.2} s",
        r.vision_s, r.prompt_tok_s, r.gen_tok_s, r.total_s
    );
    println!(
        "time to first token ({}-token question): cold {:.2} s, picture given ahead {:.3} s",
        r.question_tokens, r.ttft_cold_s, r.ttft_ahead_s
    );
    println!(
        "peak RSS {:.0} MB, peak anonymous RSS {:.0} MB",
        r.peak_rss_bytes as f64 / 1e6,
        r.peak_anon_rss_bytes as f64 / 1e6
    );
}
