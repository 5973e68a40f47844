//! Weights used in place from a memory-mapped GGUF file.
//!
//! candle's `QTensor` copies a tensor's bytes into its own `Vec` on load and, on
//! x86 and ARM, repacks them into a second interleaved copy on the first matmul
//! (anonymous memory twice the file, and a first-call pause of seconds). Here a
//! weight is a view into the mapping: its pages are clean and file-backed, so the
//! OS can drop and re-read them under pressure instead of killing the app. The
//! matmul runs our int8 kernels (`crate::kernels`) directly on the mapped
//! blocks, on the engine's thread pool.

use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K,
    BlockQ8K, BlockQ8_0, BlockQ8_1, GgmlType,
};
use candle_core::quantized::GgmlDType;
use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Result, Shape, Storage, Tensor};
use half::{bf16, f16};
use memmap2::Mmap;
use rayon::prelude::*;
use std::sync::Arc;

use crate::kernels::{self, Isa};

/// One tensor of a GGUF file, left where it is in the mapping.
#[derive(Clone)]
pub struct MappedTensor {
    mmap: Arc<Mmap>,
    offset: usize,
    size: usize,
    dtype: GgmlDType,
    shape: Shape,
    /// q8_0 products round the activations to 16 bits, not 8 (see
    /// [`MappedTensor::with_sixteen_bit_activations`]).
    sixteen_bit_activations: bool,
}

impl std::fmt::Debug for MappedTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedTensor[{:?}; {:?}]", self.shape, self.dtype)
    }
}

/// Calls `$f::<BlockType>($args)` for the block type of `$dtype`.
macro_rules! with_block_type {
    ($dtype:expr, $f:ident ( $($arg:expr),* )) => {
        match $dtype {
            GgmlDType::F32 => $f::<f32>($($arg),*),
            GgmlDType::F16 => $f::<f16>($($arg),*),
            GgmlDType::BF16 => $f::<bf16>($($arg),*),
            GgmlDType::Q4_0 => $f::<BlockQ4_0>($($arg),*),
            GgmlDType::Q4_1 => $f::<BlockQ4_1>($($arg),*),
            GgmlDType::Q5_0 => $f::<BlockQ5_0>($($arg),*),
            GgmlDType::Q5_1 => $f::<BlockQ5_1>($($arg),*),
            GgmlDType::Q8_0 => $f::<BlockQ8_0>($($arg),*),
            GgmlDType::Q8_1 => $f::<BlockQ8_1>($($arg),*),
            GgmlDType::Q2K => $f::<BlockQ2K>($($arg),*),
            GgmlDType::Q3K => $f::<BlockQ3K>($($arg),*),
            GgmlDType::Q4K => $f::<BlockQ4K>($($arg),*),
            GgmlDType::Q5K => $f::<BlockQ5K>($($arg),*),
            GgmlDType::Q6K => $f::<BlockQ6K>($($arg),*),
            GgmlDType::Q8K => $f::<BlockQ8K>($($arg),*),
        }
    };
}

impl MappedTensor {
    /// `offset..offset + size` must lie in the mapping and hold `shape` in `dtype`
    /// (the GGUF reader has checked both).
    pub fn new(
        mmap: Arc<Mmap>,
        offset: usize,
        size: usize,
        dtype: GgmlDType,
        shape: Shape,
    ) -> Result<Self> {
        let elems = shape.elem_count();
        let expected = elems / dtype.block_size() * dtype.type_size();
        if offset.checked_add(size).is_none_or(|end| end > mmap.len())
            || size != expected
            || !elems.is_multiple_of(dtype.block_size())
        {
            candle_core::bail!("tensor {shape:?} {dtype:?} does not match its {size} bytes")
        }
        // Blocks are read in place, so their start must suit the block type's alignment;
        // GGUF aligns tensor data to 32 bytes in a page-aligned mapping.
        if !(mmap.as_ptr() as usize + offset).is_multiple_of(4) {
            candle_core::bail!("tensor {shape:?} is not 4-byte aligned in the file")
        }
        Ok(Self {
            mmap,
            offset,
            size,
            dtype,
            shape,
            sixteen_bit_activations: false,
        })
    }

