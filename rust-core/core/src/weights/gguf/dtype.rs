//! GGUF's tensor types: the id a file stores and the name a person types
//! (`q4_k`), from one table so the two cannot disagree.

use candle_core::quantized::GgmlDType;

/// (type, ggml id, name, whether `imp convert` offers it). q8_1 and q8_k are
/// the kernels' intermediate activation types, never stored by us; bf16 is
/// read but not written.
const TYPES: [(GgmlDType, u32, &str, bool); 15] = [
    (GgmlDType::F32, 0, "f32", true),
    (GgmlDType::F16, 1, "f16", true),
    (GgmlDType::Q4_0, 2, "q4_0", true),
    (GgmlDType::Q4_1, 3, "q4_1", true),
    (GgmlDType::Q5_0, 6, "q5_0", true),
    (GgmlDType::Q5_1, 7, "q5_1", true),
    (GgmlDType::Q8_0, 8, "q8_0", true),
    (GgmlDType::Q8_1, 9, "q8_1", false),
    (GgmlDType::Q2K, 10, "q2_k", true),
    (GgmlDType::Q3K, 11, "q3_k", true),
    (GgmlDType::Q4K, 12, "q4_k", true),
    (GgmlDType::Q5K, 13, "q5_k", true),
    (GgmlDType::Q6K, 14, "q6_k", true),
    (GgmlDType::Q8K, 15, "q8_k", false),
    (GgmlDType::BF16, 30, "bf16", false),
];

fn entry(dtype: GgmlDType) -> (GgmlDType, u32, &'static str, bool) {
    TYPES
        .into_iter()
        .find(|t| t.0 == dtype)
        .expect("every candle GGML type is in the table")
}

/// The ggml type id written in a tensor's entry.
pub fn dtype_id(dtype: GgmlDType) -> u32 {
    entry(dtype).1
}

/// The candle type for a ggml type id, if candle has kernels for it.
pub fn dtype_from_id(id: u32) -> Option<GgmlDType> {
    TYPES.into_iter().find(|t| t.1 == id).map(|t| t.0)
}

/// The command-line spelling of a type: q4_0, q4_k, q6_k, q8_0, f16, f32.
pub fn dtype_name(dtype: GgmlDType) -> &'static str {
    entry(dtype).2
}

/// Whether values of `dtype` are stored one by one as floats (f32, f16,
/// bf16), not in quantized blocks: the one test of it that the matmul paths,
/// the attention's KV cache type and the memory estimate all use.
pub fn is_float(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16)
}

/// The type a person asked for by name, among those a file may be written in.
pub fn parse_dtype(name: &str) -> Option<GgmlDType> {
    TYPES.into_iter().find(|t| t.3 && t.2 == name).map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_round_trip() {
        for (dtype, id, name, offered) in TYPES {
            assert_eq!(dtype_from_id(id), Some(dtype));
            assert_eq!(dtype_id(dtype), id);
            assert_eq!(dtype_name(dtype), name);
            assert_eq!(parse_dtype(name), offered.then_some(dtype));
        }
        assert_eq!(dtype_from_id(4), None, "ggml's removed q4_2");
        let floats: Vec<&str> = TYPES
            .iter()
            .filter(|t| is_float(t.0))
            .map(|t| t.2)
            .collect();
        assert_eq!(floats, ["f32", "f16", "bf16"]);
    }
}
