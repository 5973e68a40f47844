//! Peak memory of this process, as two figures:
//! - resident: the kernel's high-water mark, which counts touched file-backed
//!   pages of a mapped model too (`VmHWM` on Linux and Android,
//!   `resident_size_max` on iOS and macOS);
//! - the figure a phone's low-memory killer counts: anonymous resident memory
//!   on Linux and Android (`RssAnon`), the physical footprint on iOS and macOS
//!   (what jetsam counts; file-backed clean pages are not in it). The kernel
//!   keeps no high-water mark for either, so it is sampled every 5 ms.
//!
//! Zero on other platforms.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Samples the process's low-memory-killer figure until stopped.
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
                    if let Some(anon) = platform::anon_bytes() {
                        peak.fetch_max(anon, Ordering::Relaxed);
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

    /// (peak resident, peak anonymous or footprint) in bytes.
    pub fn stop(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let anon = platform::anon_bytes().unwrap_or(0);
        let peak_anon = self.peak_anon.load(Ordering::Relaxed).max(anon);
        (platform::peak_resident_bytes().unwrap_or(0), peak_anon)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod platform {
    pub fn anon_bytes() -> Option<u64> {
        status_kb("RssAnon:").map(|kb| kb * 1024)
    }

    pub fn peak_resident_bytes() -> Option<u64> {
        status_kb("VmHWM:").map(|kb| kb * 1024)
    }

    /// A `kB` field of /proc/self/status.
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
}

#[cfg(target_vendor = "apple")]
mod platform {
    use mach2::kern_return::KERN_SUCCESS;
    use mach2::message::mach_msg_type_number_t;
    use mach2::task::task_info;
    use mach2::task_info::{
        mach_task_basic_info, task_vm_info, MACH_TASK_BASIC_INFO, TASK_VM_INFO,
    };
    use mach2::traps::mach_task_self;
    use mach2::vm_types::{integer_t, natural_t};

    /// `T` as `task_info(mach_task_self(), flavor, ...)` fills it (an older
    /// kernel fills the fields it knows and leaves the rest zero).
    fn ask<T: Default>(flavor: u32) -> Option<T> {
        let mut info = T::default();
        let mut count =
            (std::mem::size_of::<T>() / std::mem::size_of::<natural_t>()) as mach_msg_type_number_t;
        // SAFETY: `info` is `count` natural_t words the kernel may write; the
        // port is this task's own.
        let status = unsafe {
            task_info(
                mach_task_self(),
                flavor,
                &mut info as *mut T as *mut integer_t,
                &mut count,
            )
        };
        (status == KERN_SUCCESS).then_some(info)
    }

    pub fn anon_bytes() -> Option<u64> {
        ask::<task_vm_info>(TASK_VM_INFO).map(|info| info.phys_footprint)
    }

    pub fn peak_resident_bytes() -> Option<u64> {
        ask::<mach_task_basic_info>(MACH_TASK_BASIC_INFO).map(|info| info.resident_size_max)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
mod platform {
    pub fn anon_bytes() -> Option<u64> {
        None
    }

    pub fn peak_resident_bytes() -> Option<u64> {
        None
    }
}
