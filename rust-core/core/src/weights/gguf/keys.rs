//! The metadata keys of an Imp GGUF file (`general.architecture = "imp"`).
//!
//! The checkpoint's `config.json` travels whole under [`CONFIG`], so the loader
//! sees exactly what the float model would; the separate `imp.*` settings repeat
//! what an app or another tool wants without parsing JSON. The tokenizer is the
//! standard `tokenizer.*` set: ggml's token arrays (what llama.cpp reads) plus
//! `tokenizer.huggingface.json`, the format's key for the exact HF tokenizer.

pub const ARCHITECTURE: &str = "general.architecture";
pub const NAME: &str = "general.name";
pub const FILE_TYPE: &str = "general.file_type";
pub const IMP_ARCH: &str = "imp";

/// The checkpoint's config.json, verbatim.
pub const CONFIG: &str = "imp.config";
/// A format version of our own, bumped if the layout of an Imp file changes.
pub const FORMAT_VERSION: &str = "imp.format_version";
pub const CHAT_TEMPLATE: &str = "imp.chat_template";
pub const IMAGE_SIZE: &str = "imp.vision.image_size";
pub const PATCH_SIZE: &str = "imp.vision.patch_size";
pub const VISION_LAYERS_USED: &str = "imp.vision.layers_used";
pub const ASPECT_MODE: &str = "imp.vision.aspect_mode";
pub const IMAGE_TOKEN_ID: &str = "imp.image_token_id";
pub const EOS_TOKEN_IDS: &str = "imp.eos_token_ids";
pub const CONTEXT_LENGTH: &str = "imp.context_length";
/// How each kind of tensor was quantized (the policy, in words), and the
/// command-line choice it came from.
pub const QUANT_POLICY: &str = "imp.quantization.policy";
pub const QUANT: &str = "imp.quantization.text";
pub const VISION_QUANT: &str = "imp.quantization.vision";

pub const TOKENIZER_HF_JSON: &str = "tokenizer.huggingface.json";
pub const TOKENIZER_MODEL: &str = "tokenizer.ggml.model";
pub const TOKENIZER_PRE: &str = "tokenizer.ggml.pre";
pub const TOKENIZER_TOKENS: &str = "tokenizer.ggml.tokens";
pub const TOKENIZER_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
pub const TOKENIZER_MERGES: &str = "tokenizer.ggml.merges";
pub const TOKENIZER_SCORES: &str = "tokenizer.ggml.scores";
pub const TOKENIZER_UNK: &str = "tokenizer.ggml.unknown_token_id";
pub const TOKENIZER_EOS: &str = "tokenizer.ggml.eos_token_id";
pub const TOKENIZER_BOS: &str = "tokenizer.ggml.bos_token_id";
pub const TOKENIZER_PAD: &str = "tokenizer.ggml.padding_token_id";
pub const TOKENIZER_ADD_BOS: &str = "tokenizer.ggml.add_bos_token";
pub const TOKENIZER_CHAT_TEMPLATE: &str = "tokenizer.chat_template";

pub const CURRENT_FORMAT_VERSION: u32 = 1;
