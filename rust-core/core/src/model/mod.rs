//! Imp: SigLIP vision tower -> `mlp2x_gelu` projector -> visual embeddings spliced
//! into the language model's input embeddings where the `<image>` token stands.
//!
//! Reference: MILVLG/imp `imp_llava/model/llava_arch.py`
//! (`prepare_inputs_labels_for_multimodal`).

pub mod activation;
pub mod attention;
pub mod decoder;
pub mod headroom;
pub mod kv_cache;
pub mod language_model;
pub mod layers;
pub mod llama;
pub mod phi2;
pub mod projector;
pub mod rotary;
pub mod vision;

use candle_core::{Device, Tensor};
use std::path::Path;

use crate::config::ImpConfig;
use crate::error::{candle_message, ImpError, Result};
use crate::model::language_model::{KvCache, LanguageModel};
use crate::model::projector::Projector;
use crate::model::vision::VisionTower;
use crate::source::model_info::{LoadOptions, ModelInfo};
use crate::source::ModelSource;

pub struct ImpModel {
    config: ImpConfig,
    vision: VisionTower,
    projector: Projector,
    text: LanguageModel,
    device: Device,
}

impl ImpModel {
    /// Loads a checkpoint directory or an Imp GGUF file.
    pub fn load(path: &Path) -> Result<Self> {
        let source = ModelSource::open(path)?;
        Self::load_with_progress(&source, &LoadOptions::default(), &mut |_| true)
    }

    /// Loads `source` with `options` applied, calling `progress(fraction)` as
    /// weights load; `false` from it cancels.
    pub fn load_with_progress(
        source: &ModelSource,
        options: &LoadOptions,
        progress: &mut dyn FnMut(f32) -> bool,
    ) -> Result<Self> {
        let mut config = source.config()?;
        let trained_vision = config.vision.clone();
        options.apply(&mut config)?;
        let ws = source.weights()?;
        let device = ws.device().clone();
        let info = ModelInfo::from_config(&config, String::new());
        let total = info.parameter_count() as f32;
        let mut step = |loaded: u64| -> Result<()> {
            if progress(loaded as f32 / total) {
                Ok(())
            } else {
                Err(ImpError::Cancelled)
            }
        };
        step(0)?;
        let invalid = |e: candle_core::Error| ImpError::InvalidModel(candle_message(&e));
        // The tower and projector multiply 196-729 rows a product: q8_0 ones
        // take 16-bit activations there (kernels::dense_q8).
        let picture_ws = ws.with_sixteen_bit_activations();
        let vision = VisionTower::new(
            &trained_vision,
            config.vision_layers_used()?,
            config.vision.image_size,
            picture_ws.pp("model.vision_tower.vision_tower.vision_model"),
        )
        .map_err(invalid)?;
        let projector = Projector::new(
            config.mm_hidden_size,
            config.text.hidden_size,
            picture_ws.pp("model.mm_projector"),
        )
        .map_err(invalid)?;
        let before_text = info.vision_parameters + info.projector_parameters;
        step(before_text)?;
        let per_layer = info.text_parameters / config.text.num_hidden_layers.max(1) as u64;
        let mut cancelled = false;
        let text = LanguageModel::new(&config.text, config.context_length, ws, &mut |i| {
            if step(before_text + per_layer * (i as u64 + 1)).is_err() {
                cancelled = true;
                candle_core::bail!("cancelled");
            }
            Ok(())
        });
        if cancelled {
            return Err(ImpError::Cancelled);
        }
        let text = text.map_err(invalid)?;
        step(info.parameter_count())?;
        Ok(Self {
            config,
            vision,
            projector,
            text,
            device,
        })
    }

    pub fn config(&self) -> &ImpConfig {
        &self.config
    }

    /// The language model alone (no headroom check): for measuring it.
    pub fn language_model(&self) -> &LanguageModel {
        &self.text
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Vision tower features (patches, vision hidden) for preprocessed pixels.
    pub fn vision_features(&self, pixels: &Tensor) -> Result<Tensor> {
        Ok(self.vision.forward(pixels)?)
    }

    /// Projected visual embeddings (patches, text hidden), ready to splice.
    pub fn project(&self, features: &Tensor) -> Result<Tensor> {
        Ok(self.projector.forward(features)?)
    }

    pub fn encode_image(&self, pixels: &Tensor) -> Result<Tensor> {
        let patches = self.config.vision.num_patches();
        headroom::ensure(
            headroom::vision_bytes(&self.config),
            patches,
            "encoding the picture",
        )?;
        self.project(&self.vision_features(pixels)?)
    }

    /// Embeds `ids`, replacing the single `<image>` token (if any) with `image`.
    pub fn embed_prompt(&self, ids: &[u32], image: Option<&Tensor>) -> Result<Tensor> {
        let image_id = self.config.image_token_index;
        let at = ids.iter().position(|&id| id == image_id);
        let embed = |part: &[u32]| -> Result<Tensor> {
            let ids = Tensor::new(part, &self.device)?;
            Ok(self.text.embed(&ids)?)
        };
        match (at, image) {
            (None, _) => embed(ids),
            (Some(_), None) => Err(ImpError::InvalidArgument(
                "the prompt has an <image> token but no image was given".into(),
            )),
            (Some(at), Some(image)) => {
                if ids[at + 1..].contains(&image_id) {
                    return Err(ImpError::InvalidArgument(
                        "one image per conversation: the prompt has several <image> tokens".into(),
                    ));
                }
                let mut parts = Vec::with_capacity(3);
                if at > 0 {
                    parts.push(embed(&ids[..at])?);
                }
                parts.push(image.clone());
                if at + 1 < ids.len() {
                    parts.push(embed(&ids[at + 1..])?);
                }
                Ok(Tensor::cat(&parts, 0)?)
            }
        }
    }

    /// Runs `embeds` after the cached positions; logits (vocab,) of the last one.
    /// Fails with `OutOfMemory`, the cache untouched, if the process cannot get
    /// the pass's working memory (see `headroom`).
    pub fn forward(&self, embeds: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let seq = embeds.dim(0)?;
        let bytes = headroom::forward_bytes(&self.config, cache.len(), seq);
        headroom::ensure(bytes, seq, "answering")?;
        Ok(self.text.forward_embeds(embeds, cache)?)
    }

    /// Positions `ids` take in the sequence, counting the image's patches.
    pub fn sequence_len(&self, ids: &[u32]) -> usize {
        let image_id = self.config.image_token_index;
        ids.iter()
            .map(|&id| {
                if id == image_id {
                    self.config.vision.num_patches()
                } else {
                    1
                }
            })
            .sum()
    }
}
