//! `imp`: ask Imp about a picture from the command line.

mod bench;
mod convert;
mod hub;
mod models;
mod output;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use imp_core::{
    CancelToken, Conversation, Engine, EngineOptions, GenerationParams, SamplingParams, StopReason,
};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use output::Format;

#[derive(Parser)]
#[command(
    name = "imp",
    version,
    about = "Ask Imp, a small multimodal model, about a picture"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer one question about an image, streaming the answer.
    Ask {
        #[command(flatten)]
        session: SessionArgs,
        /// The question.
        question: String,
    },
    /// A conversation about one image: one question per line, follow-ups reuse
    /// the image and the earlier turns. Ctrl-C stops an answer; Ctrl-D ends.
    Chat {
        #[command(flatten)]
        session: SessionArgs,
    },
    /// Write a float checkpoint as one quantized GGUF file holding everything
    /// (weights, tokenizer, chat template, settings).
    Convert(convert::ConvertArgs),
    /// Measure load, vision encode, prompt and generation speed and peak memory
    /// (the paper's Table 4 protocol), on a model or on random weights.
    Bench(bench::BenchArgs),
    /// The models on this computer: list, download, import, verify, remove
    /// (the same store and catalogue as the apps).
    Models(models::ModelsArgs),
}

#[derive(Args)]
struct SessionArgs {
    /// Checkpoint directory, Imp GGUF file (from `imp convert`), or a hub repo
    /// id such as MILVLG/Imp-v1.5-3B-196 (converted once to q4_k into the
    /// store, unless --float).
    #[arg(long)]
    model: String,
    /// With a hub repo id: run the float32 checkpoint exactly as the reference
    /// does (about 13 GB of memory for Imp-3B) instead of the q4_k file.
    #[arg(long)]
    float: bool,
    /// Where a converted hub model is kept (default: as `imp models`).
    #[arg(long)]
    store: Option<PathBuf>,
    /// With a llama.cpp text GGUF as --model: its mmproj GGUF.
    #[arg(long)]
    mmproj: Option<PathBuf>,
    /// JPEG, PNG, WebP, GIF or BMP.
    #[arg(long)]
    image: PathBuf,
    /// Most tokens to generate per answer.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// 0 is greedy decoding (the reference setting).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long, default_value_t = 1.0)]
    repetition_penalty: f32,
    #[arg(long, default_value_t = 299_792_458)]
    seed: u64,
    /// Inference threads (default: one per physical core).
    #[arg(long)]
    threads: Option<usize>,
    /// Run the vision tower at another input size (e.g. 196 on a 384-px model:
    /// 4x fewer image tokens, faster, less accurate).
    #[arg(long)]
    image_size: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// With --format json: the K most likely tokens at each step.
    #[arg(long, default_value_t = 0)]
    logprobs: usize,
}

impl SessionArgs {
    fn params(&self) -> GenerationParams {
        GenerationParams {
            max_new_tokens: self.max_tokens,
            sampling: SamplingParams {
                temperature: self.temperature,
                top_k: self.top_k,
                top_p: self.top_p,
                repetition_penalty: self.repetition_penalty,
                seed: self.seed,
            },
            logprobs: self.logprobs,
        }
    }

    fn open(&self) -> Result<Conversation> {
        self.params().sampling.validate()?;
        let image = std::fs::read(&self.image)
            .with_context(|| format!("cannot read image {}", self.image.display()))?;
        let dir = self.model_path()?;
        let options = EngineOptions {
            threads: self.threads,
            image_size: self.image_size,
            mmproj: self.mmproj.clone(),
            ..Default::default()
        };
        let engine = Engine::load(&dir, &options)
            .with_context(|| format!("cannot load model {}", self.model))?;
        Conversation::start(&engine, &image).with_context(|| format!("{}", self.image.display()))
    }
}

impl SessionArgs {
    /// A local path as is; a hub repo id as its q4_k conversion in the store
    /// (made once), or its float checkpoint with --float.
    fn model_path(&self) -> Result<PathBuf> {
        let path = std::path::Path::new(&self.model);
        if path.exists() {
            return Ok(path.to_path_buf());
        }
        if !hub::looks_like_repo_id(&self.model) {
            anyhow::bail!(
                "{}: no such model directory or file (nor a hub repo id like MILVLG/Imp-v1.5-3B-196)",
                self.model
            );
        }
        let store = models::open(self.store.as_ref(), None)?.with_hub(hub::desktop());
        if self.float || self.mmproj.is_some() {
            return hub::float_checkpoint(&store, &self.model);
        }
        let model = store.hub_model_for_repo(&self.model, "main")?;
        if let Some(installed) = store.converted_from(&self.model)? {
            return Ok(installed.path);
        }
        eprintln!(
            "imp: converting {} to q4_k once (kept in the store; --float runs the float32 checkpoint)",
            self.model
        );
        hub::install(&store, &model)
    }
}

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("imp: internal error: {info}");
    }));
    imp_tools::heap::keep_freed_buffers();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ask { session, question } => ask(&session, &question),
        Command::Chat { session } => chat(&session),
        Command::Convert(args) => convert::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Models(args) => models::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imp: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once (core errors already
/// include their cause in their message).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let text = text.lines().next().unwrap_or_default();
        if line.contains(text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line
}

fn ask(args: &SessionArgs, question: &str) -> Result<()> {
    let mut conversation = args.open()?;
    let format = args.format;
    let summary = conversation.ask(question, &args.params(), &CancelToken::new(), &mut |t| {
        output::token(format, t)
    })?;
    output::summary(format, &summary);
    Ok(())
}

fn chat(args: &SessionArgs) -> Result<()> {
    let mut conversation = args.open()?;
    let current: Arc<Mutex<Option<CancelToken>>> = Arc::default();
    let handler_view = current.clone();
    ctrlc::set_handler(
        move || match handler_view.lock().ok().and_then(|c| c.clone()) {
            Some(token) => token.cancel(),
            None => std::process::exit(130),
        },
    )
    .context("cannot install the Ctrl-C handler")?;

    let interactive = std::io::stdin().is_terminal();
    let format = args.format;
    let mut lines = std::io::stdin().lock().lines();
    loop {
        if interactive {
            eprint!("> ");
            let _ = std::io::stderr().flush();
        }
        let Some(line) = lines.next() else { break };
        let question = line.context("cannot read the question")?;
        let question = question.trim();
        if question.is_empty() {
            continue;
        }
        if question == "/quit" {
            break;
        }
        let token = CancelToken::new();
        *current.lock().expect("not poisoned") = Some(token.clone());
        let result = conversation.ask(question, &args.params(), &token, &mut |t| {
            output::token(format, t)
        });
        *current.lock().expect("not poisoned") = None;
        match result {
            Ok(summary) => {
                output::summary(format, &summary);
                if summary.stop_reason == StopReason::ContextFull {
                    eprintln!("imp: the conversation has filled the model's context");
                    break;
                }
            }
            // The conversation is unchanged by a failed turn: say so and go on.
            Err(e) => eprintln!("imp: {}", one_line(&e.into())),
        }
    }
    Ok(())
}
