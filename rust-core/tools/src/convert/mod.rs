//! `imp convert`: a float checkpoint to one self-describing Imp GGUF file.
//!
//! Streaming: the header is planned from the config, then each tensor is read
//! from the memory-mapped safetensors, quantized and written before the next is
//! touched, so peak memory is about one f32 tensor plus its quantized copy.
//!
//! Which tensors get how many bits ([`QuantPolicy`]): the attention and MLP
//! matrices of the language model take the requested type; the LM head, whose
//! errors land directly on the next-token distribution, takes q6_k when the
//! request is 4-bit (as llama.cpp's Q4_K_M does); the vision tower and projector
//! take `--vision-quant` (f16 by default, like llama.cpp's mmproj files); norms,
//! biases and the small patch/position embeddings stay f32. A matrix whose rows
//! are not whole blocks of the chosen type falls back to q8_0, else f16 (SigLIP's
//! MLP width 4304 is no multiple of 32).

mod llama_cpp;
mod policy;
mod tensors;
mod tokenizer_metadata;

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use imp_core::config::{AspectMode, ImpConfig};
use imp_core::error::{candle_message, ImpError, Result};
use imp_core::source::ModelSource;
use imp_core::text::chat_template::ChatTemplate;
use imp_core::weights::gguf::{dtype_name, keys, Array, GgufWriter, PlannedTensor, Value};
use imp_core::CancelToken;
use llama_cpp::{
    llama_cpp_mmproj_metadata, llama_cpp_parts, llama_cpp_specs, llama_cpp_text_metadata,
};
use policy::quantize;
pub(crate) use policy::quantize_values;
pub use policy::{QuantPolicy, TensorRole};
pub(crate) use tensors::plan;
use tensors::read_f32;
pub use tensors::{imp_tensors, TensorSpec};
pub use tokenizer_metadata::tokenizer_metadata;

#[derive(Debug, Clone)]
pub struct ConvertOptions {
    pub policy: QuantPolicy,
    /// The model's name in `general.name`.
    pub name: String,
    /// Also write llama.cpp's pair: (text GGUF, mmproj GGUF).
    pub llama_cpp: Option<(PathBuf, PathBuf)>,
}

/// What a conversion wrote, file by file.
#[derive(Debug, Clone)]
pub struct ConvertReport {
    pub files: Vec<WrittenFile>,
}

#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub tensors: usize,
    pub bytes: u64,
    /// Tensors per stored type, e.g. ("q4_k", 98).
    pub types: Vec<(String, usize)>,
}

