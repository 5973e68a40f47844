//! Routes the core's `tracing` events to the platform's log: logcat on Android,
//! the unified log on iOS, stderr elsewhere. Safe to call more than once.

/// Starts forwarding log events; `verbose` includes debug events.
#[uniffi::export]
pub fn init_logging(verbose: bool) {
    let level = if verbose {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    install(level);
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

#[cfg(target_os = "ios")]
fn install(level: tracing::Level) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let layer = tracing_oslog::OsLogger::new("app.imp", "core");
    let filter = tracing_subscriber::filter::LevelFilter::from_level(level);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

#[cfg(not(any(target_os = "android", target_os = "ios")))]
fn install(level: tracing::Level) {
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .try_init();
}
