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

use candle_core::quantized::GgmlDType;
use candle_core::Tensor;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::chat_template::ChatTemplate;
use crate::config::{AspectMode, ImpConfig, TextArch, TextConfig};
use crate::error::{candle_message, ImpError, Result};
use crate::gguf::llama_cpp;
use crate::gguf::{keys, GgufWriter, PlannedTensor, Value};
use crate::model_source::ModelSource;
use crate::tokenizer::ImpTokenizer;
use crate::weight_source::WeightSource;

/// What kind of tensor a name is, for choosing its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorRole {
    TextMatrix,
    TokenEmbedding,
    LmHead,
    VisionMatrix,
    /// Norms, biases, patch and position embeddings: small, kept f32.
    Small,
}

/// The per-role choice of types.
#[derive(Debug, Clone, Copy)]
pub struct QuantPolicy {
    pub text: GgmlDType,
    pub vision: GgmlDType,
}

impl QuantPolicy {
    pub fn dtype_for(&self, role: TensorRole, shape: &[usize]) -> GgmlDType {
        let wanted = match role {
            TensorRole::Small => return GgmlDType::F32,
            TensorRole::TextMatrix | TensorRole::TokenEmbedding => self.text,
            TensorRole::LmHead => self.lm_head(),
            TensorRole::VisionMatrix => self.vision,
        };
        let row = shape.last().copied().unwrap_or(0);
        [wanted, GgmlDType::Q8_0, GgmlDType::F16]
            .into_iter()
            .find(|d| row % d.block_size() == 0)
            .unwrap_or(GgmlDType::F32)
    }

    /// The LM head's type before any fallback: q6_k under a 4/5-bit request.
    fn lm_head(&self) -> GgmlDType {
        match self.text {
            GgmlDType::Q4_0 | GgmlDType::Q4_1 | GgmlDType::Q4K | GgmlDType::Q5K => GgmlDType::Q6K,
            other => other,
        }
    }

    /// The policy in words, stored in the file.
    pub fn describe(&self) -> String {
        format!(
            "text attention+mlp {t}; token embedding {t}; lm_head {h}; vision tower and \
             projector {v}; norms, biases, patch and position embeddings f32; a matrix \
             whose rows are not whole blocks falls back to q8_0, else f16",
            t = dtype_name(self.text),
            h = dtype_name(self.lm_head()),
            v = dtype_name(self.vision),
        )
    }
}

/// The command-line spelling of a type: q4_0, q4_k, q6_k, q8_0, f16, f32.
pub fn dtype_name(dtype: GgmlDType) -> String {
    format!("{dtype:?}").to_lowercase().replace('k', "_k")
}

pub fn parse_dtype(name: &str) -> Option<GgmlDType> {
    Some(match name {
        "q4_0" => GgmlDType::Q4_0,
        "q4_1" => GgmlDType::Q4_1,
        "q5_0" => GgmlDType::Q5_0,
        "q5_1" => GgmlDType::Q5_1,
        "q8_0" => GgmlDType::Q8_0,
        "q2_k" => GgmlDType::Q2K,
        "q3_k" => GgmlDType::Q3K,
        "q4_k" => GgmlDType::Q4K,
        "q5_k" => GgmlDType::Q5K,
        "q6_k" => GgmlDType::Q6K,
        "f16" => GgmlDType::F16,
        "f32" => GgmlDType::F32,
        _ => return None,
    })
}

/// One tensor of the output: its name, shape and role.
#[derive(Debug, Clone)]
pub struct TensorSpec {
    /// The name written.
    pub name: String,
    /// The checkpoint name it is read from (the model code's name).
    pub source: String,
    pub shape: Vec<usize>,
    pub role: TensorRole,
}

