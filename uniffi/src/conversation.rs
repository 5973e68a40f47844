//! Questions about one picture; answers stream from a thread this crate owns.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use imp_core::{CancelToken, Conversation};

use crate::answer::{AnswerHandle, AnswerListener, GenerationParams};
use crate::error::ImpFfiError;
use crate::guard::{call_back, guarded};

#[derive(uniffi::Object)]
pub struct ImpConversation {
    /// Locked by the answering thread for a whole answer: never lock it from
    /// the caller's thread.
    inner: Arc<Mutex<Conversation>>,
    generating: Arc<AtomicBool>,
    context_used: Arc<AtomicU32>,
}

impl ImpConversation {
    pub(crate) fn new(conversation: Conversation, generating: Arc<AtomicBool>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(conversation)),
            generating,
            context_used: Arc::default(),
        }
    }
}

#[uniffi::export]
impl ImpConversation {
    /// Asks a question (a follow-up reuses the picture and earlier turns) and
    /// returns at once; the answer goes to `listener`. While an answer from the
    /// same engine is being generated, this fails with `Busy`.
    pub fn ask(
        &self,
        question: String,
        params: GenerationParams,
        listener: Arc<dyn AnswerListener>,
    ) -> Result<Arc<AnswerHandle>, ImpFfiError> {
        guarded(|| {
            if self
                .generating
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                return Err(ImpFfiError::Busy);
            }
            let token = CancelToken::new();
            let (inner, generating, cancel) =
                (self.inner.clone(), self.generating.clone(), token.clone());
            let context_used = self.context_used.clone();
            let spawned = std::thread::Builder::new()
                .name("imp-answer".into())
                .spawn(move || {
                    // A listener that throws (a panic here, from UniFFI) stops the
                    // answer like a cancel, between tokens, so the conversation
                    // stays whole; the app hears of it through on_error.
                    let mut listener_failed = None;
                    let result = guarded(|| {
                        let mut conversation = inner.lock().map_err(|_| {
                            ImpFfiError::internal("an earlier answer failed in the middle")
                        })?;
                        let on_token = &mut |t: &imp_core::TokenEvent| {
                            if listener_failed.is_none() {
                                if let Err(e) = call_back(|| listener.on_token(t.into())) {
                                    listener_failed = Some(e);
                                    cancel.cancel();
                                }
                            }
                        };
                        let summary =
                            conversation.ask(&question, &params.into(), &cancel, on_token);
                        context_used.store(conversation.context_used() as u32, Ordering::SeqCst);
                        Ok(summary?)
                    });
                    // Free the engine before telling the app, so it may ask again
                    // from inside the callback.
                    generating.store(false, Ordering::SeqCst);
                    let last_call = match (result, listener_failed) {
                        (_, Some(e)) => call_back(|| listener.on_error(listener_error(e))),
                        (Ok(summary), None) => call_back(|| listener.on_done(summary.into())),
                        (Err(e), None) => call_back(|| listener.on_error(e)),
                    };
                    if let Err(e) = last_call {
                        tracing::warn!(%e, "the answer listener failed on the last call");
                    }
                });
            if let Err(e) = spawned {
                self.generating.store(false, Ordering::SeqCst);
                return Err(ImpFfiError::internal(format!("cannot start a thread: {e}")));
            }
            Ok(Arc::new(AnswerHandle { token }))
        })
    }

    /// Context positions used by the finished turns, of the engine's context
    /// length. Never waits for an answer in progress.
    pub fn context_used(&self) -> u32 {
        self.context_used.load(Ordering::SeqCst)
    }
}

/// What `on_error` says when the app's own `on_token` failed.
fn listener_error(e: ImpFfiError) -> ImpFfiError {
    ImpFfiError::internal(format!(
        "the answer listener failed, so the answer stopped: {e}"
    ))
}
