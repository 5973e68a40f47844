//! Nothing may unwind into Kotlin or Swift: every entry point and every thread
//! this crate starts runs its body through `guarded`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::ImpFfiError;

pub fn guarded<T>(f: impl FnOnce() -> Result<T, ImpFfiError>) -> Result<T, ImpFfiError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        tracing::error!(%detail, "panic caught at the FFI boundary");
        Err(ImpFfiError::internal(detail))
    })
}

/// Calls into the app (a listener); what it throws arrives here as a panic
/// (UniFFI's way for a callback that fails) and is returned as Internal.
pub fn call_back(f: impl FnOnce()) -> Result<(), ImpFfiError> {
    guarded(|| {
        f();
        Ok(())
    })
}

/// Runs `work` on a new thread owned by this crate; its result arrives through
/// the returned future, so async callers never block.
pub async fn on_worker<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> Result<T, ImpFfiError> + Send + 'static,
) -> Result<T, ImpFfiError> {
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let _ = tx.send(guarded(work));
        })
        .map_err(|e| ImpFfiError::internal(format!("cannot start a thread: {e}")))?;
    rx.await.unwrap_or_else(|_| {
        Err(ImpFfiError::internal(
            "worker thread ended without a result",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let result: Result<(), _> = guarded(|| panic!("kaboom {}", 42));
        match result {
            Err(ImpFfiError::Internal { reason }) => {
                assert!(reason.contains("kaboom 42"), "{reason}")
            }
            other => panic!("expected Internal, got {other:?}"),
        }
    }

    #[test]
    fn a_panicking_worker_reports_instead_of_hanging() {
        let future = on_worker::<()>("test-worker", || panic!("worker down"));
        let result = crate::block_on::block_on(future);
        assert!(matches!(result, Err(ImpFfiError::Internal { .. })));
    }
}
