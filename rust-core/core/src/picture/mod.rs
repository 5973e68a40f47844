//! The picture: encoded bytes (or platform-decoded pixels) to the normalised
//! tensor the vision tower takes, resized exactly as Pillow does.

pub mod preprocess;
pub mod resample;