    /// This weight, its q8_0 products taking activations rounded to 16 bits
    /// per block (`kernels::dense_q8`, x86 with AVX2) instead of ggml's 8: for
    /// the vision tower and projector, which run hundreds of rows a product,
    /// where integer multiply-adds outrun the float ones and the result is
    /// the q8_0 weights' own. Elsewhere, and for other types, it changes
    /// nothing.
    pub fn with_sixteen_bit_activations(mut self) -> Self {
        self.sixteen_bit_activations = true;
        self
    }

    pub fn dtype(&self) -> GgmlDType {
        self.dtype
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    fn bytes(&self) -> &[u8] {
        &self.mmap[self.offset..self.offset + self.size]
    }

    fn blocks<T: GgmlType>(&self) -> &[T] {
        let bytes = self.bytes();
        // SAFETY: `new` checked the length matches `dtype` (whose block type is T, as
        // every caller dispatches through `with_block_type!`) and the alignment; ggml
        // block types are plain old data valid for any bit pattern.
        unsafe {
            std::slice::from_raw_parts(
                bytes.as_ptr() as *const T,
                bytes.len() / std::mem::size_of::<T>(),
            )
        }
    }

    /// The whole tensor as f32 (for norms, biases, small embeddings).
    pub fn dequantize(&self, device: &Device) -> Result<Tensor> {
        fn run<T: GgmlType>(t: &MappedTensor) -> Vec<f32> {
            let mut out = vec![0f32; t.shape.elem_count()];
            T::to_float(t.blocks::<T>(), &mut out);
            out
        }
        let data = with_block_type!(self.dtype, run(self));
        Tensor::from_vec(data, self.shape.clone(), device)
    }

    /// Rows `ids` of a (rows, width) tensor as f32: a quantized embedding lookup
    /// that never expands the whole table.
    pub fn rows(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        fn run<T: GgmlType>(t: &MappedTensor, ids: &[u32]) -> Result<Vec<f32>> {
            let (rows, width) = t.shape.dims2()?;
            let per_row = width / T::BLCK_SIZE;
            let blocks = t.blocks::<T>();
            let mut out = vec![0f32; ids.len() * width];
            for (dst, &id) in out.chunks_exact_mut(width).zip(ids) {
                let id = id as usize;
                if id >= rows {
                    candle_core::bail!("token id {id} is outside the {rows}-row embedding")
                }
                T::to_float(&blocks[id * per_row..(id + 1) * per_row], dst);
            }
            Ok(out)
        }
        let width = self.shape.dims2()?.1;
        let data = with_block_type!(self.dtype, run(self, ids))?;
        Tensor::from_vec(data, (ids.len(), width), device)
    }

    /// Rows `start..start + len` of a 2-D tensor as f32, dequantized in parallel.
    fn dequantize_rows(&self, start: usize, len: usize, device: &Device) -> Result<Tensor> {
        fn run<T: GgmlType>(t: &MappedTensor, start: usize, len: usize, width: usize) -> Vec<f32> {
            let per_row = width / T::BLCK_SIZE;
            let blocks = &t.blocks::<T>()[start * per_row..(start + len) * per_row];
            let mut out = vec![0f32; len * width];
            out.par_chunks_mut(width)
                .zip(blocks.par_chunks(per_row))
                .for_each(|(dst, src)| T::to_float(src, dst));
            out
        }
        let width = self.shape.dims2()?.1;
        let data = with_block_type!(self.dtype, run(self, start, len, width));
        Tensor::from_vec(data, (len, width), device)
    }

    /// `xs @ self^T` for a weight of shape (out, in), like `nn::Linear`.
    ///
    /// q4_k, q6_k and q8_0 weights run our int8 kernels (`crate::kernels`) on
    /// the mapped blocks for any number of rows: one decode step reads each
    /// weight byte once, a prompt shares each unpacked block among its rows.
    /// Float weights (f16 vision towers) are widened a panel of rows at a
    /// time for the dense kernels (`kernels::dense`). Other block types run a
    /// dequantize-per-row fallback for a few rows and, from `DENSE_FROM_ROWS`
    /// rows, the weight is dequantized a tile of rows at a time into candle's
    /// matmul.
    ///
    /// `bias` (n values) is added to every row; on the kernels' paths in the
    /// output buffer itself, the same single f32 addition as a
    /// `broadcast_add` without its second (m, n) buffer.
    pub fn matmul_t(&self, xs: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let (n, k) = self.shape.dims2()?;
        let rows = xs.elem_count() / k.max(1);
        let float = super::gguf::is_float(self.dtype);
        if float || rows < DENSE_FROM_ROWS || crate::kernels::supports(self.dtype) {
            return xs
                .to_dtype(DType::F32)?
                .contiguous()?
                .apply_op1_no_bwd(&BlockMatmul { weight: self, bias });
        }
        let mut out_dims = xs.dims().to_vec();
        let lhs = xs.to_dtype(DType::F32)?.reshape((rows, k))?;
        let tile = (TILE_BYTES / (k * 4)).clamp(64, n.max(64));
        let mut parts = Vec::with_capacity(n.div_ceil(tile));
        for start in (0..n).step_by(tile) {
            let w = self.dequantize_rows(start, tile.min(n - start), xs.device())?;
            parts.push(lhs.matmul(&w.t()?)?);
        }
        let ys = Tensor::cat(&parts, 1)?;
        *out_dims.last_mut().expect("rank >= 1") = n;
        let ys = ys.reshape(out_dims)?;
        match bias {
            Some(b) => ys.broadcast_add(b),
            None => Ok(ys),
        }
    }

    /// The q8_0 product with 16-bit activations where this weight asks for it
    /// and the CPU has the kernel; false if not run.
    fn sixteen_bit_q8_0(&self, n: usize, k: usize, lhs: &[f32], dst: &mut [f32]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if self.sixteen_bit_activations && self.dtype == GgmlDType::Q8_0 {
            return kernels::dense_q8::matmul(Isa::best(), self.bytes(), n, k, lhs, dst);
        }
        let _ = (n, k, lhs, dst);
        false
    }
}

/// Activation rows from which dequantize-and-gemm beats the per-row fallback
/// (block types without an int8 kernel).
const DENSE_FROM_ROWS: usize = 192;
/// f32 scratch for one dequantized weight tile.
const TILE_BYTES: usize = 16 << 20;

/// The custom op running a block-quantized matmul on the mapped weight.
struct BlockMatmul<'a> {
    weight: &'a MappedTensor,
    /// n f32 values, read in place (dequantized at load).
    bias: Option<&'a Tensor>,
}

