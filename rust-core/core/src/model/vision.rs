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
use candle_nn::LayerNorm;

use crate::config::VisionConfig;
use crate::model::activation::Activation;
use crate::model::layers::{fused_qkv, Mlp};
use crate::weights::weight_source::{Linear, WeightSource};

/// Multi-head attention over (seq, 3 * hidden) fused projections, no mask.
struct VisionAttention {
    qkv: Linear,
    out_proj: Linear,
    num_heads: usize,
    head_dim: usize,
}

impl VisionAttention {
    fn new(cfg: &VisionConfig, ws: WeightSource) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(Self {
            qkv: fused_qkv(h, h, &ws)?,
            out_proj: ws.pp("out_proj").linear(h, h)?,
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
    fn new(cfg: &VisionConfig, act: Activation, ws: WeightSource) -> Result<Self> {
        let (h, eps) = (cfg.hidden_size, cfg.layer_norm_eps);
        Ok(Self {
            layer_norm1: ws.pp("layer_norm1").layer_norm(h, eps)?,
            self_attn: VisionAttention::new(cfg, ws.pp("self_attn"))?,
            layer_norm2: ws.pp("layer_norm2").layer_norm(h, eps)?,
            mlp: Mlp::new(h, cfg.intermediate_size, act, ws.pp("mlp"))?,
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
    /// `cfg` is the tower as trained; `image_size` the input it will run on.
    fn new(cfg: &VisionConfig, image_size: usize, ws: WeightSource) -> Result<Self> {
        let (h, p, c) = (cfg.hidden_size, cfg.patch_size, cfg.num_channels);
        let conv = ws.pp("patch_embedding");
        let patch_weight = conv.get((h, c, p, p), "weight")?.reshape((h, c * p * p))?;
        let trained = ws
            .pp("position_embedding")
            .get((cfg.num_patches(), h), "weight")?;
        let (trained_grid, grid) = (cfg.image_size / p, image_size / p);
        let position = if grid == trained_grid {
            trained
        } else {
            interpolate_positions(&trained, trained_grid, grid)?
        };
        Ok(Self {
            patch_weight: patch_weight.t()?.contiguous()?,
            patch_bias: conv.get(h, "bias")?,
            position,
            patch: p,
            grid,
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

/// Resamples the learned (grid_in x grid_in) position embeddings to another grid,
/// as transformers' `interpolate_pos_encoding` does with torch's bicubic
/// (A = -0.75, align_corners = False, edges clamped), in f32.
fn interpolate_positions(positions: &Tensor, grid_in: usize, grid_out: usize) -> Result<Tensor> {
    let hidden = positions.dim(1)?;
    let values: Vec<f32> = positions.flatten_all()?.to_vec1()?;
    let taps = cubic_taps(grid_in, grid_out);
    let mut out = vec![0f32; grid_out * grid_out * hidden];
    for (oy, (ys, wy)) in taps.iter().enumerate() {
        for (ox, (xs, wx)) in taps.iter().enumerate() {
            let dst = &mut out[(oy * grid_out + ox) * hidden..][..hidden];
            for (c, d) in dst.iter_mut().enumerate() {
                let mut acc = 0f32;
                for (&y, &w_y) in ys.iter().zip(wy) {
                    let row: f32 = xs
                        .iter()
                        .zip(wx)
                        .map(|(&x, &w_x)| values[(y * grid_in + x) * hidden + c] * w_x)
                        .fold(0.0, |a, v| a + v);
                    acc += row * w_y;
                }
                *d = acc;
            }
        }
    }
    Tensor::from_vec(out, (grid_out * grid_out, hidden), positions.device())
}

/// For each output index: the four source indices (clamped) and their weights.
fn cubic_taps(size_in: usize, size_out: usize) -> Vec<([usize; 4], [f32; 4])> {
    const A: f32 = -0.75;
    let near = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f32| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let scale = size_in as f32 / size_out as f32;
    (0..size_out)
        .map(|i| {
            let real = scale * (i as f32 + 0.5) - 0.5;
            let base = real.floor();
            let t = real - base;
            let index = |k: i64| (base as i64 + k).clamp(0, size_in as i64 - 1) as usize;
            (
                [index(-1), index(0), index(1), index(2)],
                [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)],
            )
        })
        .collect()
}

/// SigLIP truncated as Imp runs it; returns the patch features.
pub struct VisionTower {
    embeddings: VisionEmbeddings,
    layers: Vec<EncoderLayer>,
    image_size: usize,
}

impl VisionTower {
    /// `ws` points at `...vision_model`; only the first `layers_used` layers load.
    /// `image_size` may differ from the trained `cfg.image_size`: the position
    /// embeddings are then interpolated to the new grid.
    pub fn new(
        cfg: &VisionConfig,
        layers_used: usize,
        image_size: usize,
        ws: WeightSource,
    ) -> Result<Self> {
        let act = Activation::from_config_name(&cfg.hidden_act)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let layers = (0..layers_used)
            .map(|i| EncoderLayer::new(cfg, act, ws.pp("encoder.layers").pp(i)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: VisionEmbeddings::new(cfg, image_size, ws.pp("embeddings"))?,
            layers,
            image_size,
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
