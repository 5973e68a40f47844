//! Causal self-attention over a KV cache, as Phi-2, Qwen2 and Phi-3 compute it:
//! one fused q;k;v projection, rotary on q and k, softmax in f32, an output
//! projection; optionally a sliding window (Phi-3).
//!
//! The scores, mask and softmax run in `kernels::attention`, reading the KV
//! cache in place.
//!
//! References: transformers `models/{phi,qwen2,phi3}/modeling_*.py` (eager
//! attention) and `masking_utils.py` (`sliding_window_overlay`: a query at
//! position p sees keys j with p - window < j <= p).

use candle_core::{CpuStorage, DType, Module, Result, Storage, Tensor};

use crate::kernels::attention::{causal, AttentionShape, KvBuf};
use crate::kernels::Isa;
use crate::model::kv_cache::KvCache;
use crate::model::rotary::Rotary;
use crate::weights::weight_source::Linear;

pub struct CausalSelfAttention {
    qkv: Linear,
    out: Linear,
    num_heads: usize,
    head_dim: usize,
    sliding_window: Option<usize>,
    /// Keys and values kept as f16: for block-quantized models, whose weights
    /// already round far more (half the cache memory); float models keep f32
    /// and the reference's numbers.
    kv_f16: bool,
}

impl CausalSelfAttention {
    /// `qkv` maps hidden -> 3 * hidden (rows q;k;v), `out` hidden -> hidden.
    pub fn new(
        qkv: Linear,
        out: Linear,
        num_heads: usize,
        head_dim: usize,
        sliding_window: Option<usize>,
    ) -> Self {
        Self {
            kv_f16: qkv.is_block_quantized(),
            qkv,
            out,
            num_heads,
            head_dim,
            sliding_window,
        }
    }

    /// `xs` (seq, hidden) after the `cache.len()` cached positions of `layer`.
    pub fn forward(
        &self,
        xs: &Tensor,
        rotary: &Rotary,
        cache: &mut KvCache,
        layer: usize,
    ) -> Result<Tensor> {
        let (seq, hidden) = xs.dims2()?;
        let offset = cache.len();
        let qkv = self
            .qkv
            .forward(xs)?
            .reshape((seq, 3, self.num_heads, self.head_dim))?
            .permute((1, 2, 0, 3))?;
        let q = rotary.apply(&qkv.get(0)?, offset)?.contiguous()?;
        let k = rotary.apply(&qkv.get(1)?, offset)?;
        let v = qkv.get(2)?;
        let stored = |t: Tensor| -> Result<Tensor> {
            if self.kv_f16 {
                t.to_dtype(DType::F16)
            } else {
                t.contiguous()
            }
        };
        let (k, v) = cache.append(layer, &stored(k)?, &stored(v)?, rotary.positions())?;
        let q = q.flatten_all()?.to_vec1::<f32>()?;
        let (k_storage, k_layout) = k.storage_and_layout();
        let (v_storage, _) = v.storage_and_layout();
        let shape = AttentionShape {
            heads: self.num_heads,
            head_dim: self.head_dim,
            capacity: k_layout.stride()[0] / self.head_dim,
            offset,
            seq,
            window: self.sliding_window,
            scale: (self.head_dim as f32).powf(-0.5),
        };
        let (k, v) = (kv_buf(&k_storage)?, kv_buf(&v_storage)?);
        let out = causal(Isa::best(), &q, k, v, &shape);
        let out = Tensor::from_vec(out, (seq, hidden), xs.device())?;
        self.out.forward(&out)
    }
}

/// The KV cache's buffer behind a tensor (the cache writes it from position 0).
fn kv_buf(storage: &Storage) -> Result<KvBuf<'_>> {
    match storage {
        Storage::Cpu(CpuStorage::F32(b)) => Ok(KvBuf::F32(b)),
        Storage::Cpu(CpuStorage::F16(b)) => Ok(KvBuf::F16(b)),
        _ => candle_core::bail!("the KV cache must be f32 or f16 on the CPU"),
    }
}
