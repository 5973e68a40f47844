//! Whether this phone can run a model, with the numbers behind the verdict.
//!
//! The weights are a memory-mapped file: the kernel may drop their pages under
//! pressure, but every generated token reads all of them, so a model whose
//! pages do not stay resident crawls. The rule, on the `ModelInfo` estimate
//! (weights, a KV cache filled to the context, a tenth for activations):
//!
//! - fits: at most half of the phone's RAM (the system, the launcher and the
//!   app itself keep the rest), and free storage holds the file;
//! - tight: up to 70% of RAM, or more than the memory free right now: it loads,
//!   but other apps get closed and a long conversation may be cut short;
//! - does not fit: beyond 70% of RAM (Android's low-memory killer and iOS's
//!   jetsam end a foreground app well before it owns all of RAM), or the file
//!   cannot be stored.

use crate::catalog::CatalogEntry;

/// What the app knows about the phone (Android: `ActivityManager.MemoryInfo`
/// and `StatFs`; iOS: `ProcessInfo.physicalMemory`,
/// `os_proc_available_memory` and the volume's capacity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceProfile {
    pub total_ram_bytes: u64,
    /// Memory free now, if the platform says.
    pub available_ram_bytes: Option<u64>,
    pub free_storage_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Fits,
    Tight,
    DoesNotFit,
}

/// A verdict and what it was decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    pub verdict: Verdict,
    pub memory_needed_bytes: u64,
    pub total_ram_bytes: u64,
    /// 0 when the model is already on the phone.
    pub storage_needed_bytes: u64,
    pub free_storage_bytes: u64,
    /// One sentence for the person, with the numbers.
    pub reason: String,
}

/// The most memory a model may need to be loaded on a phone with
/// `total_ram_bytes`: 70% of it (the "does not fit" line). The apps pass it as
/// the engine's memory limit, so a load is refused exactly when the models
/// screen says the model does not fit, never for memory free at the moment
/// (a "tight" model loads; the system closes other apps).
pub fn memory_budget(total_ram_bytes: u64) -> u64 {
    total_ram_bytes / 10 * 7
}

/// The fit of a model needing `memory` bytes whose file of `file_size` bytes
/// is (`installed`) or is not yet on the phone.
pub fn fit(memory: u64, file_size: u64, installed: bool, device: &DeviceProfile) -> Fit {
    let ram = device.total_ram_bytes.max(1);
    let storage = if installed { 0 } else { file_size };
    let gb = |b: u64| b as f64 / 1e9;
    let (verdict, reason) = if storage > device.free_storage_bytes {
        (
            Verdict::DoesNotFit,
            format!(
                "needs {:.1} GB of storage, {:.1} GB free",
                gb(storage),
                gb(device.free_storage_bytes)
            ),
        )
    } else if memory > memory_budget(ram) {
        (
            Verdict::DoesNotFit,
            format!(
                "needs {:.1} GB of memory, more than this phone's {:.1} GB can give an app",
                gb(memory),
                gb(ram)
            ),
        )
    } else if memory * 2 > ram || device.available_ram_bytes.is_some_and(|a| memory > a) {
        (
            Verdict::Tight,
            format!(
                "needs {:.1} GB of this phone's {:.1} GB of memory: other apps will be closed",
                gb(memory),
                gb(ram)
            ),
        )
    } else {
        (
            Verdict::Fits,
            format!(
                "needs {:.1} GB of this phone's {:.1} GB of memory",
                gb(memory),
                gb(ram)
            ),
        )
    };
    Fit {
        verdict,
        memory_needed_bytes: memory,
        total_ram_bytes: device.total_ram_bytes,
        storage_needed_bytes: storage,
        free_storage_bytes: device.free_storage_bytes,
        reason,
    }
}

/// The fit of a catalogue entry: its memory figure, and its published file's
/// size (or, unpublished, the memory figure's weight share is unknown, so the
/// storage need is taken as the memory figure: an upper bound).
pub fn entry_fit(entry: &CatalogEntry, installed: bool, device: &DeviceProfile) -> Fit {
    let file_size = entry
        .files
        .first()
        .map_or(entry.memory_bytes, |f| f.size_bytes);
    fit(entry.memory_bytes, file_size, installed, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1_000_000_000;

    fn phone(ram_gb: u64, free_gb: u64) -> DeviceProfile {
        DeviceProfile {
            total_ram_bytes: ram_gb * GB,
            available_ram_bytes: None,
            free_storage_bytes: free_gb * GB,
        }
    }

    #[test]
    fn verdicts_follow_the_thresholds() {
        let model = 4 * GB;
        assert_eq!(
            fit(model, 2 * GB, false, &phone(12, 64)).verdict,
            Verdict::Fits
        );
        assert_eq!(
            fit(model, 2 * GB, false, &phone(8, 64)).verdict,
            Verdict::Fits
        );
        assert_eq!(
            fit(model, 2 * GB, false, &phone(6, 64)).verdict,
            Verdict::Tight
        );
        assert_eq!(
            fit(model, 2 * GB, false, &phone(4, 64)).verdict,
            Verdict::DoesNotFit
        );
        // Storage: not enough room for the file, unless it is already there.
        let full = fit(model, 2 * GB, false, &phone(12, 1));
        assert_eq!(full.verdict, Verdict::DoesNotFit);
        assert!(full.reason.contains("2.0 GB of storage"), "{}", full.reason);
        assert_eq!(
            fit(model, 2 * GB, true, &phone(12, 1)).verdict,
            Verdict::Fits
        );
        // Less free right now than the model needs: tight.
        let busy = DeviceProfile {
            available_ram_bytes: Some(3 * GB),
            ..phone(12, 64)
        };
        assert_eq!(fit(model, 2 * GB, false, &busy).verdict, Verdict::Tight);
    }
}
