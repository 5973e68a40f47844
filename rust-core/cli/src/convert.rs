//! `imp convert`: a float checkpoint (directory or hub repo id) to one Imp GGUF.

use anyhow::{bail, Context, Result};
use clap::Args;
use imp_core::convert::{convert, parse_dtype, ConvertOptions, QuantPolicy};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

use crate::hub;

#[derive(Args)]
pub struct ConvertArgs {
    /// Checkpoint directory, or a hub repo id such as MILVLG/Imp-v1.5-3B-196.
    #[arg(long)]
    model: String,
    /// The GGUF file to write.
    #[arg(long)]
    out: PathBuf,
    /// Language model matrices: q4_0, q4_k, q8_0 or f16 (also q4_1, q5_0, q5_1,
    /// q2_k, q3_k, q5_k, q6_k, f32).
    #[arg(long, default_value = "q4_k")]
    quant: String,
    /// Vision tower and projector matrices.
    #[arg(long, default_value = "f16")]
    vision_quant: String,
}

pub fn run(args: &ConvertArgs) -> Result<()> {
    let text = dtype(&args.quant, "--quant")?;
    let vision = dtype(&args.vision_quant, "--vision-quant")?;
    let dir = hub::resolve_model(&args.model)?;
    let options = ConvertOptions {
        policy: QuantPolicy { text, vision },
        name: args.model.trim_end_matches('/').to_string(),
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} tensors, {elapsed}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("{} -> {}", args.model, args.out.display()));
    let partial = args.out.with_extension("gguf.partial");
    let report = convert(&dir, &partial, &options, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e).with_context(|| format!("cannot convert {}", args.model));
        }
    };
    // Written under another name and renamed when complete: a killed conversion
    // never leaves a truncated file under the name an app would load.
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("cannot move the result to {}", args.out.display()))?;
    let types: Vec<String> = report
        .types
        .iter()
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    eprintln!(
        "wrote {} ({:.1} MB, {} tensors: {})",
        args.out.display(),
        report.bytes as f64 / 1e6,
        report.tensors,
        types.join(", ")
    );
    Ok(())
}

fn dtype(name: &str, flag: &str) -> Result<candle_core::quantized::GgmlDType> {
    match parse_dtype(name) {
        Some(d) => Ok(d),
        None => bail!("{flag} {name}: not a type (q4_0, q4_k, q8_0, f16, ...)"),
    }
}
