//! `imp convert`: a float checkpoint (directory or hub repo id) to one Imp GGUF.

use anyhow::{bail, Context, Result};
use clap::Args;
use imp_core::weights::gguf::parse_dtype;
use imp_core::{CancelToken, LoadOptions, ModelInfo};
use imp_tools::convert::{convert, ConvertOptions, ConvertReport, QuantPolicy};
use imp_tools::memory_watch::MemoryWatch;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

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
    /// Also write the pair llama.cpp runs: OUT-text.gguf (arch phi2, qwen2 or phi3) and
    /// OUT-mmproj.gguf (clip, projector mlp).
    #[arg(long)]
    llama_cpp: bool,
    /// Print the file's entry for models/catalog.json, with URL where it will
    /// be published (a placeholder if omitted).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    catalog_entry: Option<String>,
}

pub fn run(args: &ConvertArgs) -> Result<()> {
    let text = dtype(&args.quant, "--quant")?;
    let vision = dtype(&args.vision_quant, "--vision-quant")?;
    let dir = hub::checkpoint_dir(&args.model)?;
    let sibling = |suffix: &str| {
        let stem = args.out.file_stem().unwrap_or_default().to_string_lossy();
        args.out.with_file_name(format!("{stem}-{suffix}.gguf"))
    };
    let final_paths = [args.out.clone(), sibling("text"), sibling("mmproj")];
    let partial = |p: &PathBuf| p.with_extension("gguf.partial");
    let options = ConvertOptions {
        policy: QuantPolicy { text, vision },
        name: args.model.trim_end_matches('/').to_string(),
        llama_cpp: args
            .llama_cpp
            .then(|| (partial(&final_paths[1]), partial(&final_paths[2]))),
    };
    let memory = MemoryWatch::start();
    let started = std::time::Instant::now();
    let report = convert_with_bar(&dir, &partial(&args.out), &options, &args.model);
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            for p in &final_paths {
                let _ = std::fs::remove_file(partial(p));
            }
            return Err(e);
        }
    };
    // Written under another name and renamed when complete: a killed conversion
    // never leaves a truncated file under the name an app would load.
    let (peak_rss, peak_anon) = memory.stop();
    for (file, target) in report.files.iter().zip(&final_paths) {
        std::fs::rename(&file.path, target)
            .with_context(|| format!("cannot move the result to {}", target.display()))?;
        let types: Vec<String> = file.types.iter().map(|(t, n)| format!("{n} {t}")).collect();
        let sha256 = imp_store::download::sha256_file(target, &CancelToken::new(), &mut |_| {})?;
        eprintln!(
            "wrote {} ({} bytes, {} tensors: {})\n  sha256 {sha256}",
            target.display(),
            file.bytes,
            file.tensors,
            types.join(", ")
        );
        if target == &args.out {
            if let Some(url) = &args.catalog_entry {
                println!("{}", catalog_entry(args, target, file.bytes, &sha256, url)?);
            }
        }
    }
    eprintln!(
        "{:.1} s, peak RSS {:.0} MB (counting the mapped checkpoint's file pages), \
         peak anonymous {:.0} MB",
        started.elapsed().as_secs_f64(),
        peak_rss as f64 / 1e6,
        peak_anon as f64 / 1e6
    );
    Ok(())
}

/// Converts with a progress bar on stderr.
pub fn convert_with_bar(
    dir: &Path,
    out: &Path,
    options: &ConvertOptions,
    name: &str,
) -> Result<ConvertReport> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} tensors, {elapsed}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("converting {name}"));
    let report = convert(dir, out, options, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    report.with_context(|| format!("cannot convert {name}"))
}

/// The catalogue entry of a converted file (models/README.md says how to
/// publish one): what the engine reads from the file, and what a maintainer
/// must still write (name, what it is good for) marked as such.
fn catalog_entry(
    args: &ConvertArgs,
    file: &Path,
    size: u64,
    sha256: &str,
    url: &str,
) -> Result<String> {
    let info = ModelInfo::inspect(file, &LoadOptions::default())?;
    let variant = match (info.variant.as_str(), info.image_size) {
        ("imp-phi2", 196) => "imp-3b-196",
        ("imp-phi2", _) => "imp-3b",
        ("imp-qwen2", _) => "imp-2b",
        _ => "imp-4b",
    };
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let url = if url.is_empty() {
        eprintln!("note: no URL given (--catalog-entry URL): fill in where the file is published");
        format!("https://WHERE-IT-IS-PUBLISHED/{file_name}")
    } else {
        url.to_string()
    };
    let entry = serde_json::json!({
        "id": variant,
        "display_name": "WRITE A NAME FOR THE PICKER",
        "variant": variant,
        "source": { "repo": args.model.trim_end_matches('/'), "revision": "main" },
        "image_size": info.image_size,
        "memory_bytes": info.estimated_memory_bytes,
        "good_for": "WRITE ONE LINE: WHAT IT IS GOOD FOR",
        "files": [{
            "file_name": file_name,
            "url": url,
            "size_bytes": size,
            "sha256": sha256,
            "quantization": args.quant,
        }],
    });
    Ok(serde_json::to_string_pretty(&entry)?)
}

/// A `--quant`-style flag's type, or an error naming the flag.
pub fn dtype(name: &str, flag: &str) -> Result<candle_core::quantized::GgmlDType> {
    match parse_dtype(name) {
        Some(d) => Ok(d),
        None => bail!("{flag} {name}: not a type (q4_0, q4_k, q8_0, f16, ...)"),
    }
}
