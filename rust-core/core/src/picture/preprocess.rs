//! From encoded image bytes to the normalised pixel tensor the vision tower takes,
//! as the reference `ImpImageProcessor` does it:
//!
//! decode -> (EXIF orientation, which the reference skips but phone photos need)
//! -> RGB, transparency composited onto white -> pad to square with grey 127 if
//! `image_aspect_ratio` is `pad` -> Pillow bicubic to `image_size` squared, 8-bit
//! -> x / 255 -> (x - 0.5) / 0.5 -> channels first.
//!
//! Reference: MILVLG/imp `imp_llava/mm_utils.py` (`process_images`,
//! `expand2square`), transformers `image_transforms.py` (`convert_to_rgb`,
//! `rescale`, `normalize`).

use candle_core::{Device, Tensor};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use std::io::Cursor;

use crate::config::AspectMode;
use crate::error::{ImpError, Result};
use crate::picture::resample::{resize_bicubic, resize_padded_square, Rgb8};

/// Largest side accepted: beyond any phone camera, well below what would
/// exhaust memory (a 16k x 16k RGBA image is 1 GiB).
const MAX_SIDE: u32 = 16_384;
/// Cap on the decoder's allocations.
const MAX_DECODE_BYTES: u64 = 1 << 30;
/// `tuple(int(x * 255) for x in image_mean)` with mean 0.5.
const PAD_GREY: u8 = 127;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImagePreprocessor {
    pub image_size: usize,
    pub aspect: AspectMode,
}

impl ImagePreprocessor {
    /// Decodes and preprocesses an encoded image (JPEG, PNG, WebP, GIF, BMP).
    pub fn preprocess_bytes(&self, bytes: &[u8], device: &Device) -> Result<Tensor> {
        let rgb = decode_rgb(bytes)?;
        self.preprocess_rgb(&rgb, device)
    }

    /// The 8-bit square image the vision tower will see, before normalisation.
    pub fn resized(&self, rgb: &Rgb8) -> Rgb8 {
        if self.aspect == AspectMode::Pad && rgb.width != rgb.height {
            return resize_padded_square(rgb, PAD_GREY, self.image_size);
        }
        if rgb.width == self.image_size && rgb.height == self.image_size {
            return rgb.clone();
        }
        resize_bicubic(rgb, self.image_size, self.image_size)
    }

    /// Preprocesses an already decoded RGB image; (3, size, size) f32.
    pub fn preprocess_rgb(&self, rgb: &Rgb8, device: &Device) -> Result<Tensor> {
        let resized = self.resized(rgb);
        let plane = self.image_size * self.image_size;
        let mut chw = vec![0f32; 3 * plane];
        for (i, px) in resized.data.chunks_exact(3).enumerate() {
            for c in 0..3 {
                chw[c * plane + i] = normalise(px[c]);
            }
        }
        Ok(Tensor::from_vec(
            chw,
            (3, self.image_size, self.image_size),
            device,
        )?)
    }
}

/// transformers rescales in f64 then stores f32, and normalises in f32.
fn normalise(v: u8) -> f32 {
    let scaled = (v as f64 * (1.0 / 255.0)) as f32;
    (scaled - 0.5) / 0.5
}

/// Decodes any supported format into 8-bit RGB, upright.
pub fn decode_rgb(bytes: &[u8]) -> Result<Rgb8> {
    let invalid = |e: image::ImageError| ImpError::InvalidImage(e.to_string());
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImpError::InvalidImage(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    if reader.format().is_none() {
        return Err(ImpError::InvalidImage(
            "not a JPEG, PNG, WebP, GIF or BMP image".into(),
        ));
    }
    let mut decoder = reader.into_decoder().map_err(invalid)?;
    // `into_decoder` hands the limits to the format's decoder, which checks the
    // sides and its own buffers, but not the output buffer `from_decoder`
    // allocates (only `ImageReader::decode` checks that, and it drops the
    // orientation): a 16384 x 16384 16-bit RGBA header made it allocate 2 GiB.
    let (width, height) = decoder.dimensions();
    let needed = decoder.total_bytes();
    if needed > MAX_DECODE_BYTES {
        return Err(ImpError::InvalidImage(format!(
            "{width}x{height} would take {} MiB decoded, more than the {} MiB allowed",
            needed >> 20,
            MAX_DECODE_BYTES >> 20
        )));
    }
    let orientation = decoder.orientation().map_err(invalid)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(invalid)?;
    image.apply_orientation(orientation);
    if image.width() == 0 || image.height() == 0 {
        return Err(ImpError::InvalidImage("the image is empty".into()));
    }
    Ok(to_rgb(image))
}

fn to_rgb(image: DynamicImage) -> Rgb8 {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let data = if image.color().has_alpha() {
        // Composited in place: the RGBA buffer (moved, not copied, when the
        // decoder made RGBA8) becomes the RGB one, so the largest picture the
        // limits allow is never held twice.
        let mut data = image.into_rgba8().into_raw();
        for i in 0..width * height {
            let p = &data[i * 4..i * 4 + 4];
            let rgb = composite_on_white([p[0], p[1], p[2], p[3]]);
            data[i * 3..i * 3 + 3].copy_from_slice(&rgb);
        }
        data.truncate(width * height * 3);
        data
    } else {
        // Moves the buffer when the decoder already produced RGB8 (JPEG): no copy
        // of a 36 MB photo.
        image.into_rgb8().into_raw()
    };
    Rgb8 {
        width,
        height,
        data,
    }
}

/// Platform-decoded 8-bit RGBA (rows without padding) to RGB, transparency
/// composited onto white as for encoded images.
pub fn rgba_to_rgb(width: usize, height: usize, rgba: &[u8]) -> Rgb8 {
    let data = rgba
        .chunks_exact(4)
        .flat_map(|p| composite_on_white([p[0], p[1], p[2], p[3]]))
        .collect();
    Rgb8 {
        width,
        height,
        data,
    }
}

/// Pillow's `alpha_composite` of a pixel over opaque white, in its integer
/// arithmetic (7 fraction bits, divide-by-255 by shifts).
fn composite_on_white([r, g, b, a]: [u8; 4]) -> [u8; 3] {
    if a == 0 {
        return [255; 3];
    }
    const BITS: u32 = 7;
    let a = a as u32;
    let out_a255 = a * 255 + 255 * (255 - a);
    let coef1 = a * 255 * 255 * (1 << BITS) / out_a255;
    let coef2 = 255 * (1 << BITS) - coef1;
    let blend = |c: u8| {
        let t = c as u32 * coef1 + 255 * coef2 + (0x80 << BITS);
        ((((t >> 8) + t) >> 8) >> BITS) as u8
    };
    [blend(r), blend(g), blend(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_and_clear_pixels_composite_exactly() {
        assert_eq!(composite_on_white([12, 34, 56, 255]), [12, 34, 56]);
        assert_eq!(composite_on_white([12, 34, 56, 0]), [255, 255, 255]);
    }

    #[test]
    fn garbage_bytes_are_an_image_error() {
        let err = decode_rgb(b"definitely not an image").unwrap_err();
        assert!(matches!(err, ImpError::InvalidImage(_)), "{err}");
        let mut png = Vec::new();
        image::RgbImage::new(4, 4)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png.truncate(png.len() / 2);
        assert!(matches!(decode_rgb(&png), Err(ImpError::InvalidImage(_))));
    }
}
