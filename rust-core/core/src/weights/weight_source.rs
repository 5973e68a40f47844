//! Where the model's weights come from: a float checkpoint (safetensors through
//! candle's `VarBuilder`) or GGUF files used in place. The architecture code asks
//! for weights by their checkpoint names through [`WeightSource`] and gets layers
//! that run on either, so one implementation serves float and quantized models.

use candle_core::{Device, Module, Result, Shape, Tensor};
use candle_nn::VarBuilder;
use std::sync::Arc;

use crate::weights::gguf::GgufFile;
use crate::weights::mapped::MappedTensor;

/// Maps a checkpoint name (`model.layers.0.mlp.fc1.weight`) to the name a GGUF
/// file stores it under, or `None` if that file layout has no such tensor.
pub type GgufNames = fn(&str) -> Option<String>;

#[derive(Clone)]
pub struct WeightSource {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Float(VarBuilder<'static>),
    Gguf {
        files: Arc<Vec<GgufFile>>,
        names: GgufNames,
        prefix: String,
        device: Device,
        /// See [`WeightSource::with_sixteen_bit_activations`].
        sixteen_bit: bool,
    },
}

impl WeightSource {
    pub fn float(vb: VarBuilder<'static>) -> Self {
        Self {
            inner: Inner::Float(vb),
        }
    }

    /// GGUF files whose tensors are found through `names`; later files are only
    /// searched for names the earlier ones lack (a text file and its mmproj).
    pub fn gguf(files: Arc<Vec<GgufFile>>, names: GgufNames) -> Self {
        Self {
            inner: Inner::Gguf {
                files,
                names,
                prefix: String::new(),
                device: Device::Cpu,
                sixteen_bit: false,
            },
        }
    }

    /// The same weights, their q8_0 matrices multiplying activations rounded
    /// to 16 bits (`MappedTensor::with_sixteen_bit_activations`): for the
    /// vision tower and the projector.
    pub fn with_sixteen_bit_activations(&self) -> Self {
        let mut source = self.clone();
        if let Inner::Gguf { sixteen_bit, .. } = &mut source.inner {
            *sixteen_bit = true;
        }
        source
    }

    pub fn pp(&self, segment: impl ToString) -> Self {
        let segment = segment.to_string();
        let inner = match &self.inner {
            Inner::Float(vb) => Inner::Float(vb.pp(segment)),
            Inner::Gguf {
                files,
                names,
                prefix,
                device,
                sixteen_bit,
            } => Inner::Gguf {
                sixteen_bit: *sixteen_bit,
                files: files.clone(),
                names: *names,
                prefix: if prefix.is_empty() {
                    segment
                } else {
                    format!("{prefix}.{segment}")
                },
                device: device.clone(),
            },
        };
        Self { inner }
    }

