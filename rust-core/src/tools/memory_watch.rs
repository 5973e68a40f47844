//! Peak memory of this process: resident (the kernel's high-water mark, which
//! counts touched file-backed pages of a mapped model too) and anonymous (what a
//! phone's low-memory killer counts; sampled every 5 ms, as the kernel keeps no
//! high-water mark for it). Linux and Android only; zero elsewhere.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Samples the process's anonymous resident memory until stopped.
pub struct MemoryWatch {
    stop: Arc<AtomicBool>,
    peak_anon: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MemoryWatch {
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_anon = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (stop.clone(), peak_anon.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(anon) = status_kb("RssAnon:") {
                        peak.fetch_max(anon * 1024, Ordering::Relaxed);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            })
        };
        Self {
            stop,
            peak_anon,
            thread: Some(thread),
        }
    }

    /// (peak RSS, peak anonymous RSS) in bytes.
    pub fn stop(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let anon = status_kb("RssAnon:").unwrap_or(0) * 1024;
        let peak_anon = self.peak_anon.load(Ordering::Relaxed).max(anon);
        (status_kb("VmHWM:").unwrap_or(0) * 1024, peak_anon)
    }
}

/// A `kB` field of /proc/self/status (Linux and Android; None elsewhere).
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
