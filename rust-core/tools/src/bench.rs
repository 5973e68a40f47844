//! The paper's Table 4 protocol, shared by `imp bench` and the apps'
//! benchmark screens so that both produce the same [`BenchRecord`].
//!
//! One run = a random image through the vision tower and projector, a prompt of
//! `prompt_tokens` text tokens (the `<image>` placeholder among them) plus the
//! image's patches prefilled in one pass, then `gen_tokens` greedy steps. Each
//! run starts a fresh KV cache; run 1 is reported apart from the median of the
//! others, so a first-call cost (lazy initialisation, weight repacking) shows.
//! Each run also times the first token of an answer through the app's path
//! (`Conversation::start_rgb` + `Conversation::ask`) for a question of
//! `question_tokens` tokens: cold (picture and question handed over together:
//! preprocessing, vision, prefill, first token) and with the picture handed
//! over ahead (only the question's turn left to prefill).
//! Peak memory as [`MemoryWatch`] measures it.

use candle_core::{Device, Tensor};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

use crate::convert::QuantPolicy;
use crate::memory_watch::MemoryWatch;
use crate::synthetic::write_synthetic;
use imp_core::error::{ImpError, Result};
use imp_core::generation::sampling::argmax;
use imp_core::model::kv_cache::KvCache;
use imp_core::model::ImpModel;
use imp_core::picture::resample::Rgb8;
use imp_core::text::tokenizer::ImpTokenizer;
use imp_core::weights::gguf::dtype_name;
use imp_core::{CancelToken, Conversation, Engine, EngineOptions, GenerationParams};

/// What to measure.
#[derive(Debug, Clone)]
pub enum BenchModel {
    /// A model file or checkpoint directory (with its mmproj for a llama.cpp pair).
    File {
        path: PathBuf,
        mmproj: Option<PathBuf>,
    },
    /// Random weights of a published shape (`imp-3b-196`, `imp-3b-384`,
    /// `imp-2b`, `imp-4b`), written under `scratch_dir` and deleted afterwards:
    /// speed does not depend on the values.
    Synthetic {
        preset: String,
        policy: QuantPolicy,
        scratch_dir: PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    /// Run the vision tower at this size (default: the model's).
    pub image_size: Option<usize>,
    /// Text tokens in the prompt, the image placeholder included (Table 4: 41).
    pub prompt_tokens: usize,
    /// Greedy tokens generated per run (Table 4: 64).
    pub gen_tokens: usize,
    /// Compute threads (default: one per physical core).
    pub threads: Option<usize>,
    /// Runs; the median is taken over those after the first.
    pub repeat: usize,
    /// Tokens of the question whose time to first token is measured.
    pub question_tokens: usize,
    /// That question's text instead (a side-by-side script passes the one it
    /// gives llama.cpp, so both sides answer the same words).
    pub question: Option<String>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            image_size: None,
            prompt_tokens: 41,
            gen_tokens: 64,
            threads: None,
            repeat: 3,
            question_tokens: 10,
            question: None,
        }
    }
}

/// Where a benchmark is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BenchProgress {
    /// Writing the synthetic model: tensors done of total.
    Writing { done: usize, total: usize },
    /// Loading the model: fraction done.
    Loading(f32),
    /// Run `index` (0-based) of `of` is starting.
    Run { index: usize, of: usize },
}

/// One run's timings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRun {
    pub vision_s: f64,
    /// Positions prefilled in one pass: the text tokens plus the image's patches.
    pub prompt_positions: usize,
    pub prompt_s: f64,
    pub gen_s: f64,
    /// Picture and question together to the first answer token.
    pub ttft_cold_s: f64,
    /// Question to the first answer token, the picture handed over before.
    pub ttft_ahead_s: f64,
}

impl BenchRun {
    pub fn total_s(&self) -> f64 {
        self.vision_s + self.prompt_s + self.gen_s
    }

    pub fn prompt_tok_s(&self) -> f64 {
        self.prompt_positions as f64 / self.prompt_s
    }
}

/// What a benchmark measured: the same record on the desktop and the phone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRecord {
    /// The file's path or the synthetic preset's name.
    pub model: String,
    /// The language model's stored type (`q4_k`, `f16`, ...).
    pub weights_dtype: String,
    pub image_size: usize,
    pub prompt_tokens: usize,
    pub gen_tokens: usize,
    pub threads: usize,
    /// The kernel path the engine ran (`neoni8mm`, `avx2`...; `IMP_KERNELS`
    /// forces another): which one a phone's figures were made with.
    pub kernels: String,
    pub load_s: f64,
    pub runs: Vec<BenchRun>,
    /// Medians over the runs after the first (the first alone if it is the only one).
    pub vision_s: f64,
    pub prompt_tok_s: f64,
    pub gen_tok_s: f64,
    pub total_s: f64,
    pub first_run_total_s: f64,
    /// The question the times to first token were measured with, in tokens.
    pub question_tokens: usize,
    pub ttft_cold_s: f64,
    pub ttft_ahead_s: f64,
    /// 0 where the platform does not say (see [`MemoryWatch`]).
    pub peak_rss_bytes: u64,
    pub peak_anon_rss_bytes: u64,
}

