//! `config.json`: parsed, described, and adjusted by the load options an app
//! can pass.
#![no_main]

use imp_core::config::ImpConfig;
use imp_core::text::chat_template::ChatTemplate;
use imp_core::{LoadOptions, ModelInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = ImpConfig::from_json(text) else {
        return;
    };
    let _ = config.vision_layers_used();
    let _ = ModelInfo::from_config(&config, "f16".into());
    let _ = ChatTemplate::for_arch(config.text.arch);
    for options in [
        LoadOptions {
            context_length: Some(1),
            image_size: Some(14),
        },
        LoadOptions {
            context_length: Some(usize::MAX),
            image_size: Some(196),
        },
    ] {
        let mut adjusted = config.clone();
        if options.apply(&mut adjusted).is_ok() {
            let _ = ModelInfo::from_config(&adjusted, "q4_k".into());
        }
    }
});