/// Every tensor Imp runs, under the names the model code asks for (q, k and v
/// fused as `qkv`), with the vision tower truncated as Imp runs it.
pub fn imp_tensors(config: &ImpConfig) -> Result<Vec<TensorSpec>> {
    let mut out = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, role: TensorRole| {
        out.push(TensorSpec {
            source: name.clone(),
            name,
            shape,
            role,
        })
    };
    let v = &config.vision;
    let (vh, vi) = (v.hidden_size, v.intermediate_size);
    let vm = "model.vision_tower.vision_tower.vision_model";
    let emb = format!("{vm}.embeddings");
    let (c, p) = (v.num_channels, v.patch_size);
    add(
        format!("{emb}.patch_embedding.weight"),
        vec![vh, c, p, p],
        TensorRole::Small,
    );
    add(
        format!("{emb}.patch_embedding.bias"),
        vec![vh],
        TensorRole::Small,
    );
    add(
        format!("{emb}.position_embedding.weight"),
        vec![v.num_patches(), vh],
        TensorRole::Small,
    );
    for i in 0..config.vision_layers_used()? {
        let l = format!("{vm}.encoder.layers.{i}");
        norm(&mut add, &format!("{l}.layer_norm1"), vh);
        norm(&mut add, &format!("{l}.layer_norm2"), vh);
        linear(
            &mut add,
            &format!("{l}.self_attn.qkv"),
            vh,
            3 * vh,
            TensorRole::VisionMatrix,
        );
        linear(
            &mut add,
            &format!("{l}.self_attn.out_proj"),
            vh,
            vh,
            TensorRole::VisionMatrix,
        );
        linear(
            &mut add,
            &format!("{l}.mlp.fc1"),
            vh,
            vi,
            TensorRole::VisionMatrix,
        );
        linear(
            &mut add,
            &format!("{l}.mlp.fc2"),
            vi,
            vh,
            TensorRole::VisionMatrix,
        );
    }
    let t = &config.text;
    let h = t.hidden_size;
    linear(
        &mut add,
        "model.mm_projector.0",
        config.mm_hidden_size,
        h,
        TensorRole::VisionMatrix,
    );
    linear(
        &mut add,
        "model.mm_projector.2",
        h,
        h,
        TensorRole::VisionMatrix,
    );
    add(
        "model.embed_tokens.weight".into(),
        vec![t.vocab_size, h],
        TensorRole::TokenEmbedding,
    );
    match t.arch {
        TextArch::Phi2 => phi2_tensors(t, &mut add),
        TextArch::Qwen2 | TextArch::Phi3 => llama_tensors(t, &mut add),
    }
    Ok(out)
}

/// Phi-2's layers, LayerNorms and LM head, all with biases.
fn phi2_tensors(t: &TextConfig, add: &mut impl FnMut(String, Vec<usize>, TensorRole)) {
    let (h, ti) = (t.hidden_size, t.intermediate_size);
    for i in 0..t.num_hidden_layers {
        let l = format!("model.layers.{i}");
        norm(add, &format!("{l}.input_layernorm"), h);
        let text = TensorRole::TextMatrix;
        linear(add, &format!("{l}.self_attn.qkv"), h, 3 * h, text);
        linear(add, &format!("{l}.self_attn.dense"), h, h, text);
        linear(add, &format!("{l}.mlp.fc1"), h, ti, text);
        linear(add, &format!("{l}.mlp.fc2"), ti, h, text);
    }
    norm(add, "model.final_layernorm", h);
    linear(add, "lm_head", h, t.vocab_size, TensorRole::LmHead);
}

/// Qwen2's and Phi-3's layers under one set of names, q;k;v fused as `qkv`
/// (with Qwen's biases) and gate;up as `gate_up_proj`; RMSNorms have no bias.
fn llama_tensors(t: &TextConfig, add: &mut impl FnMut(String, Vec<usize>, TensorRole)) {
    let (h, ti) = (t.hidden_size, t.intermediate_size);
    let text = TensorRole::TextMatrix;
    let weight = |add: &mut dyn FnMut(String, Vec<usize>, TensorRole), name: String, shape| {
        add(format!("{name}.weight"), shape, text)
    };
    for i in 0..t.num_hidden_layers {
        let l = format!("model.layers.{i}");
        for n in ["input_layernorm", "post_attention_layernorm"] {
            add(format!("{l}.{n}.weight"), vec![h], TensorRole::Small);
        }
        weight(add, format!("{l}.self_attn.qkv"), vec![3 * h, h]);
        if t.arch == TextArch::Qwen2 {
            add(
                format!("{l}.self_attn.qkv.bias"),
                vec![3 * h],
                TensorRole::Small,
            );
        }
        weight(add, format!("{l}.self_attn.o_proj"), vec![h, h]);
        weight(add, format!("{l}.mlp.gate_up_proj"), vec![2 * ti, h]);
        weight(add, format!("{l}.mlp.down_proj"), vec![h, ti]);
    }
    add("model.norm.weight".into(), vec![h], TensorRole::Small);
    add(
        "lm_head.weight".into(),
        vec![t.vocab_size, h],
        TensorRole::LmHead,
    );
}

