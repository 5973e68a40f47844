//! Opening a GGUF file: memory-map it, parse and check the header, and hand out
//! each tensor's bytes in place.

use candle_core::quantized::GgmlDType;
use candle_core::Shape;
use memmap2::Mmap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::dtype::dtype_from_id;
use super::value::{Array, Strings, Value};
use super::{DEFAULT_ALIGNMENT, MAGIC};
use crate::error::{ImpError, Result};

/// ggml tensors have at most four dimensions.
const MAX_DIMS: usize = 4;
/// A vocabulary of 150k tokens with as many merges is the largest real array.
const MAX_ARRAY_ITEMS: u64 = 1 << 24;
/// Real files have a few dozen metadata keys. Each costs a map entry and
/// its key's allocation, many times its 13 bytes in a file, so the count is
/// what keeps a file of millions of tiny entries from costing gigabytes.
const MAX_METADATA_ENTRIES: u64 = 4096;
/// Imp's files have about 900 tensors; each costs a few hundred bytes.
const MAX_TENSORS: u64 = 1 << 16;

/// Where one tensor lives in the file and what it holds.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub dtype: GgmlDType,
    /// In candle's order: outermost first (GGUF writes the innermost first).
    pub shape: Shape,
    /// Absolute byte offset in the file.
    pub offset: usize,
    pub size: usize,
}

/// A parsed, memory-mapped GGUF file. Tensor data is never copied by opening.
pub struct GgufFile {
    path: PathBuf,
    mmap: Arc<Mmap>,
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: BTreeMap<String, TensorInfo>,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| ImpError::io(path, e))?;
        // SAFETY: mapped read-only; like every mmap-based loader we rely on the file
        // not being truncated or rewritten while the model is alive.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| ImpError::io(path, e))?;
        let invalid = |msg: String| ImpError::InvalidModel(format!("{}: {msg}", path.display()));
        let (version, metadata, tensors) = parse(&mmap).map_err(invalid)?;
        Ok(Self {
            path: path.to_path_buf(),
            mmap: Arc::new(mmap),
            version,
            metadata,
            tensors,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn mmap(&self) -> &Arc<Mmap> {
        &self.mmap
    }

    /// The tensor's bytes, in place in the mapping.
    pub fn bytes(&self, info: &TensorInfo) -> &[u8] {
        &self.mmap[info.offset..info.offset + info.size]
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn string(&self, key: &str) -> Result<&str> {
        self.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| self.missing(key, "a string"))
    }

    pub fn u64(&self, key: &str) -> Result<u64> {
        self.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.missing(key, "an integer"))
    }

    fn missing(&self, key: &str, what: &str) -> ImpError {
        ImpError::InvalidModel(format!(
            "{}: metadata {key} is missing or not {what}",
            self.path.display()
        ))
    }
}

type Parsed = (u32, BTreeMap<String, Value>, BTreeMap<String, TensorInfo>);

