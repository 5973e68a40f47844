//! The bundled catalogue agrees with the engine: every entry's picture size is
//! its checkpoint's, and its memory figure is what `ModelInfo` estimates for
//! the q4_k file `imp convert` writes (tensor bytes from the conversion plan,
//! plus up to 16 MB of metadata: the tokenizer and alignment).

use imp_core::config::ImpConfig;
use imp_core::source::model_info::{estimated_memory, kv_value_bytes};
use imp_store::catalog::Catalog;
use imp_tools::convert::{planned_tensor_bytes, QuantPolicy};
use imp_tools::synthetic::preset_config;

/// The synthetic preset of the same shape as a catalogue variant.
fn preset(variant: &str) -> &str {
    match variant {
        "imp-3b" => "imp-3b-384",
        other => other,
    }
}

#[test]
fn memory_and_image_size_match_the_engine() {
    let policy = QuantPolicy {
        text: candle_core::quantized::GgmlDType::Q4K,
        vision: candle_core::quantized::GgmlDType::F16,
    };
    let mut wrong = Vec::new();
    for entry in Catalog::bundled().models {
        let config = ImpConfig::from_json(&preset_config(preset(&entry.variant)).unwrap()).unwrap();
        let tensors = planned_tensor_bytes(&config, &policy).unwrap();
        let kv = kv_value_bytes("q4_k");
        let low = estimated_memory(tensors, &config, kv);
        let high = estimated_memory(tensors + (16 << 20), &config, kv);
        assert_eq!(
            entry.image_size as usize, config.vision.image_size,
            "{}",
            entry.id
        );
        if !(low..=high).contains(&entry.memory_bytes) {
            wrong.push(format!(
                "{}: memory_bytes {} outside {low}..={high}",
                entry.id, entry.memory_bytes
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// What a phone downloads is the float checkpoint: two bytes a parameter
/// (f16 or bf16, as MILVLG publishes them) plus config, tokenizer and the
/// safetensors headers (at most 16 MB).
#[test]
fn download_sizes_match_the_checkpoints() {
    let mut wrong = Vec::new();
    for entry in Catalog::bundled().models {
        let config = ImpConfig::from_json(&preset_config(preset(&entry.variant)).unwrap()).unwrap();
        let info = imp_core::ModelInfo::from_config(&config, "f16".into());
        let low = 2 * info.parameter_count();
        let high = low + (16 << 20);
        match entry.source.download_bytes {
            Some(bytes) if (low..=high).contains(&bytes) => {}
            other => wrong.push(format!(
                "{}: download_bytes {other:?} outside {low}..={high}",
                entry.id
            )),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
