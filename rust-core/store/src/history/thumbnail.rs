//! The small picture a conversation is listed with.

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::RgbImage;

use crate::error::{Result, StoreError};
use imp_core::picture::resample::Rgb8;

/// Longest side of a thumbnail: sharp in a list row on a 3x screen, about
/// 10-20 kB as JPEG.
pub const MAX_THUMBNAIL_SIDE: u32 = 256;

/// The picture shrunk to fit `MAX_THUMBNAIL_SIDE` (aspect kept), as JPEG.
pub fn jpeg(picture: &Rgb8) -> Result<Vec<u8>> {
    let (w, h) = (picture.width as u32, picture.height as u32);
    let image = RgbImage::from_raw(w, h, picture.data.clone())
        .ok_or_else(|| StoreError::InvalidArgument("picture: pixels do not fill it".into()))?;
    let scale = (MAX_THUMBNAIL_SIDE as f64 / w.max(h) as f64).min(1.0);
    let (tw, th) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    let small = if (tw, th) == (w, h) {
        image
    } else {
        image::imageops::resize(&image, tw, th, FilterType::Triangle)
    };
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .map_err(|e| StoreError::InvalidArgument(format!("thumbnail: {e}")))?;
    Ok(out)
}