/// Converts the checkpoint directory `dir` to the Imp GGUF `out` (and the
/// llama.cpp pair if asked), calling `progress(done, total)` after each tensor.
pub fn convert(
    dir: &Path,
    out: &Path,
    options: &ConvertOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ConvertReport> {
    convert_cancellable(dir, out, options, progress, &CancelToken::new())
}

/// [`convert`], stopping with [`ImpError::Cancelled`] between two tensors
/// once `cancel` is set (what was written is then the caller's to delete).
pub fn convert_cancellable(
    dir: &Path,
    out: &Path,
    options: &ConvertOptions,
    progress: &mut dyn FnMut(usize, usize),
    cancel: &CancelToken,
) -> Result<ConvertReport> {
    let source = ModelSource::open(dir)?;
    if !matches!(source, ModelSource::Checkpoint { .. }) {
        return Err(ImpError::InvalidArgument(format!(
            "{} is not a checkpoint directory: convert reads float checkpoints",
            dir.display()
        )));
    }
    let config = source.config()?;
    let config_text = std::fs::read_to_string(dir.join("config.json"))
        .map_err(|e| ImpError::io(&dir.join("config.json"), e))?;
    let tokenizer = source.tokenizer()?;
    let tokens = tokenizer_metadata(&tokenizer, &config)?;
    let ws = source.weights()?;
    let specs = imp_tensors(&config)?;
    let policy = &options.policy;
    let imp_plan = plan(&specs, policy);
    let imp_metadata = metadata(
        &config,
        &config_text,
        tokens.clone(),
        options,
        source.chat_template(&config)?,
    )?;
    let mut imp = Output::create(out, &imp_metadata, imp_plan.clone())?;
    let mut pair = match &options.llama_cpp {
        None => None,
        Some((text, mmproj)) => {
            let (text_specs, mmproj_specs) = llama_cpp_specs(&specs, &config);
            let text_metadata = llama_cpp_text_metadata(&config, options, tokens);
            let mmproj_metadata = llama_cpp_mmproj_metadata(&config, options);
            Some((
                Output::create(text, &text_metadata, plan(&text_specs, policy))?,
                Output::create(mmproj, &mmproj_metadata, plan(&mmproj_specs, policy))?,
            ))
        }
    };
    // One pass: each tensor is read and quantized once, and its bytes go to the
    // Imp file and to the llama.cpp file that holds it (the vision q;k;v rows
    // cut apart: every ggml type quantizes rows independently).
    for (i, (spec, planned)) in specs.iter().zip(&imp_plan).enumerate() {
        if cancel.is_cancelled() {
            return Err(ImpError::Cancelled);
        }
        let tensor = read_f32(&ws, spec)
            .map_err(|e| ImpError::InvalidModel(format!("{}: {}", spec.source, error_line(&e))))?;
        let bytes = quantize(&tensor, planned.dtype)?;
        imp.write(planned, &bytes)?;
        if let Some((text, mmproj)) = &mut pair {
            let (is_vision, parts) = llama_cpp_parts(spec, &config);
            let target = if is_vision { mmproj } else { text };
            let mut rest = bytes.as_slice();
            for part in plan(&parts, policy) {
                let Some((head, tail)) = rest.split_at_checked(part.size_in_bytes()) else {
                    return Err(ImpError::InvalidModel(format!(
                        "{}: cannot cut {} out of it",
                        spec.source, part.name
                    )));
                };
                target.write(&part, head)?;
                rest = tail;
            }
        }
        progress(i + 1, specs.len());
    }
    let mut files = vec![imp.finish()?];
    if let Some((text, mmproj)) = pair {
        files.push(text.finish()?);
        files.push(mmproj.finish()?);
    }
    Ok(ConvertReport { files })
}

/// Bytes of tensor data `imp convert` writes for `config` under `policy`: the
/// file's size but for its metadata (the tokenizer, a few MB) and alignment.
pub fn planned_tensor_bytes(config: &ImpConfig, policy: &QuantPolicy) -> Result<u64> {
    let specs = imp_tensors(config)?;
    Ok(plan(&specs, policy)
        .iter()
        .map(|t| t.size_in_bytes() as u64)
        .sum())
}

/// One GGUF being written, and what has gone into it. The bytes go to a
/// sibling `.partial` file that becomes `path` by a rename once whole: a
/// conversion that fails (a full disk, a cancel, a bad tensor) leaves no
/// half-written model, and one over an existing file never rewrites it in
/// place (a process that has it mapped would die of SIGBUS).
struct Output {
    path: PathBuf,
    partial: PathBuf,
    writer: Option<GgufWriter<BufWriter<std::fs::File>>>,
    types: BTreeMap<String, usize>,
    tensors: usize,
}

impl Output {
    fn create(path: &Path, metadata: &[(String, Value)], plan: Vec<PlannedTensor>) -> Result<Self> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = std::fs::File::create(&partial).map_err(|e| ImpError::io(&partial, e))?;
        let writer = match GgufWriter::new(BufWriter::new(file), metadata, plan) {
            Ok(writer) => writer,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(ImpError::io(&partial, e));
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            partial,
            writer: Some(writer),
            types: BTreeMap::new(),
            tensors: 0,
        })
    }

    fn write(&mut self, planned: &PlannedTensor, bytes: &[u8]) -> Result<()> {
        let writer = self.writer.as_mut().expect("written before finish");
        writer
            .write_tensor(&planned.name, bytes)
            .map_err(|e| ImpError::io(&self.partial, e))?;
        *self
            .types
            .entry(dtype_name(planned.dtype).to_string())
            .or_default() += 1;
        self.tensors += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<WrittenFile> {
        let io = |path: &Path, e: std::io::Error| ImpError::io(path, e);
        let writer = self.writer.take().expect("finished once");
        let file = writer
            .finish()
            .and_then(|out| out.into_inner().map_err(|e| e.into_error()))
            .map_err(|e| io(&self.partial, e))?;
        file.sync_all().map_err(|e| io(&self.partial, e))?;
        drop(file);
        std::fs::rename(&self.partial, &self.path).map_err(|e| io(&self.path, e))?;
        Ok(WrittenFile {
            bytes: std::fs::metadata(&self.path)
                .map_err(|e| io(&self.path, e))?
                .len(),
            path: self.path.clone(),
            tensors: self.tensors,
            types: std::mem::take(&mut self.types).into_iter().collect(),
        })
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Unfinished (an error or a cancel on the way): its part goes.
        if self.writer.is_some() {
            self.writer = None;
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

fn error_line(e: &ImpError) -> String {
    match e {
        ImpError::Tensor(c) => candle_message(c),
        other => other.to_string(),
    }
}

fn metadata(
    config: &ImpConfig,
    config_text: &str,
    tokens: Vec<(String, Value)>,
    options: &ConvertOptions,
    template: ChatTemplate,
) -> Result<Vec<(String, Value)>> {
    let mut kv: Vec<(String, Value)> = vec![
        (keys::ARCHITECTURE.into(), keys::IMP_ARCH.into()),
        (keys::NAME.into(), options.name.clone().into()),
        (
            keys::FORMAT_VERSION.into(),
            keys::CURRENT_FORMAT_VERSION.into(),
        ),
        (keys::CONFIG.into(), config_text.into()),
        (keys::CHAT_TEMPLATE.into(), template.name().into()),
        (
            keys::IMAGE_SIZE.into(),
            (config.vision.image_size as u32).into(),
        ),
        (
            keys::PATCH_SIZE.into(),
            (config.vision.patch_size as u32).into(),
        ),
        (
            keys::VISION_LAYERS_USED.into(),
            (config.vision_layers_used()? as u32).into(),
        ),
        (
            keys::ASPECT_MODE.into(),
            match config.image_aspect_ratio {
                AspectMode::Squash => "square",
                AspectMode::Pad => "pad",
            }
            .into(),
        ),
        (keys::IMAGE_TOKEN_ID.into(), config.image_token_index.into()),
        (
            keys::EOS_TOKEN_IDS.into(),
            Value::Array(Array::U32(config.eos_token_ids.clone())),
        ),
        (
            keys::CONTEXT_LENGTH.into(),
            (config.context_length as u32).into(),
        ),
        (keys::QUANT.into(), dtype_name(options.policy.text).into()),
        (
            keys::VISION_QUANT.into(),
            dtype_name(options.policy.vision).into(),
        ),
        (keys::QUANT_POLICY.into(), options.policy.describe().into()),
    ];
    kv.extend(tokens);
    Ok(kv)
}