/// Runs the protocol; `cancel` is checked between runs and generated tokens.
pub fn run_benchmark(
    model: &BenchModel,
    options: &BenchOptions,
    progress: &mut (dyn FnMut(BenchProgress) + Send),
    cancel: &CancelToken,
) -> Result<BenchRecord> {
    if options.prompt_tokens == 0 || options.repeat == 0 {
        return Err(ImpError::InvalidArgument(
            "the prompt and the number of runs must be at least 1".into(),
        ));
    }
    let memory = MemoryWatch::start();
    let (path, mmproj, name, _temp) = materialise(model, progress)?;
    let started = Instant::now();
    let engine_options = EngineOptions {
        threads: options.threads,
        image_size: options.image_size,
        mmproj,
        ..Default::default()
    };
    let engine = Engine::load_with_progress(&path, &engine_options, &mut |f| {
        progress(BenchProgress::Loading(f));
        !cancel.is_cancelled()
    })?;
    let load_s = started.elapsed().as_secs_f64();
    let question = match &options.question {
        Some(text) => text.clone(),
        None => question_of(engine.tokenizer(), options.question_tokens)?,
    };
    let mut runs = Vec::with_capacity(options.repeat);
    for index in 0..options.repeat {
        if cancel.is_cancelled() {
            return Err(ImpError::Cancelled);
        }
        progress(BenchProgress::Run {
            index,
            of: options.repeat,
        });
        let mut run = engine.run(|| one_run(engine.model(), options, index as u64, cancel))?;
        (run.ttft_cold_s, run.ttft_ahead_s) = time_to_first_token(&engine, &question)?;
        runs.push(run);
    }
    let (peak_rss_bytes, peak_anon_rss_bytes) = memory.stop();
    let mut record = record(
        name,
        &engine,
        options,
        load_s,
        runs,
        (peak_rss_bytes, peak_anon_rss_bytes),
    );
    record.question_tokens = engine.tokenizer().encode(&question)?.len();
    Ok(record)
}

/// Words that are one token each in the Imp tokenizers, for questions of a
/// chosen length.
pub(crate) const QUESTION_WORDS: [&str; 16] = [
    "What", " colour", " is", " the", " car", " parked", " next", " to", " the", " red", " door",
    " on", " the", " left", " side", "?",
];

/// A question of `tokens` tokens: the words in turn, skipping any that would
/// overshoot (a small tokenizer splits some words), until the count is
/// reached or no word fits.
fn question_of(tokenizer: &ImpTokenizer, tokens: usize) -> Result<String> {
    let mut question = String::new();
    let (mut count, mut misses) = (0, 0);
    for word in QUESTION_WORDS.iter().cycle() {
        if count >= tokens || misses == QUESTION_WORDS.len() {
            break;
        }
        let longer = format!("{question}{word}");
        let n = tokenizer.encode(&longer)?.len();
        if n <= tokens {
            (question, count, misses) = (longer, n, 0);
        } else {
            misses += 1;
        }
    }
    Ok(question)
}

/// (cold, ahead) times to the first answer token through the app's path.
/// The answer stops after one token, so `ask` returns with it.
fn time_to_first_token(engine: &Engine, question: &str) -> Result<(f64, f64)> {
    let photo = random_photo(640, 480);
    let params = GenerationParams {
        max_new_tokens: 1,
        ..Default::default()
    };
    let ask = |conversation: &mut Conversation| -> Result<()> {
        conversation.ask(question, &params, &CancelToken::new(), &mut |_| {})?;
        Ok(())
    };
    let t = Instant::now();
    let mut cold = Conversation::start_rgb(engine, &photo)?;
    ask(&mut cold)?;
    let cold_s = t.elapsed().as_secs_f64();
    // The apps hold one conversation at a time: a new picture replaces it.
    drop(cold);
    let mut ahead = Conversation::start_rgb(engine, &photo)?;
    let t = Instant::now();
    ask(&mut ahead)?;
    Ok((cold_s, t.elapsed().as_secs_f64()))
}

