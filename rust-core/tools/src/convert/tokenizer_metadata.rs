//! The tokenizer as GGUF metadata, for Imp (the exact HF JSON) and for
//! llama.cpp (ggml's token arrays).

use imp_core::config::{ImpConfig, TextArch};
use imp_core::error::{ImpError, Result};
use imp_core::text::chat_template::ChatTemplate;
use imp_core::text::tokenizer::ImpTokenizer;
use imp_core::weights::gguf::{keys, Array, Strings, Value};

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
    let types: Vec<i32> = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| token_type(id, t.as_ref()))
        .collect();
    // The vocabulary's third array: SentencePiece scores, or GPT-2 merges.
    let scoring = if spm {
        (
            keys::TOKENIZER_SCORES,
            Value::Array(Array::F32(spm_scores(&tokens, &merges))),
        )
    } else {
        let merges = merges.iter().collect();
        (keys::TOKENIZER_MERGES, Value::Array(Array::String(merges)))
    };
    let tokens: Strings = tokens
        .into_iter()
        .enumerate()
        .map(|(id, t)| t.unwrap_or_else(|| format!("[PAD{id}]")))
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
        (
            keys::TOKENIZER_TOKENS.into(),
            Value::Array(Array::String(tokens)),
        ),
        (
            keys::TOKENIZER_TOKEN_TYPE.into(),
            Value::Array(Array::I32(types)),
        ),
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
fn spm_scores(tokens: &[Option<String>], merges: &[String]) -> Vec<f32> {
    let rank: std::collections::HashMap<String, usize> = merges
        .iter()
        .enumerate()
        .map(|(i, m)| (m.replace(' ', ""), i))
        .collect();
    tokens
        .iter()
        .map(|t| {
            let r = t.as_ref().and_then(|t| rank.get(t));
            r.map_or(0.0, |&r| -(r as f32) - 1.0)
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
