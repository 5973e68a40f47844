//! A handle the app keeps to cancel work in flight (loading, an answer).

use imp_core::CancelToken;

#[derive(Debug, Default, uniffi::Object)]
pub struct CancelHandle {
    pub(crate) token: CancelToken,
}

#[uniffi::export]
impl CancelHandle {
    #[uniffi::constructor]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the work at the next safe point (between tokens, between layers).
    pub fn cancel(&self) {
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}
