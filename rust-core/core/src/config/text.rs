//! The language model's settings: which one it is ([`TextArch`]) and its
//! dimensions ([`TextConfig`]), resolved from whichever keys the config uses.

use super::RawConfig;

/// Which language model an Imp checkpoint is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextArch {
    /// Phi-2 (Imp-3B): parallel block, LayerNorm, partial rotary, biases.
    Phi2,
    /// Qwen1.5 (Imp-2B): Llama-shaped, q/k/v with bias.
    Qwen2,
    /// Phi-3-mini (Imp-4B): Llama-shaped, q;k;v and gate;up stored fused,
    /// sliding-window attention.
    Phi3,
}

impl TextArch {
    /// The `model_type` MILVLG's configs carry, and the architecture class.
    const KNOWN: [(&'static str, &'static str, TextArch); 3] = [
        ("imp", "ImpForCausalLM", TextArch::Phi2),
        ("imp_qwen2", "ImpQwen2ForCausalLM", TextArch::Qwen2),
        ("imp_phi3", "ImpPhi3ForCausalLM", TextArch::Phi3),
    ];

    pub(super) fn detect(
        model_type: &str,
        architectures: &[String],
    ) -> std::result::Result<Self, String> {
        let by_type = Self::KNOWN.iter().find(|(t, _, _)| *t == model_type);
        let by_class = Self::KNOWN
            .iter()
            .find(|(_, c, _)| architectures.iter().any(|a| a == c));
        match (by_type, by_class) {
            (Some(t), Some(c)) if t.2 != c.2 => Err(format!(
                "config.json contradicts itself: model_type {model_type:?} but architectures \
                 {architectures:?}"
            )),
            (Some((_, _, arch)), _) => Ok(*arch),
            // A config saved without model_type still names its class.
            (None, Some((_, _, arch))) if model_type.is_empty() => Ok(*arch),
            _ => Err(format!(
                "unsupported model_type {model_type:?} (architectures {architectures:?}); this \
                 build runs Imp on Phi-2 (\"imp\"), Qwen1.5 (\"imp_qwen2\") and Phi-3 \
                 (\"imp_phi3\")"
            )),
        }
    }

    /// The name MILVLG's prompt template and llama.cpp use for this language model.
    pub fn name(self) -> &'static str {
        match self {
            TextArch::Phi2 => "phi2",
            TextArch::Qwen2 => "qwen2",
            TextArch::Phi3 => "phi3",
        }
    }

    /// The architecture `name` names (llama.cpp's `general.architecture`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::KNOWN
            .iter()
            .map(|(_, _, arch)| *arch)
            .find(|arch| arch.name() == name)
    }

    /// The `model_type` an Imp config.json of this language model carries.
    pub fn model_type(self) -> &'static str {
        Self::KNOWN
            .iter()
            .find(|(_, _, arch)| *arch == self)
            .map_or("", |(model_type, _, _)| model_type)
    }
}

/// Language-model settings, resolved from whichever key spelling the config uses.
#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    pub arch: TextArch,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub rotary_dim: usize,
    pub rope_theta: f64,
    /// LayerNorm eps for Phi-2, RMSNorm eps for Qwen2 and Phi-3.
    pub norm_eps: f64,
    pub hidden_act: String,
    /// Each position attends to at most this many (itself included): Phi-3's
    /// `sliding_window`; Qwen's only with `use_sliding_window`.
    pub sliding_window: Option<usize>,
}

impl TextConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