/// A LayerNorm's weight and bias.
fn norm(add: &mut impl FnMut(String, Vec<usize>, TensorRole), prefix: &str, size: usize) {
    add(format!("{prefix}.weight"), vec![size], TensorRole::Small);
    add(format!("{prefix}.bias"), vec![size], TensorRole::Small);
}

fn linear(
    add: &mut impl FnMut(String, Vec<usize>, TensorRole),
    prefix: &str,
    in_dim: usize,
    out_dim: usize,
    role: TensorRole,
) {
    add(format!("{prefix}.weight"), vec![out_dim, in_dim], role);
    add(format!("{prefix}.bias"), vec![out_dim], TensorRole::Small);
}

/// Fused tensors the converter writes, the names a checkpoint may store them
/// under whole, and the parts it may store instead (joined on rows).
const FUSED: [(&str, &[&str], &[&str]); 2] = [
    (
        "self_attn.qkv",
        &["self_attn.qkv_proj"],
        &["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
    ),
    ("mlp.gate_up_proj", &[], &["mlp.gate_proj", "mlp.up_proj"]),
];

/// Where a fused tensor the converter writes (`...self_attn.qkv.weight`) may
/// come from.
struct FusedSources {
    /// Checkpoint names it may be stored under whole.
    whole: Vec<String>,
    /// Its parts and their shapes (the rows split evenly, in order).
    parts: Vec<(String, Vec<usize>)>,
}

/// The sources of `spec` if it is a fused tensor, else None.
fn fused_sources(spec: &TensorSpec) -> Option<FusedSources> {
    let (stem, kind) = spec.source.rsplit_once('.')?;
    let (layer, whole, parts) = FUSED
        .iter()
        .find_map(|&(fused, whole, parts)| Some((stem.strip_suffix(fused)?, whole, parts)))?;
    let mut shape = spec.shape.clone();
    shape[0] /= parts.len();
    Some(FusedSources {
        whole: whole.iter().map(|w| format!("{layer}{w}.{kind}")).collect(),
        parts: parts
            .iter()
            .map(|p| (format!("{layer}{p}.{kind}"), shape.clone()))
            .collect(),
    })
}

/// Reads one output tensor from the checkpoint in f32, joining the parts of a
/// fused tensor when the checkpoint stores them apart (Phi-2's and Qwen's
/// q/k/v, Qwen's gate/up).
fn read_f32(ws: &WeightSource, spec: &TensorSpec) -> Result<Tensor> {
    let name = spec.source.as_str();
    let fused = fused_sources(spec).filter(|_| !ws.contains(name));
    let Some(FusedSources { whole, parts }) = fused else {
        return Ok(ws.get(spec.shape.clone(), name)?);
    };
    if let Some(w) = whole.iter().find(|w| ws.contains(w)) {
        return Ok(ws.get(spec.shape.clone(), w)?);
    }
    let parts = parts
        .into_iter()
        .map(|(part, shape)| ws.get(shape, &part))
        .collect::<candle_core::Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, 0)?)
}

/// Quantizes a (rows, ..) tensor in parallel row ranges: rows are independent
/// in every ggml type, so the concatenated blocks are the whole tensor's. Each
/// range is copied out on its own, so the peak is the tensor plus a few ranges
/// (the 51200-row embedding of Phi-2 is 0.5 GB in f32).
fn quantize(tensor: &Tensor, dtype: GgmlDType) -> Result<Vec<u8>> {
    let rows = tensor.dim(0)?;
    let chunk_rows = rows.div_ceil(rayon::current_num_threads() * 8).max(1);
    let starts: Vec<usize> = (0..rows).step_by(chunk_rows).collect();
    let parts = starts
        .par_iter()
        .map(|&start| {
            let part = tensor.narrow(0, start, chunk_rows.min(rows - start))?;
            let values: Vec<f32> = part.flatten_all()?.to_vec1()?;
            Ok(quantize_values(&values, dtype))
        })
        .collect::<candle_core::Result<Vec<Vec<u8>>>>()?;
    Ok(parts.concat())
}

