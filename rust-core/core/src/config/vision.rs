//! The vision tower's settings (`vision_tower_config`), with SigLIP so400m's
//! values for absent keys, and how a picture is fitted into its square.

use serde::Deserialize;

/// How the picture is fitted into the square the vision tower sees. The reference
/// pads only for `image_aspect_ratio: "pad"`; any other value (`square`, absent)
/// resizes straight to the square.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AspectMode {
    /// Resize straight to the square, distorting the aspect ratio (Phi-2 variants).
    Squash,
    /// Pad to a square with grey (127,127,127) first, centred.
    Pad,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VisionConfig {
    #[serde(default = "defaults::vision_hidden")]
    pub hidden_size: usize,
    #[serde(default = "defaults::vision_intermediate")]
    pub intermediate_size: usize,
    #[serde(default = "defaults::vision_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "defaults::vision_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "defaults::image_size")]
    pub image_size: usize,
    #[serde(default = "defaults::patch_size")]
    pub patch_size: usize,
    #[serde(default = "defaults::vision_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "defaults::num_channels")]
    pub num_channels: usize,
    #[serde(default = "defaults::vision_act")]
    pub hidden_act: String,
}

impl VisionConfig {
    pub fn num_patches(&self) -> usize {
        (self.image_size / self.patch_size).pow(2)
    }
}

mod defaults {
    pub fn vision_hidden() -> usize {
        1152
    }
    pub fn vision_intermediate() -> usize {
        4304
    }
    pub fn vision_layers() -> usize {
        27
    }
    pub fn vision_heads() -> usize {
        16
    }
    pub fn image_size() -> usize {
        384
    }
    pub fn patch_size() -> usize {
        14
    }
    pub fn vision_eps() -> f64 {
        1e-6
    }
    pub fn num_channels() -> usize {
        3
    }
    pub fn vision_act() -> String {
        "gelu_pytorch_tanh".into()
    }
}
