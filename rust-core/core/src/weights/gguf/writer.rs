//! Writing a GGUF file one tensor at a time: the header (metadata and the table
//! of every tensor's type, shape and offset) is written first from a plan, then
//! each tensor's bytes as the caller produces them, so peak memory is one tensor.

use candle_core::quantized::GgmlDType;
use std::io::Write;

use super::dtype::dtype_id;
use super::value::{Array, Value};
use super::{DEFAULT_ALIGNMENT, MAGIC};

/// A tensor the header announces before its data is known.
#[derive(Debug, Clone)]
pub struct PlannedTensor {
    pub name: String,
    /// candle order: outermost dimension first.
    pub shape: Vec<usize>,
    pub dtype: GgmlDType,
}

impl PlannedTensor {
    pub fn size_in_bytes(&self) -> usize {
        let elems: usize = self.shape.iter().product();
        elems / self.dtype.block_size() * self.dtype.type_size()
    }
}

pub struct GgufWriter<W: Write> {
    out: W,
    plan: Vec<PlannedTensor>,
    next: usize,
    written: u64,
}

impl<W: Write> GgufWriter<W> {
    /// Writes the header. Tensors must then be written in `plan` order.
    pub fn new(
        mut out: W,
        metadata: &[(String, Value)],
        plan: Vec<PlannedTensor>,
    ) -> std::io::Result<Self> {
        let mut header = Vec::new();
        header.extend_from_slice(&MAGIC.to_le_bytes());
        header.extend_from_slice(&3u32.to_le_bytes());
        header.extend_from_slice(&(plan.len() as u64).to_le_bytes());
        header.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
        for (key, value) in metadata {
            put_string(&mut header, key);
            header.extend_from_slice(&value.type_id().to_le_bytes());
            put_value(&mut header, value);
        }
        let mut offset = 0u64;
        for t in &plan {
            if t.shape.is_empty() || t.shape.last().unwrap() % t.dtype.block_size() != 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{}: shape {:?} does not fit {:?} blocks",
                        t.name, t.shape, t.dtype
                    ),
                ));
            }
            put_string(&mut header, &t.name);
            header.extend_from_slice(&(t.shape.len() as u32).to_le_bytes());
            for &d in t.shape.iter().rev() {
                header.extend_from_slice(&(d as u64).to_le_bytes());
            }
            header.extend_from_slice(&dtype_id(t.dtype).to_le_bytes());
            header.extend_from_slice(&offset.to_le_bytes());
            offset = align(offset + t.size_in_bytes() as u64);
        }
        header.resize(align(header.len() as u64) as usize, 0);
        out.write_all(&header)?;
        Ok(Self {
            out,
            plan,
            next: 0,
            written: 0,
        })
    }

    /// Appends the next planned tensor's bytes.
    pub fn write_tensor(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let Some(expected) = self.plan.get(self.next) else {
            return Err(invalid(format!("{name}: more tensors than planned")));
        };
        if expected.name != name || expected.size_in_bytes() != bytes.len() {
            return Err(invalid(format!(
                "{name} ({} bytes) written where {} ({} bytes) was planned",
                bytes.len(),
                expected.name,
                expected.size_in_bytes()
            )));
        }
        self.out.write_all(bytes)?;
        let end = self.written + bytes.len() as u64;
        let padded = align(end);
        self.out.write_all(&vec![0u8; (padded - end) as usize])?;
        self.written = padded;
        self.next += 1;
        Ok(())
    }

    /// Checks every planned tensor was written and flushes.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.next != self.plan.len() {
            return Err(invalid(format!(
                "{} of {} planned tensors written",
                self.next,
                self.plan.len()
            )));
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

fn align(n: u64) -> u64 {
    n.div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_array(out: &mut Vec<u8>, items: &Array) {
    out.extend_from_slice(&items.item_type().to_le_bytes());
    out.extend_from_slice(&(items.len() as u64).to_le_bytes());
    match items {
        Array::U8(v) => out.extend_from_slice(v),
        Array::String(v) => v.iter().for_each(|s| put_string(out, s)),
        _ => (0..items.len()).for_each(|i| put_value(out, &items.get(i).expect("i < len"))),
    }
}

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::U8(v) => out.push(*v),
        Value::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Bool(v) => out.push(u8::from(*v)),
        Value::String(s) => put_string(out, s),
        Value::Array(items) => put_array(out, items),
        Value::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
    }
}