/// Whole rows of `values` as the bytes of ggml `dtype` blocks.
pub(crate) fn quantize_values(values: &[f32], dtype: GgmlDType) -> Vec<u8> {
    let mut blocks = dtype.cpu_zeros(values.len());
    blocks.from_float(values);
    // SAFETY: `as_ptr` points at the `storage_size_in_bytes` bytes of the blocks
    // just written, alive until the copy below is made.
    unsafe { std::slice::from_raw_parts(blocks.as_ptr(), blocks.storage_size_in_bytes()) }.to_vec()
}

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

/// The header's view of `specs`: each tensor with the type `policy` gives it.
pub(crate) fn plan(specs: &[TensorSpec], policy: &QuantPolicy) -> Vec<PlannedTensor> {
    specs
        .iter()
        .map(|s| PlannedTensor {
            name: s.name.clone(),
            shape: s.shape.clone(),
            dtype: policy.dtype_for(s.role, &s.shape),
        })
        .collect()
}

/// One GGUF being written, and what has gone into it.
struct Output {
    path: PathBuf,
    writer: GgufWriter<BufWriter<std::fs::File>>,
    types: BTreeMap<String, usize>,
    tensors: usize,
}

impl Output {
    fn create(path: &Path, metadata: &[(String, Value)], plan: Vec<PlannedTensor>) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(|e| ImpError::io(path, e))?;
        let writer = GgufWriter::new(BufWriter::new(file), metadata, plan)
            .map_err(|e| ImpError::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
            types: BTreeMap::new(),
            tensors: 0,
        })
    }

    fn write(&mut self, planned: &PlannedTensor, bytes: &[u8]) -> Result<()> {
        self.writer
            .write_tensor(&planned.name, bytes)
            .map_err(|e| ImpError::io(&self.path, e))?;
        *self.types.entry(dtype_name(planned.dtype)).or_default() += 1;
        self.tensors += 1;
        Ok(())
    }

    fn finish(self) -> Result<WrittenFile> {
        let io = |e: std::io::Error| ImpError::io(&self.path, e);
        self.writer.finish().map_err(io)?;
        Ok(WrittenFile {
            bytes: std::fs::metadata(&self.path).map_err(io)?.len(),
            path: self.path.clone(),
            tensors: self.tensors,
            types: self.types.into_iter().collect(),
        })
    }
}

/// The Imp tensors under llama.cpp's names, split into the text file's and the
/// mmproj's, in the order `imp_tensors` gives them.
fn llama_cpp_specs(specs: &[TensorSpec], config: &ImpConfig) -> (Vec<TensorSpec>, Vec<TensorSpec>) {
    let (mut text, mut mmproj) = (Vec::new(), Vec::new());
    for spec in specs {
        let (is_vision, parts) = llama_cpp_parts(spec, config);
        if is_vision {
            mmproj.extend(parts);
        } else {
            text.extend(parts);
        }
    }
    (text, mmproj)
}

/// Whether an Imp tensor goes to the mmproj, and what it becomes there: itself
/// renamed, or cut into the tensors llama.cpp keeps apart (the vision q;k;v, as
/// clip.cpp reads them; Qwen2's q;k;v and gate;up).
fn llama_cpp_parts(spec: &TensorSpec, config: &ImpConfig) -> (bool, Vec<TensorSpec>) {
    let is_vision = spec.source.starts_with("model.vision_tower.")
        || spec.source.starts_with("model.mm_projector.");
    let split = is_vision || config.text.arch == TextArch::Qwen2;
    let sources = match fused_sources(spec) {
        Some(fused) if split => fused.parts,
        _ => vec![(spec.source.clone(), spec.shape.clone())],
    };
    let names = llama_cpp::names_for(config.text.arch);
    let parts = sources
        .into_iter()
        .map(|(source, shape)| TensorSpec {
            name: names(&source).expect("every Imp tensor has a llama.cpp name"),
            source,
            shape,
            role: spec.role,
        })
        .collect();
    (is_vision, parts)
}