fn parse(buf: &[u8]) -> std::result::Result<Parsed, String> {
    let mut cur = Cursor { buf, pos: 0 };
    if buf.len() < 4 || cur.u32()? != MAGIC {
        return Err("not a GGUF file (no GGUF magic at the start)".into());
    }
    let version = cur.u32()?;
    if !(2..=3).contains(&version) {
        return Err(format!(
            "GGUF version {version} is not supported (2 and 3 are)"
        ));
    }
    let n_tensors = cur.u64()?;
    let n_kv = cur.u64()?;
    // Every entry takes at least this many bytes, so a count the file cannot hold
    // is refused before anything is allocated for it.
    cur.fits(n_kv, 8 + 4 + 1, "metadata entries")?;
    if n_kv > MAX_METADATA_ENTRIES {
        return Err(format!(
            "{n_kv} metadata entries (at most {MAX_METADATA_ENTRIES} are read)"
        ));
    }
    let mut metadata = BTreeMap::new();
    for _ in 0..n_kv {
        let key = cur.string()?;
        let type_id = cur.u32()?;
        let value = cur.value(type_id)?;
        if metadata.contains_key(&key) {
            return Err(format!("metadata key {key} appears twice"));
        }
        metadata.insert(key, value);
    }
    let alignment = match metadata.get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(v) => v
            .as_u64()
            .filter(|a| a.is_power_of_two() && *a <= 1 << 16)
            .ok_or("general.alignment is not a power of two up to 65536")?,
    } as usize;

    cur.fits(n_tensors, 8 + 4 + 4 + 8, "tensor entries")?;
    if n_tensors > MAX_TENSORS {
        return Err(format!(
            "{n_tensors} tensors (at most {MAX_TENSORS} are read)"
        ));
    }
    let mut entries = Vec::new();
    for _ in 0..n_tensors {
        let name = cur.string()?;
        let n_dims = cur.u32()? as usize;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(format!("tensor {name}: {n_dims} dimensions"));
        }
        let mut dims = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            dims.push(cur.u64()?);
        }
        let type_id = cur.u32()?;
        let offset = cur.u64()?;
        entries.push((name, dims, type_id, offset));
    }
    let data_start = cur.pos.div_ceil(alignment) * alignment;

    let mut tensors = BTreeMap::new();
    for (name, dims, type_id, offset) in entries {
        let info = tensor_info(
            &name,
            &dims,
            type_id,
            offset,
            data_start,
            alignment,
            buf.len(),
        )?;
        if tensors.insert(name.clone(), info).is_some() {
            return Err(format!("tensor {name} appears twice"));
        }
    }
    Ok((version, metadata, tensors))
}