impl RawConfig {
    /// Phi-2: absent keys take Phi-2's values (see the module comment).
    pub(super) fn phi2(&self) -> std::result::Result<TextConfig, String> {
        let hidden_size = self.hidden_size.unwrap_or(2560);
        let num_attention_heads = self.num_attention_heads.unwrap_or(32);
        check_heads(hidden_size, num_attention_heads, self.num_key_value_heads)?;
        let head_dim = hidden_size / num_attention_heads;
        let rotary_dim = match (self.rotary_dim, self.partial_rotary_factor) {
            (Some(d), _) => d,
            (None, f) => (head_dim as f64 * f.unwrap_or(0.4)) as usize,
        };
        if rotary_dim % 2 != 0 || rotary_dim > head_dim {
            return Err(format!(
                "rotary dim {rotary_dim} does not fit head dim {head_dim}"
            ));
        }
        Ok(TextConfig {
            arch: TextArch::Phi2,
            vocab_size: self.vocab_size.unwrap_or(51200),
            hidden_size,
            intermediate_size: self.intermediate_size.unwrap_or(4 * hidden_size),
            num_hidden_layers: self.num_hidden_layers.unwrap_or(32),
            num_attention_heads,
            rotary_dim,
            rope_theta: self.rope_theta.unwrap_or(10_000.0),
            norm_eps: self.layer_norm_eps.unwrap_or(1e-5),
            hidden_act: self.hidden_act.clone().unwrap_or_else(|| "gelu_new".into()),
            sliding_window: None,
        })
    }

    /// Qwen2 and Phi-3 configs list every dimension; a missing one is an error
    /// rather than a guess.
    pub(super) fn llama_shaped(&self, arch: TextArch) -> std::result::Result<TextConfig, String> {
        let need = |v: Option<usize>, key: &str| {
            v.ok_or_else(|| format!("config.json has no {key} for {}", arch.name()))
        };
        let hidden_size = need(self.hidden_size, "hidden_size")?;
        let num_attention_heads = need(self.num_attention_heads, "num_attention_heads")?;
        check_heads(hidden_size, num_attention_heads, self.num_key_value_heads)?;
        let head_dim = hidden_size / num_attention_heads;
        if let Some(scaling) = self.rope_scaling.as_ref().filter(|v| !v.is_null()) {
            return Err(format!(
                "rope_scaling {scaling} is not supported (Imp's Phi-3 and Qwen1.5 use none)"
            ));
        }
        let rotary_dim = (head_dim as f64 * self.partial_rotary_factor.unwrap_or(1.0)) as usize;
        if !rotary_dim.is_multiple_of(2) || rotary_dim > head_dim {
            return Err(format!(
                "rotary dim {rotary_dim} does not fit head dim {head_dim}"
            ));
        }
        let sliding_window = match arch {
            TextArch::Phi3 => self.sliding_window,
            _ if self.use_sliding_window == Some(true) => self.sliding_window,
            _ => None,
        };
        if sliding_window == Some(0) {
            return Err("sliding_window 0 would hide every position".into());
        }
        let (theta, eps) = match arch {
            TextArch::Qwen2 => (1e6, 1e-6),
            _ => (1e4, 1e-5),
        };
        Ok(TextConfig {
            arch,
            vocab_size: need(self.vocab_size, "vocab_size")?,
            hidden_size,
            intermediate_size: need(self.intermediate_size, "intermediate_size")?,
            num_hidden_layers: need(self.num_hidden_layers, "num_hidden_layers")?,
            num_attention_heads,
            rotary_dim,
            rope_theta: self.rope_theta.unwrap_or(theta),
            norm_eps: self.rms_norm_eps.unwrap_or(eps),
            hidden_act: self.hidden_act.clone().unwrap_or_else(|| "silu".into()),
            sliding_window,
        })
    }
}

fn check_heads(
    hidden: usize,
    heads: usize,
    kv_heads: Option<usize>,
) -> std::result::Result<(), String> {
    if heads == 0 || !hidden.is_multiple_of(heads) {
        return Err(format!(
            "hidden size {hidden} is not a multiple of {heads} heads"
        ));
    }
    match kv_heads {
        Some(kv) if kv != heads => Err(format!(
            "{kv} key/value heads for {heads} query heads: grouped-query attention is in no \
             Imp checkpoint and not supported"
        )),
        _ => Ok(()),
    }
}
