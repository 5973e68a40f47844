//! llama.cpp's names for Imp's tensors, for the pair llama.cpp runs this shape
//! with (as it runs Bunny, also SigLIP + Phi-2): a text GGUF of the language
//! model's architecture (`phi2`, `qwen2`, `phi3`) and an mmproj GGUF (`clip`,
//! projector type `mlp`).
//!
//! Facts from llama.cpp's own tables in the `gguf` Python package (0.19.0):
//! `constants.py` (`MODEL_TENSORS[PHI2/QWEN2/PHI3/MMPROJ]`, `TENSOR_NAMES`) and
//! `tensor_mapping.py` (SigLIP's `mlp.fc1` is `ffn_up`, `fc2` `ffn_down`;
//! Phi-3's fused `gate_up_proj` is `ffn_up`). Qwen2's q, k, v and gate, up are
//! separate tensors there, as are the vision q, k and v (clip.cpp reads them so).

use crate::config::TextArch;
use crate::weights::weight_source::GgufNames;

/// The name function for a pair whose text file is of architecture `arch`.
pub fn names_for(arch: TextArch) -> GgufNames {
    match arch {
        TextArch::Phi2 => llama_cpp_name,
        TextArch::Qwen2 => |name| with_stems(name, qwen2_module),
        TextArch::Phi3 => |name| with_stems(name, phi3_module),
    }
}

/// The llama.cpp name of a Phi-2 Imp tensor, or None if neither file of the
/// pair holds it under that name (the loader then tries the unfused parts).
pub fn llama_cpp_name(name: &str) -> Option<String> {
    with_stems(name, phi2_module)
}

fn with_stems(name: &str, module: fn(&str) -> Option<&'static str>) -> Option<String> {
    let (stem, kind) = name.rsplit_once('.')?;
    let stem = text_stem(stem, module).or_else(|| vision_stem(stem))?;
    Some(format!("{stem}.{kind}"))
}

fn text_stem(stem: &str, module: fn(&str) -> Option<&'static str>) -> Option<String> {
    match stem {
        "model.embed_tokens" => return Some("token_embd".into()),
        "model.final_layernorm" | "model.norm" => return Some("output_norm".into()),
        "lm_head" => return Some("output".into()),
        _ => {}
    }
    let rest = stem.strip_prefix("model.layers.")?;
    let (layer, name) = rest.split_once('.')?;
    Some(format!("blk.{layer}.{}", module(name)?))
}

fn phi2_module(name: &str) -> Option<&'static str> {
    Some(match name {
        "input_layernorm" => "attn_norm",
        "self_attn.qkv" => "attn_qkv",
        "self_attn.dense" => "attn_output",
        "mlp.fc1" => "ffn_up",
        "mlp.fc2" => "ffn_down",
        _ => return None,
    })
}

fn qwen2_module(name: &str) -> Option<&'static str> {
    Some(match name {
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return None,
    })
}

fn phi3_module(name: &str) -> Option<&'static str> {
    Some(match name {
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        "self_attn.qkv" | "self_attn.qkv_proj" => "attn_qkv",
        "self_attn.o_proj" => "attn_output",
        "mlp.gate_up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return None,
    })
}

fn vision_stem(stem: &str) -> Option<String> {
    if let Some(index) = stem.strip_prefix("model.mm_projector.") {
        return Some(format!("mm.{index}"));
    }
    let rest = stem.strip_prefix("model.vision_tower.vision_tower.vision_model.")?;
    match rest {
        "embeddings.patch_embedding" => return Some("v.patch_embd".into()),
        "embeddings.position_embedding" => return Some("v.position_embd".into()),
        _ => {}
    }
    let (layer, module) = rest.strip_prefix("encoder.layers.")?.split_once('.')?;
    let module = match module {
        "layer_norm1" => "ln1",
        "layer_norm2" => "ln2",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.out_proj" => "attn_out",
        "mlp.fc1" => "ffn_up",
        "mlp.fc2" => "ffn_down",
        _ => return None,
    };
    Some(format!("v.blk.{layer}.{module}"))
}

/// llama.cpp's `general.file_type` for a text quantization (`LlamaFileType`).
pub fn file_type(text: candle_core::quantized::GgmlDType) -> u32 {
    use candle_core::quantized::GgmlDType as D;
    match text {
        D::F32 => 0,
        D::F16 => 1,
        D::Q4_0 => 2,
        D::Q8_0 => 7,
        // Q4_K with a q6_k output is what llama.cpp calls Q4_K_M.
        D::Q4K => 15,
        D::Q6K => 18,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qwen2_and_phi3_names_follow_llama_cpp() {
        let qwen = names_for(TextArch::Qwen2);
        let phi3 = names_for(TextArch::Phi3);
        let cases = [
            (
                qwen,
                "model.layers.2.self_attn.k_proj.bias",
                Some("blk.2.attn_k.bias"),
            ),
            (
                qwen,
                "model.layers.0.mlp.gate_proj.weight",
                Some("blk.0.ffn_gate.weight"),
            ),
            (qwen, "model.layers.0.self_attn.qkv.weight", None),
            (qwen, "model.norm.weight", Some("output_norm.weight")),
            (
                phi3,
                "model.layers.1.self_attn.qkv.weight",
                Some("blk.1.attn_qkv.weight"),
            ),
            (
                phi3,
                "model.layers.1.mlp.gate_up_proj.weight",
                Some("blk.1.ffn_up.weight"),
            ),
            (
                phi3,
                "model.layers.1.post_attention_layernorm.weight",
                Some("blk.1.ffn_norm.weight"),
            ),
            (phi3, "model.layers.1.mlp.up_proj.weight", None),
        ];
        for (names, hf, ours) in cases {
            assert_eq!(names(hf).as_deref(), ours, "{hf}");
        }
    }

    #[test]
    fn names_follow_llama_cpp() {
        let vm = "model.vision_tower.vision_tower.vision_model";
        let cases = [
            ("model.embed_tokens.weight", "token_embd.weight"),
            ("model.layers.3.self_attn.qkv.bias", "blk.3.attn_qkv.bias"),
            ("model.layers.0.mlp.fc2.weight", "blk.0.ffn_down.weight"),
            ("lm_head.bias", "output.bias"),
            ("model.mm_projector.2.weight", "mm.2.weight"),
            (
                &format!("{vm}.encoder.layers.25.mlp.fc1.weight"),
                "v.blk.25.ffn_up.weight",
            ),
            (
                &format!("{vm}.encoder.layers.1.self_attn.k_proj.bias"),
                "v.blk.1.attn_k.bias",
            ),
            (
                &format!("{vm}.embeddings.patch_embedding.weight"),
                "v.patch_embd.weight",
            ),
        ];
        for (hf, ours) in cases {
            assert_eq!(llama_cpp_name(hf).as_deref(), Some(ours), "{hf}");
        }
        assert_eq!(
            llama_cpp_name(&format!("{vm}.encoder.layers.1.self_attn.qkv.weight")),
            None
        );
    }
}
