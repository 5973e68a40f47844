//! The SigLIP vision tower as Imp runs it.
//!
//! Imp deletes every encoder layer after `mm_vision_select_layer` (-2: 26 of
//! so400m's 27 layers), replaces the post-layernorm and the pooling head with
//! identities, and takes the last hidden state of what is left, all patches.
//! candle-transformers' SigLIP always runs the full encoder with post-layernorm,
//! hence this file.
//!
//! References: MILVLG/imp `imp_llava/model/multimodal_encoder/clip_encoder.py`;
//! transformers `models/siglip/modeling_siglip.py`.

use candle_core::{Module, Result, Tensor};
use candle_nn::{layer_norm, linear, LayerNorm, Linear, VarBuilder};

use crate::activation::Activation;
use crate::config::VisionConfig;
use crate::layers::{fused_qkv, Mlp};

/// Multi-head attention over (seq, 3 * hidden) fused projections, no mask.
struct VisionAttention {
    qkv: Linear,
    out_proj: Linear,
    num_heads: usize,
    head_dim: usize,
}

impl VisionAttention {
    fn new(cfg: &VisionConfig, vb: VarBuilder) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(Self {
            qkv: fused_qkv(h, h, &vb)?,
            out_proj: linear(h, h, vb.pp("out_proj"))?,
            num_heads: cfg.num_attention_heads,
            head_dim: h / cfg.num_attention_heads,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (seq, hidden) = xs.dims2()?;
        let qkv = self
            .qkv
            .forward(xs)?
            .reshape((seq, 3, self.num_heads, self.head_dim))?
            .permute((1, 2, 0, 3))?;
        let q = (qkv.get(0)?.contiguous()? * (self.head_dim as f64).powf(-0.5))?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let scores = q.matmul(&k.t()?)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&v)?.transpose(0, 1)?.reshape((seq, hidden))?;
        self.out_proj.forward(&out)
    }
}

struct EncoderLayer {
    layer_norm1: LayerNorm,
    self_attn: VisionAttention,
    layer_norm2: LayerNorm,
    mlp: Mlp,
}

impl EncoderLayer {
    fn new(cfg: &VisionConfig, act: Activation, vb: VarBuilder) -> Result<Self> {
        let (h, eps) = (cfg.hidden_size, cfg.layer_norm_eps);
        Ok(Self {
            layer_norm1: layer_norm(h, eps, vb.pp("layer_norm1"))?,
            self_attn: VisionAttention::new(cfg, vb.pp("self_attn"))?,
            layer_norm2: layer_norm(h, eps, vb.pp("layer_norm2"))?,
            mlp: Mlp::new(h, cfg.intermediate_size, act, vb.pp("mlp"))?,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = (xs + self.self_attn.forward(&self.layer_norm1.forward(xs)?)?)?;
        &xs + self.mlp.forward(&self.layer_norm2.forward(&xs)?)?
    }
}

/// Patch embedding (a stride-`patch` convolution, computed as one matmul over
/// unfolded patches) plus learned position embeddings.
struct VisionEmbeddings {
    patch_weight: Tensor,
    patch_bias: Tensor,
    position: Tensor,
    patch: usize,
    grid: usize,
}

impl VisionEmbeddings {
    fn new(cfg: &VisionConfig, vb: VarBuilder) -> Result<Self> {
        let (h, p, c) = (cfg.hidden_size, cfg.patch_size, cfg.num_channels);
        let conv = vb.pp("patch_embedding");
        let patch_weight = conv.get((h, c, p, p), "weight")?.reshape((h, c * p * p))?;
        Ok(Self {
            patch_weight: patch_weight.t()?.contiguous()?,
            patch_bias: conv.get(h, "bias")?,
            position: vb
                .pp("position_embedding")
                .get((cfg.num_patches(), h), "weight")?,
            patch: p,
            grid: cfg.image_size / p,
        })
    }

    /// `pixels`: (channels, size, size) -> (patches, hidden).
    fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let (c, g, p) = (pixels.dim(0)?, self.grid, self.patch);
        // Like the stride-p convolution, ignore pixels past the last whole patch.
        let covered = g * p;
        let patches = pixels
            .narrow(1, 0, covered)?
            .narrow(2, 0, covered)?
            .contiguous()?
            .reshape((c, g, p, g, p))?
            .permute((1, 3, 0, 2, 4))?
            .reshape((g * g, c * p * p))?;
        patches
            .matmul(&self.patch_weight)?
            .broadcast_add(&self.patch_bias)?
            + &self.position
    }
}

/// SigLIP truncated as Imp runs it; returns the patch features.
pub struct VisionTower {
    embeddings: VisionEmbeddings,
    layers: Vec<EncoderLayer>,
    image_size: usize,
}

impl VisionTower {
    /// `vb` points at `...vision_model`; only the first `layers_used` layers load.
    pub fn new(cfg: &VisionConfig, layers_used: usize, vb: VarBuilder) -> Result<Self> {
        let act = Activation::from_config_name(&cfg.hidden_act)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let layers = (0..layers_used)
            .map(|i| EncoderLayer::new(cfg, act, vb.pp("encoder.layers").pp(i)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: VisionEmbeddings::new(cfg, vb.pp("embeddings"))?,
            layers,
            image_size: cfg.image_size,
        })
    }

    pub fn image_size(&self) -> usize {
        self.image_size
    }

    /// `pixels`: normalised (3, size, size) -> (patches, vision hidden).
    pub fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let mut xs = self.embeddings.forward(pixels)?;
        for layer in &self.layers {
            xs = layer.forward(&xs)?;
        }
        Ok(xs)
    }
}
