//! The `--llama-cpp` pair: the same tensors under llama.cpp's names, split into
//! the text file and the `clip` mmproj, with the metadata keys llama.cpp reads.

use super::tensors::{fused_sources, TensorSpec};
use super::ConvertOptions;
use imp_core::config::{ImpConfig, TextArch};
use imp_core::weights::gguf::{keys, Array, Value};
use imp_core::weights::llama_cpp;

/// The Imp tensors under llama.cpp's names, split into the text file's and the
/// mmproj's, in the order `imp_tensors` gives them.
pub(super) fn llama_cpp_specs(
    specs: &[TensorSpec],
    config: &ImpConfig,
) -> (Vec<TensorSpec>, Vec<TensorSpec>) {
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
pub(super) fn llama_cpp_parts(spec: &TensorSpec, config: &ImpConfig) -> (bool, Vec<TensorSpec>) {
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

pub(super) fn llama_cpp_text_metadata(
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

pub(super) fn llama_cpp_mmproj_metadata(
    config: &ImpConfig,
    options: &ConvertOptions,
) -> Vec<(String, Value)> {
    let v = &config.vision;
    let u = |n: usize| Value::U32(n as u32);
    let halves = || Value::Array(Array::F32(vec![0.5; 3]));
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
