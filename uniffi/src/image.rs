//! Where a conversation's picture comes from.

use imp_core::picture::resample::Rgb8;

use crate::error::ImpFfiError;

#[derive(Debug, Clone, uniffi::Enum)]
pub enum ImageSource {
    /// JPEG, PNG, WebP, GIF or BMP bytes, as stored or received.
    Encoded { bytes: Vec<u8> },
    /// A file the app can read.
    File { path: String },
    /// Pixels the platform already decoded (HEIC on iOS, camera frames):
    /// 8-bit RGBA, row by row, no padding; alpha is composited onto white.
    Rgba {
        width: u32,
        height: u32,
        pixels: Vec<u8>,
    },
}

impl ImageSource {
    pub(crate) fn decode(self) -> Result<Rgb8, ImpFfiError> {
        let unusable = |detail: String| ImpFfiError::ImageUnusable {
            reason: format!("This picture can't be read. ({detail})"),
        };
        match self {
            ImageSource::Encoded { bytes } => {
                Ok(imp_core::picture::preprocess::decode_rgb(&bytes)?)
            }
            ImageSource::File { path } => {
                let bytes = std::fs::read(&path).map_err(|e| unusable(format!("{path}: {e}")))?;
                Ok(imp_core::picture::preprocess::decode_rgb(&bytes)?)
            }
            ImageSource::Rgba {
                width,
                height,
                pixels,
            } => {
                let expected = width as u64 * height as u64 * 4;
                if width == 0 || height == 0 || pixels.len() as u64 != expected {
                    return Err(unusable(format!(
                        "{width}x{height} RGBA needs {expected} bytes, got {}",
                        pixels.len()
                    )));
                }
                Ok(imp_core::picture::preprocess::rgba_to_rgb(
                    width as usize,
                    height as usize,
                    &pixels,
                ))
            }
        }
    }
}
