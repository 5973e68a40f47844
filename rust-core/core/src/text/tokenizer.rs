//! The checkpoint's tokenizer: `tokenizer.json` when present, otherwise the same
//! GPT-2 byte-level BPE rebuilt from the slow-tokenizer files MILVLG ships for the
//! Phi-2 variants (`vocab.json`, `merges.txt`, `added_tokens.json`,
//! `special_tokens_map.json`).
//!
//! `<image>` and `</s>` are added tokens, so they are matched whole in the text
//! before BPE runs, as transformers does.

use std::collections::BTreeMap;
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{ImpError, Result};

pub struct ImpTokenizer {
    inner: Tokenizer,
}

impl ImpTokenizer {
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        let inner = if json.exists() {
            let text = std::fs::read_to_string(&json).map_err(|e| ImpError::io(&json, e))?;
            parse_json(&text)
                .map_err(|e| ImpError::Tokenizer(format!("{}: {e}", json.display())))?
        } else {
            from_slow_files(dir)?
        };
        Ok(Self { inner })
    }

    /// A serialised HF tokenizer (`tokenizer.json` text).
    pub fn from_json(json: &str) -> Result<Self> {
        let inner =
            parse_json(json).map_err(|e| ImpError::Tokenizer(format!("tokenizer.json: {e}")))?;
        Ok(Self { inner })
    }

    /// The tokenizer as `tokenizer.json` text, whichever files it came from.
    pub fn to_json(&self) -> Result<String> {
        self.inner
            .to_string(false)
            .map_err(|e| ImpError::Tokenizer(e.to_string()))
    }

    /// GPT-2 byte-level BPE rebuilt from ggml's arrays (`tokenizer.ggml.tokens`,
    /// `token_type`, `merges`), for GGUF files without the HF JSON. Padding
    /// entries (type 5, unused) are left out; control (3) and user-defined (4)
    /// tokens are added tokens, control ones special.
    pub fn from_gguf_arrays(file: &crate::weights::gguf::GgufFile) -> Result<Self> {
        use crate::weights::gguf::keys;
        let model = file.string(keys::TOKENIZER_MODEL)?;
        if model != "gpt2" {
            return Err(ImpError::UnsupportedModel(format!(
                "tokenizer model {model:?} without tokenizer.huggingface.json"
            )));
        }
        let strings = |key: &str| -> Result<Vec<String>> {
            let array = file
                .get(key)
                .and_then(|v| v.as_array())
                .and_then(|a| a.strings())
                .ok_or_else(|| ImpError::Tokenizer(format!("{key} is missing or not strings")))?;
            Ok(array.iter().map(str::to_string).collect())
        };
        let tokens = strings(keys::TOKENIZER_TOKENS)?;
        let types: Vec<u64> = file
            .get(keys::TOKENIZER_TOKEN_TYPE)
            .and_then(|v| v.as_array())
            .map(|a| (0..a.len()).map(|i| a.u64_at(i).unwrap_or(1)).collect())
            .unwrap_or_default();
        let merges = strings(keys::TOKENIZER_MERGES)?
            .into_iter()
            .filter_map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            })
            .collect();
        let kind = |id: usize| types.get(id).copied().unwrap_or(1);
        let vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .filter(|(id, _)| kind(*id) == 1)
            .map(|(id, t)| (t.clone(), id as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| ImpError::Tokenizer(format!("GGUF vocabulary: {e}")))?;
        let mut inner = byte_level(bpe);
        for (id, token) in tokens.iter().enumerate() {
            if matches!(kind(id), 3 | 4) {
                add_at(&mut inner, token, id as u32, kind(id) == 3)?;
            }
        }
        Ok(Self { inner })
    }

    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    pub fn from_tokenizer(inner: Tokenizer) -> Self {
        Self { inner }
    }

    /// Token ids for `text` alone, no special tokens added: a later turn.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.encode_with(text, false)
    }

    /// Token ids for the opening of a conversation, with the special tokens the
    /// tokenizer's own post-processor adds (Phi-3's `<s>`; none for Phi-2 and
    /// Qwen), as the reference's `tokenizer(prompt)` does.
    pub fn encode_opening(&self, text: &str) -> Result<Vec<u32>> {
        self.encode_with(text, true)
    }

    fn encode_with(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, add_special_tokens)
            .map_err(|e| ImpError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Decodes ids to text, keeping special tokens out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| ImpError::Tokenizer(e.to_string()))
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// A `tokenizer.json` text, checked for what makes tokenizers 0.22 panic
/// instead of failing (all found by fuzzing): a `decoder` section that is
/// not valid JSON (`expect("Helper")` in its deserializer), so the whole text
/// is parsed as JSON first; a Strip decoder that strips from the end; and a
/// post-processor template that tokenizers does not validate when it reads
/// one (see `check_post_processor`).
fn parse_json(text: &str) -> std::result::Result<Tokenizer, String> {
    #[derive(serde::Deserialize)]
    struct Sections {
        decoder: Option<serde_json::Value>,
        post_processor: Option<serde_json::Value>,
    }
    let sections: Sections = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if let Some(decoder) = &sections.decoder {
        check_decoder(decoder)?;
    }
    if let Some(processor) = &sections.post_processor {
        check_post_processor(processor)?;
    }
    text.parse().map_err(|e: tokenizers::Error| e.to_string())
}