fn llama_cpp_text_metadata(
    config: &ImpConfig,
    options: &ConvertOptions,
    tokenizer: Vec<(String, Value)>,
) -> Vec<(String, Value)> {
    let t = &config.text;
    let arch = t.arch.name();
    let u = |v: usize| Value::U32(v as u32);
    let key = |k: &str| format!("{arch}.{k}");
    let eps_key = match t.arch {
        TextArch::Phi2 => "attention.layer_norm_epsilon",
        TextArch::Qwen2 | TextArch::Phi3 => "attention.layer_norm_rms_epsilon",
    };
    let mut kv: Vec<(String, Value)> = vec![
        (keys::ARCHITECTURE.into(), arch.into()),
        (keys::NAME.into(), options.name.clone().into()),
        (
            keys::FILE_TYPE.into(),
            llama_cpp::file_type(options.policy.text).into(),
        ),
        (key("context_length"), u(config.context_length)),
        (key("embedding_length"), u(t.hidden_size)),
        (key("feed_forward_length"), u(t.intermediate_size)),
        (key("block_count"), u(t.num_hidden_layers)),
        (key("attention.head_count"), u(t.num_attention_heads)),
        (key("attention.head_count_kv"), u(t.num_attention_heads)),
        (key(eps_key), (t.norm_eps as f32).into()),
        (key("rope.dimension_count"), u(t.rotary_dim)),
        (key("rope.freq_base"), (t.rope_theta as f32).into()),
    ];
    if let Some(window) = t.sliding_window {
        kv.push((key("attention.sliding_window"), u(window)));
    }
    kv.extend(tokenizer);
    kv
}

fn llama_cpp_mmproj_metadata(config: &ImpConfig, options: &ConvertOptions) -> Vec<(String, Value)> {
    let v = &config.vision;
    let u = |n: usize| Value::U32(n as u32);
    let halves = || Value::Array(vec![Value::F32(0.5); 3]);
    let layers = config.vision_layers_used().unwrap_or(v.num_hidden_layers);
    vec![
        (keys::ARCHITECTURE.into(), "clip".into()),
        (keys::NAME.into(), format!("{} mmproj", options.name).into()),
        (
            keys::FILE_TYPE.into(),
            llama_cpp::file_type(options.policy.vision).into(),
        ),
        ("clip.has_vision_encoder".into(), true.into()),
        ("clip.has_llava_projector".into(), true.into()),
        ("clip.projector_type".into(), "mlp".into()),
        ("clip.vision.image_size".into(), u(v.image_size)),
        ("clip.vision.patch_size".into(), u(v.patch_size)),
        ("clip.vision.embedding_length".into(), u(v.hidden_size)),
        (
            "clip.vision.feed_forward_length".into(),
            u(v.intermediate_size),
        ),
        (
            "clip.vision.projection_dim".into(),
            u(config.text.hidden_size),
        ),
        // Only the layers Imp runs are written, so the last one is the feature layer.
        ("clip.vision.block_count".into(), u(layers)),
        (
            "clip.vision.attention.head_count".into(),
            u(v.num_attention_heads),
        ),
        (
            "clip.vision.attention.layer_norm_epsilon".into(),
            (v.layer_norm_eps as f32).into(),
        ),
        ("clip.vision.image_mean".into(), halves()),
        ("clip.vision.image_std".into(), halves()),
        // SigLIP's gelu_pytorch_tanh is ggml's GELU; without the flag clip.cpp
        // would fall back to quick-GELU.
        ("clip.use_gelu".into(), true.into()),
    ]
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
    template: crate::chat_template::ChatTemplate,
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
            Value::Array(
                config
                    .eos_token_ids
                    .iter()
                    .map(|&i| Value::U32(i))
                    .collect(),
            ),
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

/// The tokenizer as GGUF metadata: the exact HF JSON (what Imp loads), and
/// ggml's arrays as llama.cpp's converter writes them (the vocabulary padded to
/// the embedding rows): GPT-2 BPE with merges for Phi-2 and Qwen, SentencePiece
/// style (`llama`: scores and byte tokens, no merges) for Phi-3.
pub fn tokenizer_metadata(
    tokenizer: &ImpTokenizer,
    config: &ImpConfig,
) -> Result<Vec<(String, Value)>> {
    let json = tokenizer.to_json()?;
    let parsed: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| ImpError::Tokenizer(e.to_string()))?;
    let inner = tokenizer.inner();
    let rows = config.text.vocab_size.max(inner.get_vocab_size(true));
    let mut tokens: Vec<Option<String>> = vec![None; rows];
    for (token, id) in inner.get_vocab(true) {
        if let Some(slot) = tokens.get_mut(id as usize) {
            *slot = Some(token);
        }
    }
    let merges = merge_list(&parsed);
    let spm = config.text.arch == TextArch::Phi3;
    let added = inner.get_added_tokens_decoder();
    let unk = inner.token_to_id("<unk>");
    let token_type = |id: usize, token: Option<&String>| -> i32 {
        match (added.get(&(id as u32)), token) {
            _ if spm && Some(id as u32) == unk => 2,
            (Some(t), _) if t.special => 3,
            (Some(_), _) => 4,
            (None, Some(t)) if spm && is_byte_token(t) => 6,
            (None, Some(_)) => 1,
            (None, None) => 5,
        }
    };
    let types: Vec<Value> = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| Value::I32(token_type(id, t.as_ref())))
        .collect();
    // The vocabulary's third array: SentencePiece scores, or GPT-2 merges.
    let scoring = if spm {
        (
            keys::TOKENIZER_SCORES,
            Value::Array(spm_scores(&tokens, &merges)),
        )
    } else {
        let merges = merges.into_iter().map(Value::String).collect();
        (keys::TOKENIZER_MERGES, Value::Array(merges))
    };
    let tokens: Vec<Value> = tokens
        .into_iter()
        .enumerate()
        .map(|(id, t)| Value::String(t.unwrap_or_else(|| format!("[PAD{id}]"))))
        .collect();
    let template = ChatTemplate::for_arch(config.text.arch);
    let stop = inner.token_to_id(template.stop_tokens()[0]);
    let eos = stop.or(config.eos_token_ids.first().copied()).unwrap_or(0);
    let endoftext = inner.token_to_id("<|endoftext|>").unwrap_or(eos);
    // Whether the tokenizer's post-processor puts a BOS before a prompt.
    let adds_bos = tokenizer.encode_opening("a")?.len() > tokenizer.encode("a")?.len();
    let bos = match inner.token_to_id("<s>") {
        Some(s) if adds_bos => s,
        _ => endoftext,
    };
    let mut kv: Vec<(String, Value)> = vec![
        (
            keys::TOKENIZER_MODEL.into(),
            if spm { "llama" } else { "gpt2" }.into(),
        ),
        (
            keys::TOKENIZER_PRE.into(),
            match config.text.arch {
                TextArch::Phi2 => "phi-2",
                TextArch::Qwen2 => "qwen2",
                TextArch::Phi3 => "default",
            }
            .into(),
        ),
        (keys::TOKENIZER_TOKENS.into(), Value::Array(tokens)),
        (keys::TOKENIZER_TOKEN_TYPE.into(), Value::Array(types)),
    ];
    kv.push((scoring.0.into(), scoring.1));
    if spm {
        kv.push((keys::TOKENIZER_UNK.into(), unk.unwrap_or(0).into()));
    }
    kv.extend([
        (keys::TOKENIZER_BOS.into(), bos.into()),
        (keys::TOKENIZER_EOS.into(), eos.into()),
        (keys::TOKENIZER_PAD.into(), endoftext.into()),
        (keys::TOKENIZER_ADD_BOS.into(), adds_bos.into()),
        (keys::TOKENIZER_HF_JSON.into(), json.into()),
    ]);
    Ok(kv)
}

