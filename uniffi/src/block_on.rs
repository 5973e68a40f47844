//! For tests: polls a future to completion on the calling thread, parked in
//! between (the facade's worker threads wake it). The unit tests use it, and
//! `tests/stress.rs` includes this file, so the async API is driven the same
//! way in both without an executor dependency.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(value) => return value,
            Poll::Pending => std::thread::park(),
        }
    }
}