fn tensor_info(
    name: &str,
    dims: &[u64],
    type_id: u32,
    offset: u64,
    data_start: usize,
    alignment: usize,
    file_len: usize,
) -> std::result::Result<TensorInfo, String> {
    let dtype = dtype_from_id(type_id)
        .ok_or_else(|| format!("tensor {name} has ggml type {type_id}, which is not supported"))?;
    let elems = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n > 0 && n <= file_len as u64 * 8)
        .ok_or_else(|| format!("tensor {name} has impossible dimensions {dims:?}"))?;
    let block = dtype.block_size() as u64;
    if !dims[0].is_multiple_of(block) {
        return Err(format!(
            "tensor {name}: rows of {} values are not whole {dtype:?} blocks of {block}",
            dims[0]
        ));
    }
    let size = elems / block * dtype.type_size() as u64;
    let start = (data_start as u64).checked_add(offset);
    let end = start.and_then(|s| s.checked_add(size));
    match (start, end) {
        (Some(start), Some(end)) if end <= file_len as u64 => {
            if !(start as usize).is_multiple_of(alignment) {
                return Err(format!("tensor {name} is not aligned to {alignment} bytes"));
            }
            let shape: Vec<usize> = dims.iter().rev().map(|&d| d as usize).collect();
            Ok(TensorInfo {
                dtype,
                shape: Shape::from(shape),
                offset: start as usize,
                size: size as usize,
            })
        }
        _ => Err(format!(
            "tensor {name} ({size} bytes at offset {offset}) lies past the end of the file \
             ({file_len} bytes): the file is truncated or corrupt"
        )),
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(format!(
                "truncated or corrupt: {n} bytes wanted at byte {} of {}",
                self.pos,
                self.buf.len()
            ));
        };
        let buf: &'a [u8] = self.buf;
        self.pos = end;
        Ok(&buf[end - n..end])
    }

    fn fits(&self, count: u64, min_size: u64, what: &str) -> std::result::Result<(), String> {
        let left = (self.buf.len() - self.pos) as u64;
        if count.checked_mul(min_size).is_none_or(|n| n > left) {
            return Err(format!(
                "header claims {count} {what}, more than the file holds: \
                 the file is truncated or corrupt"
            ));
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        Ok(self.str()?.to_string())
    }

    /// A string in place in the file.
    fn str(&mut self) -> std::result::Result<&'a str, String> {
        let len = self.u64()?;
        let len = usize::try_from(len).map_err(|_| format!("string of {len} bytes"))?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| "a string is not UTF-8".to_string())
    }

    /// `n` items read by `read`, into a vector of their own type.
    fn items<T>(
        &mut self,
        n: usize,
        mut read: impl FnMut(&mut Self) -> std::result::Result<T, String>,
    ) -> std::result::Result<Vec<T>, String> {
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(read(self)?);
        }
        Ok(items)
    }

    fn bool(&mut self) -> std::result::Result<bool, String> {
        match self.array::<1>()?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("boolean value {b}")),
        }
    }

    /// An array's items, kept as their own type (see `value.rs`). Arrays of
    /// arrays are refused: no model's metadata has them, and each inner array
    /// would cost several times its bytes in the file.
    fn array_items(&mut self) -> std::result::Result<Array, String> {
        let item_type = self.u32()?;
        if item_type == 9 {
            return Err("a metadata array of arrays (not supported)".into());
        }
        let count = self.u64()?;
        if count > MAX_ARRAY_ITEMS {
            return Err(format!("a metadata array of {count} items"));
        }
        self.fits(count, min_value_size(item_type), "array items")?;
        let n = count as usize;
        Ok(match item_type {
            0 => Array::U8(self.take(n)?.to_vec()),
            1 => Array::I8(self.items(n, |c| Ok(i8::from_le_bytes(c.array()?)))?),
            2 => Array::U16(self.items(n, |c| Ok(u16::from_le_bytes(c.array()?)))?),
            3 => Array::I16(self.items(n, |c| Ok(i16::from_le_bytes(c.array()?)))?),
            4 => Array::U32(self.items(n, |c| c.u32())?),
            5 => Array::I32(self.items(n, |c| Ok(i32::from_le_bytes(c.array()?)))?),
            6 => Array::F32(self.items(n, |c| Ok(f32::from_le_bytes(c.array()?)))?),
            7 => Array::Bool(self.items(n, |c| c.bool())?),
            8 => {
                // Sized first, so the buffers hold what the file does and no
                // doubling on the way.
                let start = self.pos;
                let mut text = 0;
                for _ in 0..n {
                    text += self.str()?.len();
                }
                self.pos = start;
                let mut strings = Strings::with_capacity(n, text);
                for _ in 0..n {
                    strings.push(self.str()?);
                }
                Array::String(strings)
            }
            10 => Array::U64(self.items(n, |c| c.u64())?),
            11 => Array::I64(self.items(n, |c| Ok(i64::from_le_bytes(c.array()?)))?),
            12 => Array::F64(self.items(n, |c| Ok(f64::from_le_bytes(c.array()?)))?),
            t => return Err(format!("unknown metadata value type {t}")),
        })
    }

    fn value(&mut self, type_id: u32) -> std::result::Result<Value, String> {
        Ok(match type_id {
            0 => Value::U8(self.array::<1>()?[0]),
            1 => Value::I8(i8::from_le_bytes(self.array()?)),
            2 => Value::U16(u16::from_le_bytes(self.array()?)),
            3 => Value::I16(i16::from_le_bytes(self.array()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.array()?)),
            6 => Value::F32(f32::from_le_bytes(self.array()?)),
            7 => Value::Bool(self.bool()?),
            8 => Value::String(self.string()?),
            9 => Value::Array(self.array_items()?),
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.array()?)),
            12 => Value::F64(f64::from_le_bytes(self.array()?)),
            t => return Err(format!("unknown metadata value type {t}")),
        })
    }
}

fn min_value_size(type_id: u32) -> u64 {
    match type_id {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8,
        9 => 12,
        _ => 1,
    }
}
