//! The tensors an Imp file holds, under the names the model code asks for, and
//! reading each from a checkpoint whichever way it stores them.

use candle_core::Tensor;

use super::policy::{QuantPolicy, TensorRole};
use imp_core::config::{ImpConfig, TextArch, TextConfig};
use imp_core::error::Result;
use imp_core::weights::gguf::PlannedTensor;
use imp_core::weights::weight_source::WeightSource;

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
pub(super) struct FusedSources {
    /// Checkpoint names it may be stored under whole.
    pub whole: Vec<String>,
    /// Its parts and their shapes (the rows split evenly, in order).
    pub parts: Vec<(String, Vec<usize>)>,
}

/// The sources of `spec` if it is a fused tensor, else None.
pub(super) fn fused_sources(spec: &TensorSpec) -> Option<FusedSources> {
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
pub(super) fn read_f32(ws: &WeightSource, spec: &TensorSpec) -> Result<Tensor> {
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
