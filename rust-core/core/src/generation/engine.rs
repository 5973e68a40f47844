//! The loaded model with everything needed to talk about images: tokenizer,
//! prompt template, preprocessing, and the threads inference runs on.

use std::path::Path;
use std::sync::Arc;

use crate::error::{ImpError, Result};
use crate::generation::prefix::SystemPrefix;
use crate::model::ImpModel;
use crate::picture::preprocess::ImagePreprocessor;
use crate::source::model_info::{LoadOptions, ModelInfo};
use crate::source::ModelSource;
use crate::text::chat_template::ChatTemplate;
use crate::text::tokenizer::ImpTokenizer;

#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Inference threads; `None` uses one per physical core. On phones, the
    /// number of big cores is usually best.
    pub threads: Option<usize>,
    /// Use fewer context positions than the model allows (less KV memory).
    pub context_length: Option<usize>,
    /// Run the vision tower at another input size (see `LoadOptions`).
    pub image_size: Option<usize>,
    /// Memory the caller can give the model; loading is refused up front if the
    /// estimate is larger, instead of the OS killing the app half-way.
    pub available_memory_bytes: Option<u64>,
    /// With a llama.cpp text GGUF as the model: its mmproj file (vision tower
    /// and projector).
    pub mmproj: Option<std::path::PathBuf>,
}

/// Engines alive in this process, for apps and tests to check that closing
/// one released its memory.
static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct Inner {
    model: ImpModel,
    tokenizer: ImpTokenizer,
    template: ChatTemplate,
    stop_ids: Vec<u32>,
    preprocessor: ImagePreprocessor,
    pool: rayon::ThreadPool,
    info: ModelInfo,
    /// The system prompt's KV, computed at load for all conversations.
    system: SystemPrefix,
}

impl Drop for Inner {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Cheap to clone; conversations hold one.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

impl Engine {
    /// Loads a checkpoint directory as MILVLG publishes it, or an Imp GGUF file.
    pub fn load(path: &Path, options: &EngineOptions) -> Result<Self> {
        Self::load_with_progress(path, options, &mut |_| true)
    }

    /// As `load`, reporting the fraction loaded; `false` from `progress` cancels.
    pub fn load_with_progress(
        path: &Path,
        options: &EngineOptions,
        progress: &mut (dyn FnMut(f32) -> bool + Send),
    ) -> Result<Self> {
        let source = match &options.mmproj {
            None => ModelSource::open(path)?,
            Some(mmproj) => ModelSource::open_llama_cpp_pair(path, mmproj)?,
        };
        let threads = options
            .threads
            .unwrap_or_else(candle_core::utils::get_num_threads);
        if threads == 0 {
            return Err(ImpError::InvalidArgument(
                "threads must be at least 1".into(),
            ));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("imp-infer-{i}"))
            .build()
            .map_err(|e| ImpError::InvalidArgument(format!("thread pool: {e}")))?;
        let load_options = LoadOptions {
            context_length: options.context_length,
            image_size: options.image_size,
        };
        let info = ModelInfo::from_source(&source, &load_options)?;
        if let Some(available) = options.available_memory_bytes {
            if info.estimated_memory_bytes > available {
                return Err(ImpError::InsufficientMemory {
                    needed_mb: info.estimated_memory_bytes >> 20,
                    available_mb: available >> 20,
                });
            }
        }
        // A mapped file's reading is nearly all of its load; a checkpoint's
        // conversion all of its. The system prompt's run takes the last step.
        let read_share = if source.mapped_bytes() > 0 { 0.9 } else { 0.0 };
        source.read_ahead(&mut |f| progress(f * read_share))?;
        let model = pool.install(|| {
            ImpModel::load_with_progress(&source, &load_options, &mut |f| {
                progress(read_share + f * (0.95 - read_share))
            })
        })?;
        let tokenizer = source.tokenizer()?;
        check_tokenizer(&model, &tokenizer)?;
        let template = source.chat_template(model.config())?;
        let stop_ids = stop_ids(&model, &tokenizer, template);
        let system = pool.install(|| SystemPrefix::compute(&model, &tokenizer, template))?;
        if !progress(1.0) {
            return Err(ImpError::Cancelled);
        }
        let config = model.config();
        let preprocessor = ImagePreprocessor {
            image_size: config.vision.image_size,
            aspect: config.image_aspect_ratio,
        };
        LIVE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Self(Arc::new(Inner {
            model,
            tokenizer,
            template,
            stop_ids,
            preprocessor,
            pool,
            info,
            system,
        })))
    }

    /// Engines whose memory is still held (by an engine or a conversation).
    pub fn live_count() -> usize {
        LIVE.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What is loaded: sizes, parameters, estimated memory.
    pub fn info(&self) -> ModelInfo {
        self.0.info.clone()
    }

    pub fn model(&self) -> &ImpModel {
        &self.0.model
    }

    pub fn tokenizer(&self) -> &ImpTokenizer {
        &self.0.tokenizer
    }

    pub fn template(&self) -> ChatTemplate {
        self.0.template
    }

    /// Token ids that end an answer.
    pub fn stop_ids(&self) -> &[u32] {
        &self.0.stop_ids
    }

    pub fn preprocessor(&self) -> ImagePreprocessor {
        self.0.preprocessor
    }

    /// Threads inference runs on.
    pub fn threads(&self) -> usize {
        self.0.pool.current_num_threads()
    }

    /// The opening prompt's system part and its KV, computed at load and
    /// shared by every conversation.
    pub fn system_prefix(&self) -> &SystemPrefix {
        &self.0.system
    }

    /// Runs `f` on the engine's inference threads.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.0.pool.install(f)
    }
}

/// config.json's eos ids and the template's turn enders: the released
/// generation configs stop on both (Qwen: <|im_end|> and <|endoftext|>).
fn stop_ids(model: &ImpModel, tokenizer: &ImpTokenizer, template: ChatTemplate) -> Vec<u32> {
    let mut ids = model.config().eos_token_ids.clone();
    for token in template.stop_tokens() {
        if let Some(id) = tokenizer.token_id(token) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The template's special tokens must be single tokens with the ids the model
/// was trained with, and every id must have an embedding row.
fn check_tokenizer(model: &ImpModel, tokenizer: &ImpTokenizer) -> Result<()> {
    let config = model.config();
    let image = tokenizer.encode(crate::text::chat_template::IMAGE_PLACEHOLDER)?;
    if image != [config.image_token_index] {
        return Err(ImpError::InvalidModel(format!(
            "the tokenizer turns <image> into {image:?}, the model expects [{}]",
            config.image_token_index
        )));
    }
    if tokenizer.vocab_size() > config.text.vocab_size {
        return Err(ImpError::InvalidModel(format!(
            "the tokenizer has {} tokens but the model only {} embeddings",
            tokenizer.vocab_size(),
            config.text.vocab_size
        )));
    }
    Ok(())
}