impl CustomOp1 for BlockMatmul<'_> {
    fn name(&self) -> &'static str {
        "mapped-block-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        fn run<T: GgmlType + Sync + 'static>(
            w: &MappedTensor,
            (n, k): (usize, usize),
            lhs: &[f32],
            dst: &mut [f32],
        ) -> Result<()> {
            if super::gguf::is_float(T::DTYPE) {
                kernels::dense::matmul::<T>(Isa::best(), w.blocks::<T>(), n, k, lhs, dst)
            } else {
                kernels::fallback::matmul::<T>(w.blocks::<T>(), n, k, lhs, dst)
            }
            Ok(())
        }
        let w = self.weight;
        let (n, k) = w.shape.dims2()?;
        let dims = layout.shape().dims();
        if dims.last() != Some(&k) || !layout.is_contiguous() {
            candle_core::bail!("matmul of {:?} with a ({n}, {k}) weight", layout.shape())
        }
        let lhs =
            &storage.as_slice::<f32>()?[layout.start_offset()..][..layout.shape().elem_count()];
        let m = lhs.len() / k;
        let mut dst = vec![0f32; m * n];
        if !(w.sixteen_bit_q8_0(n, k, lhs, &mut dst)
            || kernels::matmul_t(Isa::best(), w.dtype, w.bytes(), (n, k), lhs, &mut dst))
        {
            with_block_type!(w.dtype, run(w, (n, k), lhs, &mut dst))?;
        }
        if let Some(bias) = self.bias {
            let (storage, layout) = bias.storage_and_layout();
            let values = match &*storage {
                Storage::Cpu(CpuStorage::F32(b)) if layout.is_contiguous() => {
                    &b[layout.start_offset()..]
                }
                _ => candle_core::bail!("a bias must be contiguous f32 on the CPU"),
            };
            if layout.shape().elem_count() != n {
                candle_core::bail!("a bias of {:?} for {n} outputs", layout.shape())
            }
            for row in dst.chunks_exact_mut(n) {
                for (y, b) in row.iter_mut().zip(values) {
                    *y += b;
                }
            }
        }
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().expect("rank checked above") = n;
        Ok((CpuStorage::F32(dst), Shape::from(out_dims)))
    }
}