    pub fn device(&self) -> &Device {
        match &self.inner {
            Inner::Float(vb) => vb.device(),
            Inner::Gguf { device, .. } => device,
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        match &self.inner {
            Inner::Float(vb) => vb.contains_tensor(name),
            Inner::Gguf { .. } => self.mapped(name).is_ok(),
        }
    }

    /// A tensor in f32, checked to have `shape`.
    pub fn get(&self, shape: impl Into<Shape>, name: &str) -> Result<Tensor> {
        let shape = shape.into();
        match &self.inner {
            Inner::Float(vb) => vb.get(shape, name),
            Inner::Gguf { device, .. } => {
                let t = self.mapped(name)?;
                check_shape(name, t.shape(), &shape)?;
                t.dequantize(device)
            }
        }
    }

    /// `weight` (out, in) and, if present, `bias` (out) of a linear layer.
    pub fn linear(&self, in_dim: usize, out_dim: usize) -> Result<Linear> {
        let bias = if self.contains("bias") {
            Some(self.get(out_dim, "bias")?)
        } else {
            None
        };
        match &self.inner {
            Inner::Float(_) => {
                let weight = self.get((out_dim, in_dim), "weight")?;
                Ok(Linear::Dense(candle_nn::Linear::new(weight, bias)))
            }
            Inner::Gguf { .. } => {
                let weight = self.mapped("weight")?;
                check_shape("weight", weight.shape(), &(out_dim, in_dim).into())?;
                Ok(Linear::Mapped { weight, bias })
            }
        }
    }

    pub fn layer_norm(&self, size: usize, eps: f64) -> Result<candle_nn::LayerNorm> {
        Ok(candle_nn::LayerNorm::new(
            self.get(size, "weight")?,
            self.get(size, "bias")?,
            eps,
        ))
    }

    pub fn rms_norm(&self, size: usize, eps: f64) -> Result<candle_nn::RmsNorm> {
        Ok(candle_nn::RmsNorm::new(self.get(size, "weight")?, eps))
    }

    /// A (rows, width) lookup table; quantized tables stay quantized.
    pub fn embedding(&self, rows: usize, width: usize) -> Result<Embedding> {
        match &self.inner {
            Inner::Float(_) => Ok(Embedding::Dense(candle_nn::Embedding::new(
                self.get((rows, width), "weight")?,
                width,
            ))),
            Inner::Gguf { .. } => {
                let table = self.mapped("weight")?;
                check_shape("weight", table.shape(), &(rows, width).into())?;
                Ok(Embedding::Mapped(table))
            }
        }
    }

    fn mapped(&self, name: &str) -> Result<MappedTensor> {
        let Inner::Gguf {
            files,
            names,
            prefix,
            sixteen_bit,
            ..
        } = &self.inner
        else {
            unreachable!("only called on GGUF sources")
        };
        let full = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        let stored = names(&full);
        for file in files.iter() {
            if let Some(info) = stored.as_ref().and_then(|s| file.tensors.get(s)) {
                let tensor = MappedTensor::new(
                    file.mmap().clone(),
                    info.offset,
                    info.size,
                    info.dtype,
                    info.shape.clone(),
                )?;
                return Ok(if *sixteen_bit {
                    tensor.with_sixteen_bit_activations()
                } else {
                    tensor
                });
            }
        }
        match stored {
            Some(s) if s != full => candle_core::bail!("cannot find tensor {full} (stored as {s})"),
            _ => candle_core::bail!("cannot find tensor {full}"),
        }
    }
}

fn check_shape(name: &str, actual: &Shape, expected: &Shape) -> Result<()> {
    if actual != expected {
        candle_core::bail!("tensor {name} has shape {actual:?}, the config implies {expected:?}")
    }
    Ok(())
}

/// A linear layer over dense or mapped weights.
pub enum Linear {
    Dense(candle_nn::Linear),
    Mapped {
        weight: MappedTensor,
        bias: Option<Tensor>,
    },
    /// Several projections run on one input and joined on the last dimension
    /// (q, k and v stored apart, as llama.cpp's mmproj files do).
    Concat(Vec<Linear>),
}

impl Linear {
    /// Whether the weight is stored in quantized blocks (not f32/f16/bf16).
    pub fn is_block_quantized(&self) -> bool {
        match self {
            Linear::Dense(_) => false,
            Linear::Mapped { weight, .. } => !super::gguf::is_float(weight.dtype()),
            Linear::Concat(parts) => parts.iter().all(Linear::is_block_quantized),
        }
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Dense(l) => l.forward(xs),
            Linear::Mapped { weight, bias } => weight.matmul_t(xs, bias.as_ref()),
            Linear::Concat(parts) => {
                let outs = parts
                    .iter()
                    .map(|p| p.forward(xs))
                    .collect::<Result<Vec<_>>>()?;
                Tensor::cat(&outs, candle_core::D::Minus1)
            }
        }
    }
}

pub enum Embedding {
    Dense(candle_nn::Embedding),
    Mapped(MappedTensor),
}

impl Embedding {
    /// Token ids (seq,) -> (seq, width).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            Embedding::Dense(e) => e.forward(ids),
            Embedding::Mapped(t) => t.rows(&ids.to_vec1::<u32>()?, ids.device()),
        }
    }
}
