//! Encoded image bytes through decoding (with its limits) and preprocessing to
//! the vision tower's input, both aspect modes. The last byte picks the mode
//! and one of the models' input sizes.
#![no_main]

use candle_core::Device;
use imp_core::config::AspectMode;
use imp_core::picture::preprocess::{decode_rgb, ImagePreprocessor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rgb) = decode_rgb(data) else {
        return;
    };
    let pick = data.last().copied().unwrap_or(0);
    let preprocessor = ImagePreprocessor {
        image_size: [196, 384, 14, 37][(pick & 3) as usize],
        aspect: if pick & 4 == 0 {
            AspectMode::Squash
        } else {
            AspectMode::Pad
        },
    };
    let pixels = preprocessor
        .preprocess_rgb(&rgb, &Device::Cpu)
        .expect("a decoded picture always preprocesses");
    assert_eq!(
        pixels.dims(),
        [3, preprocessor.image_size, preprocessor.image_size]
    );
});
