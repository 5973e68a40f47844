//! Loading a model: on a worker thread, with progress and cancellation.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::cancellation::CancelHandle;
use crate::conversation::ImpConversation;
use crate::error::ImpFfiError;
use crate::guard::{call_back, guarded, on_worker};
use crate::image::ImageSource;
use crate::model_info::ModelInfo;

#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct EngineOptions {
    /// Inference threads; default one per physical core (use the big cores).
    #[uniffi(default = None)]
    pub threads: Option<u32>,
    /// Fewer context positions than the model allows, to save memory.
    #[uniffi(default = None)]
    pub context_length: Option<u32>,
    /// Run the vision tower at another input size than it was trained for (e.g.
    /// 196 on a 384-px model: 4x fewer image tokens, faster, less accurate).
    #[uniffi(default = None)]
    pub image_size: Option<u32>,
    /// Free memory the app can give the model; a larger model is refused with
    /// `OutOfMemory` before loading instead of the OS killing the app.
    #[uniffi(default = None)]
    pub available_memory_bytes: Option<u64>,
}

impl From<EngineOptions> for imp_core::EngineOptions {
    fn from(o: EngineOptions) -> Self {
        Self {
            threads: o.threads.map(|t| t as usize),
            context_length: o.context_length.map(|c| c as usize),
            image_size: o.image_size.map(|s| s as usize),
            available_memory_bytes: o.available_memory_bytes,
            mmproj: None,
        }
    }
}

/// Told how far loading has got, from the loading thread.
#[uniffi::export(with_foreign)]
pub trait LoadListener: Send + Sync {
    /// `fraction` of the weights loaded, from 0 to 1.
    fn on_progress(&self, fraction: f32);
}

#[derive(uniffi::Object)]
pub struct ImpEngine {
    engine: imp_core::Engine,
    /// One answer at a time per engine, across all its conversations.
    generating: Arc<AtomicBool>,
}

/// Loads a model directory on a worker thread. Cancel through `cancel`.
#[uniffi::export]
pub async fn load_engine(
    model_path: String,
    options: EngineOptions,
    listener: Option<Arc<dyn LoadListener>>,
    cancel: Option<Arc<CancelHandle>>,
) -> Result<Arc<ImpEngine>, ImpFfiError> {
    on_worker("imp-load", move || {
        let options = options.into();
        // A listener that throws (a panic here, from UniFFI) stops the load
        // between layers, as a cancel does, and the load fails with Internal.
        let mut listener_failed = None;
        let mut progress = |fraction: f32| {
            if let Some(l) = &listener {
                if listener_failed.is_none() {
                    listener_failed = call_back(|| l.on_progress(fraction)).err();
                }
            }
            listener_failed.is_none() && !cancel.as_ref().is_some_and(|c| c.is_cancelled())
        };
        let loaded = imp_core::Engine::load_with_progress(
            &PathBuf::from(model_path),
            &options,
            &mut progress,
        );
        if let Some(e) = listener_failed {
            return Err(ImpFfiError::internal(format!(
                "the load listener failed, so loading stopped: {e}"
            )));
        }
        let engine = loaded?;
        Ok(Arc::new(ImpEngine {
            engine,
            generating: Arc::default(),
        }))
    })
    .await
}

#[uniffi::export]
impl ImpEngine {
    pub fn info(&self) -> Result<ModelInfo, ImpFfiError> {
        guarded(|| Ok(self.engine.info().into()))
    }

    /// Starts a conversation about a picture; the image is encoded once, on a
    /// worker thread (seconds on a phone).
    pub async fn start_conversation(
        &self,
        image: ImageSource,
    ) -> Result<Arc<ImpConversation>, ImpFfiError> {
        let engine = self.engine.clone();
        let generating = self.generating.clone();
        on_worker("imp-vision", move || {
            let rgb = image.decode()?;
            let conversation = imp_core::Conversation::start_rgb(&engine, &rgb)?;
            Ok(Arc::new(ImpConversation::new(conversation, generating)))
        })
        .await
    }
}

/// Engines alive in this process (each holds a model's memory until every
/// handle to it, conversations included, is closed).
#[uniffi::export]
pub fn live_engines() -> u64 {
    imp_core::Engine::live_count() as u64
}
