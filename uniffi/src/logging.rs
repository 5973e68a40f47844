//! Routes the core's `tracing` events to the platform's log: logcat on Android,
//! the unified log on iOS, stderr elsewhere. Safe to call more than once.

use crate::error::ImpFfiError;
use crate::guard::guarded;

/// Starts forwarding log events; `verbose` includes debug events.
#[uniffi::export]
pub fn init_logging(verbose: bool) -> Result<(), ImpFfiError> {
    let level = if verbose {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    guarded(|| {
        install(level);
        Ok(())
    })
}

#[cfg(target_os = "android")]
fn install(level: tracing::Level) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let Ok(layer) = tracing_android::layer("imp") else {
        return;
    };
    let filter = tracing_subscriber::filter::LevelFilter::from_level(level);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

/// iOS routes `syslog(3)` into the unified log (Console.app, `log stream`).
/// tracing-oslog would need Xcode to compile its C shim; this needs nothing.
#[cfg(target_os = "ios")]
fn install(level: tracing::Level) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::filter::LevelFilter::from_level(level);
    let _ = tracing_subscriber::registry()
        .with(unified_log::SyslogLayer::new())
        .with(filter)
        .try_init();
}

#[cfg(target_os = "ios")]
mod unified_log {
    use std::ffi::CString;
    use std::fmt::Write;
    use tracing::field::{Field, Visit};

    pub struct SyslogLayer;

    impl SyslogLayer {
        pub fn new() -> Self {
            // openlog keeps the pointer: the identity must live forever.
            static IDENT: &[u8] = b"imp\0";
            unsafe { libc::openlog(IDENT.as_ptr().cast(), libc::LOG_PID, libc::LOG_USER) };
            Self
        }
    }

    struct Message(String);

    impl Visit for Message {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                let _ = write!(self.0, "{value:?} ");
            } else {
                let _ = write!(self.0, "{}={value:?} ", field.name());
            }
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SyslogLayer {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let meta = event.metadata();
            let mut message = Message(format!("{}: ", meta.target()));
            event.record(&mut message);
            let priority = match *meta.level() {
                tracing::Level::ERROR => libc::LOG_ERR,
                tracing::Level::WARN => libc::LOG_WARNING,
                tracing::Level::INFO => libc::LOG_INFO,
                _ => libc::LOG_DEBUG,
            };
            let Ok(text) = CString::new(message.0.replace('\0', " ")) else {
                return;
            };
            // A fixed "%s" format: the message is data, never a format string.
            unsafe { libc::syslog(priority, b"%s\0".as_ptr().cast(), text.as_ptr()) };
        }
    }
}

#[cfg(not(any(target_os = "android", target_os = "ios")))]
fn install(level: tracing::Level) {
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .try_init();
}
