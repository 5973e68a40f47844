//! The on-device benchmark: the paper's Table 4 protocol, the same code and
//! record as `imp bench` (`imp_tools::bench`).

use std::path::PathBuf;
use std::sync::Arc;

use imp_tools::bench::{self, BenchModel, BenchOptions, BenchProgress};
use imp_tools::convert::QuantPolicy;

use crate::cancellation::CancelHandle;
use crate::error::ImpFfiError;
use crate::guard::on_worker;

#[derive(Debug, Clone, uniffi::Enum)]
pub enum BenchmarkTarget {
    /// An installed model file.
    Model { path: String },
    /// Random weights of a published shape (`imp-3b-196`, `imp-3b-384`,
    /// `imp-2b`, `imp-4b`) at q4_k, written under `scratch_dir` and deleted
    /// afterwards (needs the model's size free there).
    Synthetic { preset: String, scratch_dir: String },
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct BenchmarkOptions {
    /// Vision tower input size (default: the model's).
    #[uniffi(default = None)]
    pub image_size: Option<u32>,
    #[uniffi(default = 41)]
    pub prompt_tokens: u32,
    #[uniffi(default = 64)]
    pub gen_tokens: u32,
    #[uniffi(default = None)]
    pub threads: Option<u32>,
    #[uniffi(default = 3)]
    pub repeat: u32,
    /// Tokens of the question whose time to first answer token is measured.
    #[uniffi(default = 10)]
    pub question_tokens: u32,
}

/// Where the benchmark is.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum BenchmarkStage {
    Writing { done: u32, total: u32 },
    Loading { fraction: f32 },
    Run { index: u32, of: u32 },
}

#[uniffi::export(with_foreign)]
pub trait BenchmarkListener: Send + Sync {
    fn on_stage(&self, stage: BenchmarkStage);
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct BenchmarkRun {
    pub vision_s: f64,
    pub prompt_positions: u32,
    pub prompt_s: f64,
    pub gen_s: f64,
    /// Picture and question together to the first answer token.
    #[uniffi(default = 0.0)]
    pub ttft_cold_s: f64,
    /// Question to the first answer token, the picture handed over before.
    #[uniffi(default = 0.0)]
    pub ttft_ahead_s: f64,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct BenchmarkRecord {
    pub model: String,
    pub weights_dtype: String,
    pub image_size: u32,
    pub prompt_tokens: u32,
    pub gen_tokens: u32,
    pub threads: u32,
    pub load_s: f64,
    pub runs: Vec<BenchmarkRun>,
    /// Medians over the runs after the first.
    pub vision_s: f64,
    pub prompt_tok_s: f64,
    pub gen_tok_s: f64,
    pub total_s: f64,
    pub first_run_total_s: f64,
    /// Peak resident memory (mapped weights included), and the peak of what
    /// the low-memory killer counts: anonymous memory on Android, the
    /// physical footprint on iOS. 0 where the platform does not report it.
    pub peak_rss_bytes: u64,
    pub peak_anon_rss_bytes: u64,
    /// The record as `imp bench --format json` prints it.
    pub json: String,
    /// Medians of the time to the first answer token of a `question_tokens`
    /// question: cold, and with the picture handed over ahead (as the apps do).
    #[uniffi(default = 0)]
    pub question_tokens: u32,
    #[uniffi(default = 0.0)]
    pub ttft_cold_s: f64,
    #[uniffi(default = 0.0)]
    pub ttft_ahead_s: f64,
    /// The kernel path the products ran (`avx2`, `neoni8mm`...): a figure
    /// means little without it.
    #[uniffi(default = "")]
    pub kernels: String,
}

/// Runs the benchmark on a worker thread.
#[uniffi::export]
pub async fn run_benchmark(
    target: BenchmarkTarget,
    options: BenchmarkOptions,
    listener: Option<Arc<dyn BenchmarkListener>>,
    cancel: Option<Arc<CancelHandle>>,
) -> Result<BenchmarkRecord, ImpFfiError> {
    on_worker("imp-benchmark", move || {
        let model = match target {
            BenchmarkTarget::Model { path } => BenchModel::File {
                path: PathBuf::from(path),
                mmproj: None,
            },
            BenchmarkTarget::Synthetic {
                preset,
                scratch_dir,
            } => BenchModel::Synthetic {
                preset,
                policy: QuantPolicy {
                    text: candle_core::quantized::GgmlDType::Q4K,
                    vision: candle_core::quantized::GgmlDType::F16,
                },
                scratch_dir: PathBuf::from(scratch_dir),
            },
        };
        let options = BenchOptions {
            image_size: options.image_size.map(|s| s as usize),
            prompt_tokens: options.prompt_tokens as usize,
            gen_tokens: options.gen_tokens as usize,
            threads: options.threads.map(|t| t as usize),
            repeat: options.repeat as usize,
            question_tokens: options.question_tokens as usize,
            question: None,
        };
        let token = cancel.map(|c| c.token.clone()).unwrap_or_default();
        let mut progress = |p: BenchProgress| {
            if let Some(l) = &listener {
                l.on_stage(match p {
                    BenchProgress::Writing { done, total } => BenchmarkStage::Writing {
                        done: done as u32,
                        total: total as u32,
                    },
                    BenchProgress::Loading(fraction) => BenchmarkStage::Loading { fraction },
                    BenchProgress::Run { index, of } => BenchmarkStage::Run {
                        index: index as u32,
                        of: of as u32,
                    },
                });
            }
        };
        let record = bench::run_benchmark(&model, &options, &mut progress, &token)?;
        Ok(record.into())
    })
    .await
}

impl From<bench::BenchRecord> for BenchmarkRecord {
    fn from(r: bench::BenchRecord) -> Self {
        Self {
            json: serde_json::to_string(&r).unwrap_or_default(),
            model: r.model,
            weights_dtype: r.weights_dtype,
            image_size: r.image_size as u32,
            prompt_tokens: r.prompt_tokens as u32,
            gen_tokens: r.gen_tokens as u32,
            threads: r.threads as u32,
            load_s: r.load_s,
            runs: r
                .runs
                .iter()
                .map(|run| BenchmarkRun {
                    vision_s: run.vision_s,
                    prompt_positions: run.prompt_positions as u32,
                    prompt_s: run.prompt_s,
                    gen_s: run.gen_s,
                    ttft_cold_s: run.ttft_cold_s,
                    ttft_ahead_s: run.ttft_ahead_s,
                })
                .collect(),
            vision_s: r.vision_s,
            prompt_tok_s: r.prompt_tok_s,
            gen_tok_s: r.gen_tok_s,
            total_s: r.total_s,
            first_run_total_s: r.first_run_total_s,
            peak_rss_bytes: r.peak_rss_bytes,
            peak_anon_rss_bytes: r.peak_anon_rss_bytes,
            question_tokens: r.question_tokens as u32,
            ttft_cold_s: r.ttft_cold_s,
            ttft_ahead_s: r.ttft_ahead_s,
            kernels: r.kernels,
        }
    }
}