/// A Strip decoder that strips from the end (`stop` > 0) indexes before a
/// token's first character when the token is shorter than `stop`. No Imp
/// tokenizer strips from the end.
fn check_decoder(decoder: &serde_json::Value) -> std::result::Result<(), String> {
    let field = |name: &str| decoder.get(name);
    match field("type").and_then(|t| t.as_str()) {
        Some("Strip") if field("stop").and_then(|n| n.as_u64()).unwrap_or(0) > 0 => {
            Err("a Strip decoder that strips from the end (stop > 0) is not supported".into())
        }
        Some("Sequence") => field("decoders")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
            .try_for_each(check_decoder),
        _ => Ok(()),
    }
}

/// A template that names a special token it does not define (a map index)
/// or puts a second sequence in the single-sequence template (an index past
/// the one encoding) panics in `encode`. Checked by shape, not by `type`:
/// tokenizers reads a post-processor untagged, so any object with templates
/// may become a TemplateProcessing.
fn check_post_processor(processor: &serde_json::Value) -> std::result::Result<(), String> {
    if let Some(processors) = processor.get("processors").and_then(|p| p.as_array()) {
        processors.iter().try_for_each(check_post_processor)?;
    }
    let defined = processor.get("special_tokens").and_then(|t| t.as_object());
    for name in ["single", "pair"] {
        let pieces = processor.get(name).and_then(|t| t.as_array());
        for piece in pieces.into_iter().flatten() {
            let id = |kind: &str| piece.get(kind)?.get("id")?.as_str();
            if let Some(token) = id("SpecialToken") {
                if !defined.is_some_and(|d| d.contains_key(token)) {
                    return Err(format!(
                        "post-processor template {name:?} uses special token {token:?}, which it does not define"
                    ));
                }
            }
            if name == "single" && id("Sequence") == Some("B") {
                return Err("post-processor template \"single\" places a second sequence".into());
            }
        }
    }
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ImpError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| ImpError::Tokenizer(format!("{}: {e}", path.display())))
}

/// The special-token map's values are either plain strings or AddedToken objects.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum SpecialToken {
    Plain(String),
    Object { content: String },
}

fn from_slow_files(dir: &Path) -> Result<Tokenizer> {
    let vocab = dir.join("vocab.json");
    let merges = dir.join("merges.txt");
    for file in [&vocab, &merges] {
        if !file.exists() {
            return Err(ImpError::InvalidModel(format!(
                "{} has neither tokenizer.json nor {}",
                dir.display(),
                file.file_name().unwrap_or_default().to_string_lossy()
            )));
        }
    }
    let bpe = BPE::from_file(&vocab.to_string_lossy(), &merges.to_string_lossy())
        .build()
        .map_err(|e| ImpError::Tokenizer(format!("vocab.json/merges.txt: {e}")))?;
    let mut tokenizer = byte_level(bpe);

    let specials: Vec<String> = match dir.join("special_tokens_map.json") {
        p if p.exists() => read_json::<BTreeMap<String, SpecialToken>>(&p)?
            .into_values()
            .map(|t| match t {
                SpecialToken::Plain(s) | SpecialToken::Object { content: s } => s,
            })
            .collect(),
        _ => Vec::new(),
    };
    let added: BTreeMap<String, u32> = match dir.join("added_tokens.json") {
        p if p.exists() => read_json(&p)?,
        _ => BTreeMap::new(),
    };
    // Added tokens must land on the ids the checkpoint was trained with; they are
    // appended in id order, so check each one where it lands.
    let mut in_order: Vec<(&String, &u32)> = added.iter().collect();
    in_order.sort_by_key(|(_, id)| **id);
    for (content, &id) in in_order {
        add_at(&mut tokenizer, content, id, specials.contains(content))?;
    }
    // Specials already in the vocabulary (e.g. <|endoftext|>) are skipped on decode.
    let in_vocab: Vec<AddedToken> = specials
        .iter()
        .filter(|s| !added.contains_key(*s) && tokenizer.token_to_id(s).is_some())
        .map(|s| AddedToken::from(s.clone(), true))
        .collect();
    tokenizer.add_special_tokens(&in_vocab);
    Ok(tokenizer)
}

/// GPT-2's byte-level BPE around `bpe`, as the Phi-2 tokenizer is built.
fn byte_level(bpe: BPE) -> Tokenizer {
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    tokenizer
}

/// Adds `content` as an added token and checks it lands on `id`, the id the
/// checkpoint was trained with (added tokens are appended, so callers add them
/// in id order).
fn add_at(tokenizer: &mut Tokenizer, content: &str, id: u32, special: bool) -> Result<()> {
    let token = AddedToken::from(content.to_string(), special);
    if special {
        tokenizer.add_special_tokens(&[token]);
    } else {
        tokenizer.add_tokens(&[token]);
    }
    let got = tokenizer.token_to_id(content);
    if got != Some(id) {
        return Err(ImpError::Tokenizer(format!(
            "added token {content:?} should have id {id} but got {got:?}"
        )));
    }
    Ok(())
}