/// A camera-sized picture of noise (the values do not change the work).
fn random_photo(width: usize, height: usize) -> Rgb8 {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let data = (0..width * height * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    Rgb8 {
        width,
        height,
        data,
    }
}

/// The model's path, its mmproj, its name in the record, and the synthetic
/// file to delete afterwards.
fn materialise(
    model: &BenchModel,
    progress: &mut (dyn FnMut(BenchProgress) + Send),
) -> Result<(PathBuf, Option<PathBuf>, String, Option<TempFile>)> {
    match model {
        BenchModel::File { path, mmproj } => Ok((
            path.clone(),
            mmproj.clone(),
            path.display().to_string(),
            None,
        )),
        BenchModel::Synthetic {
            preset,
            policy,
            scratch_dir,
        } => {
            let path = scratch_dir.join(format!(
                "imp-bench-{preset}-{}-{}.gguf",
                dtype_name(policy.text),
                std::process::id()
            ));
            let temp = TempFile(path.clone());
            write_synthetic(preset, *policy, &path, &mut |done, total| {
                progress(BenchProgress::Writing { done, total })
            })?;
            Ok((path, None, preset.clone(), Some(temp)))
        }
    }
}

/// Deleted when dropped, whichever way the benchmark ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn one_run(
    model: &ImpModel,
    options: &BenchOptions,
    seed: u64,
    cancel: &CancelToken,
) -> Result<BenchRun> {
    let config = model.config();
    let size = config.vision.image_size;
    let pixels = Tensor::rand(-1f32, 1f32, (3, size, size), &Device::Cpu)?;
    let t = Instant::now();
    let image = model.encode_image(&pixels)?;
    let vision_s = t.elapsed().as_secs_f64();

    let ids = prompt_ids(
        options.prompt_tokens,
        config.text.vocab_size,
        config.image_token_index,
        seed,
    );
    let t = Instant::now();
    let embeds = model.embed_prompt(&ids, Some(&image))?;
    let prompt_positions = embeds.dim(0)?;
    let mut cache = KvCache::with_capacity(prompt_positions + options.gen_tokens);
    let mut logits = model.forward(&embeds, &mut cache)?;
    let prompt_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    for _ in 0..options.gen_tokens {
        if cancel.is_cancelled() {
            return Err(ImpError::Cancelled);
        }
        let next = argmax(&logits.to_vec1::<f32>()?);
        logits = model.forward(&model.embed_prompt(&[next], None)?, &mut cache)?;
    }
    let gen_s = t.elapsed().as_secs_f64();
    Ok(BenchRun {
        vision_s,
        prompt_positions,
        prompt_s,
        gen_s,
        ttft_cold_s: 0.0,
        ttft_ahead_s: 0.0,
    })
}

/// Text ids away from the special tokens, never the image token but for the
/// one placeholder; the values do not change the work.
fn prompt_ids(count: usize, vocab: usize, image_id: u32, seed: u64) -> Vec<u32> {
    let vocab = vocab as u64;
    let mut ids: Vec<u32> = (0..count as u64)
        .map(|i| ((i * 7919 + seed * 104_729) % (vocab / 2)) as u32 + 10)
        .map(|id| if id == image_id { id + 1 } else { id })
        .collect();
    ids[count.min(5) - 1] = image_id;
    ids
}

fn record(
    model: String,
    engine: &Engine,
    options: &BenchOptions,
    load_s: f64,
    runs: Vec<BenchRun>,
    (peak_rss_bytes, peak_anon_rss_bytes): (u64, u64),
) -> BenchRecord {
    let steady = if runs.len() > 1 {
        &runs[1..]
    } else {
        &runs[..]
    };
    let median = |f: &dyn Fn(&BenchRun) -> f64| {
        let mut v: Vec<f64> = steady.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let gen_tokens = options.gen_tokens as f64;
    let info = engine.info();
    BenchRecord {
        model,
        weights_dtype: info.weights_dtype.clone(),
        image_size: info.image_size,
        prompt_tokens: options.prompt_tokens,
        gen_tokens: options.gen_tokens,
        threads: engine.threads(),
        kernels: imp_core::kernels::Isa::best().name().to_string(),
        load_s,
        vision_s: median(&|r| r.vision_s),
        prompt_tok_s: median(&BenchRun::prompt_tok_s),
        gen_tok_s: median(&|r| gen_tokens / r.gen_s),
        total_s: median(&BenchRun::total_s),
        first_run_total_s: runs[0].total_s(),
        question_tokens: options.question_tokens,
        ttft_cold_s: median(&|r| r.ttft_cold_s),
        ttft_ahead_s: median(&|r| r.ttft_ahead_s),
        runs,
        peak_rss_bytes,
        peak_anon_rss_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_ids_hold_one_image_token() {
        let ids = prompt_ids(41, 1000, 10 + 7919 % 500, 0);
        assert_eq!(ids.len(), 41);
        assert_eq!(ids.iter().filter(|&&i| i == 10 + 7919 % 500).count(), 1);
        assert_eq!(ids[4], 10 + 7919 % 500);
        assert_eq!(prompt_ids(1, 1000, 7, 3), [7]);
    }
}
