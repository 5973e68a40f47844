//! Keeps glibc's allocator from handing the engine's large transient buffers
//! back to the kernel between steps.
//!
//! Every layer of an encode allocates and frees outputs of 1-4 MB (candle
//! allocates each op's result). glibc serves blocks above its mmap threshold
//! with a fresh mapping, and trims the freed top of a heap (`madvise`), so
//! each new buffer is faulted in and zeroed page by page by the kernel again:
//! `perf stat -e page-faults` counted about 49,000 faults per 196-px encode,
//! none after warm-up with the settings below, and `/usr/bin/time` over
//! `examples/vision_speed.rs --repeat 5` (three interleaved pairs) measured
//! 1.25-1.97 s of system time before, 0.47-0.52 s after. (Wall times moved
//! less than this machine's noise.)
//!
//! The settings are process-wide, so the library never makes them: a
//! program opts in once at its start (the `imp` binary does, so `imp bench`
//! measures with them), and then keeps up to `TRIM_THRESHOLD` of freed heap
//! for reuse. Other C libraries are left as they are (Android's Scudo and
//! Apple's libmalloc have their own caches; they cannot be measured here).

/// The largest mmap threshold glibc accepts on 64-bit targets: every buffer
/// the tower's layers make is below it, so all come from the heaps.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Freed memory a heap keeps before trimming: more than one step's buffers.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 512 << 20;

/// Sets the thresholds above, once per process; a no-op off glibc.
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator parameters; both values
            // are within the ranges glibc documents. A refusal (return 0)
            // leaves the defaults, which are only slower.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        });
    }
}