/// A BPE vocabulary as SentencePiece scores: a piece made by an earlier merge
/// scores higher, so score order is merge order (what SentencePiece's BPE
/// uses); pieces no merge makes score 0.
fn spm_scores(tokens: &[Option<String>], merges: &[String]) -> Vec<Value> {
    let rank: std::collections::HashMap<String, usize> = merges
        .iter()
        .enumerate()
        .map(|(i, m)| (m.replace(' ', ""), i))
        .collect();
    tokens
        .iter()
        .map(|t| {
            let r = t.as_ref().and_then(|t| rank.get(t));
            Value::F32(r.map_or(0.0, |&r| -(r as f32) - 1.0))
        })
        .collect()
}

/// A BPE model's merges as "a b" strings, from either JSON spelling.
fn merge_list(parsed: &serde_json::Value) -> Vec<String> {
    parsed["model"]["merges"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|entry| match entry {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Array(pair) => Some(
                        pair.iter()
                            .filter_map(|p| p.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// SentencePiece's byte tokens, `<0x00>` to `<0xFF>`.
fn is_byte_token(token: &str) -> bool {
    token.len() == 6
        && token.starts_with("<0x")
        && token.ends_with('>')
        && token[3..5].chars().all(|c| c.is_ascii_hexdigit())
}
