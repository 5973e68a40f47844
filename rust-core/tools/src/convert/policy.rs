//! Which tensors get how many bits, and the quantization itself.

use candle_core::quantized::GgmlDType;
use candle_core::Tensor;
use rayon::prelude::*;

use imp_core::error::Result;
use imp_core::weights::gguf::dtype_name;

/// What kind of tensor a name is, for choosing its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorRole {
    TextMatrix,
    TokenEmbedding,
    LmHead,
    VisionMatrix,
    /// Norms, biases, patch and position embeddings: small, kept f32.
    Small,
}

/// The per-role choice of types.
#[derive(Debug, Clone, Copy)]
pub struct QuantPolicy {
    pub text: GgmlDType,
    pub vision: GgmlDType,
}

impl QuantPolicy {
    pub fn dtype_for(&self, role: TensorRole, shape: &[usize]) -> GgmlDType {
        let wanted = match role {
            TensorRole::Small => return GgmlDType::F32,
            TensorRole::TextMatrix | TensorRole::TokenEmbedding => self.text,
            TensorRole::LmHead => self.lm_head(),
            TensorRole::VisionMatrix => self.vision,
        };
        let row = shape.last().copied().unwrap_or(0);
        [wanted, GgmlDType::Q8_0, GgmlDType::F16]
            .into_iter()
            .find(|d| row % d.block_size() == 0)
            .unwrap_or(GgmlDType::F32)
    }

    /// The LM head's type before any fallback: q6_k under a 4/5-bit request.
    fn lm_head(&self) -> GgmlDType {
        match self.text {
            GgmlDType::Q4_0 | GgmlDType::Q4_1 | GgmlDType::Q4K | GgmlDType::Q5K => GgmlDType::Q6K,
            other => other,
        }
    }

    /// The policy in words, stored in the file.
    pub fn describe(&self) -> String {
        format!(
            "text attention+mlp {t}; token embedding {t}; lm_head {h}; vision tower and \
             projector {v}; norms, biases, patch and position embeddings f32; a matrix \
             whose rows are not whole blocks falls back to q8_0, else f16",
            t = dtype_name(self.text),
            h = dtype_name(self.lm_head()),
            v = dtype_name(self.vision),
        )
    }
}

/// Quantizes a (rows, ..) tensor in parallel row ranges: rows are independent
/// in every ggml type, so the concatenated blocks are the whole tensor's. Each
/// range is copied out on its own, so the peak is the tensor plus a few ranges
/// (the 51200-row embedding of Phi-2 is 0.5 GB in f32).
pub(super) fn quantize(tensor: &Tensor, dtype: GgmlDType) -> Result<Vec<u8>> {
    let rows = tensor.dim(0)?;
    let chunk_rows = rows.div_ceil(rayon::current_num_threads() * 8).max(1);
    let starts: Vec<usize> = (0..rows).step_by(chunk_rows).collect();
    let parts = starts
        .par_iter()
        .map(|&start| {
            let part = tensor.narrow(0, start, chunk_rows.min(rows - start))?;
            let values: Vec<f32> = part.flatten_all()?.to_vec1()?;
            Ok(quantize_values(&values, dtype))
        })
        .collect::<candle_core::Result<Vec<Vec<u8>>>>()?;
    Ok(parts.concat())
}

/// Whole rows of `values` as the bytes of ggml `dtype` blocks.
pub(crate) fn quantize_values(values: &[f32], dtype: GgmlDType) -> Vec<u8> {
    let mut blocks = dtype.cpu_zeros(values.len());
    blocks.from_float(values);
    // SAFETY: `as_ptr` points at the `storage_size_in_bytes` bytes of the blocks
    // just written, alive until the copy below is made.
    unsafe { std::slice::from_raw_parts(blocks.as_ptr(), blocks.storage_size_in_bytes()) }.to_vec()
}
