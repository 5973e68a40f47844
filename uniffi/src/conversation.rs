//! Questions about one picture; answers stream from a thread this crate owns.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use imp_core::{CancelToken, Conversation};

use crate::answer::{AnswerHandle, AnswerListener, GenerationParams};
use crate::error::ImpFfiError;
use crate::guard::guarded;

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
                    let result = guarded(|| {
                        let mut conversation = inner.lock().map_err(|_| {
                            ImpFfiError::internal("an earlier answer failed in the middle")
                        })?;
                        let on_token = &mut |t: &imp_core::TokenEvent| listener.on_token(t.into());
                        let summary =
                            conversation.ask(&question, &params.into(), &cancel, on_token);
                        context_used.store(conversation.context_used() as u32, Ordering::SeqCst);
                        Ok(summary?)
                    });
                    // Free the engine before telling the app, so it may ask again
                    // from inside the callback.
                    generating.store(false, Ordering::SeqCst);
                    match result {
                        Ok(summary) => listener.on_done(summary.into()),
                        Err(e) => listener.on_error(e),
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
