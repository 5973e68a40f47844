//! Reading a mapped model into memory while it loads, so that no question
//! waits for the disk.
//!
//! GGUF weights are used in place from the memory map: nothing reads them
//! until a kernel first touches a page. When the file is not in the page
//! cache (after a reboot, or once the OS evicted it), the first picture and
//! the first question would each stall on the disk for the parts of the file
//! they touch, long after the load's progress bar said it was done. Loading
//! touches every page once instead, reporting progress as it goes. The pages
//! stay file-backed: clean, shared with the page cache and reclaimable under
//! memory pressure; no anonymous memory is added.

use memmap2::Mmap;

use crate::error::{ImpError, Result};

/// Progress is reported and cancellation checked once per chunk.
const CHUNK: usize = 8 << 20;

/// The smallest page size of the targets (x86, Android, iOS use 4 or 16
/// KiB): touching at this stride reaches every page of any of them.
const PAGE: usize = 4096;

/// Touches every page of `maps`, in order, calling `progress` with the
/// fraction done after each chunk; `false` from it cancels.
pub fn read_ahead(maps: &[&Mmap], progress: &mut dyn FnMut(f32) -> bool) -> Result<()> {
    let total = maps.iter().map(|map| map.len()).sum::<usize>().max(1);
    let mut done = 0;
    for map in maps {
        // Lets the kernel queue the whole file's reads instead of discovering
        // them fault by fault. Only a hint: the touching below is what counts.
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::WillNeed);
        for chunk in map.chunks(CHUNK) {
            touch_pages(chunk);
            done += chunk.len();
            if !progress(done as f32 / total as f32) {
                return Err(ImpError::Cancelled);
            }
        }
    }
    Ok(())
}

fn touch_pages(bytes: &[u8]) {
    for i in (0..bytes.len()).step_by(PAGE) {
        // SAFETY: `i < bytes.len()`, so the pointer is in bounds and aligned
        // for a byte. Volatile, so the read is not optimised away.
        unsafe { std::ptr::read_volatile(bytes.as_ptr().add(i)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(len: usize) -> Mmap {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &vec![7u8; len]).unwrap();
        // SAFETY: the test's own unnamed file, not modified while mapped.
        unsafe { Mmap::map(&file) }.unwrap()
    }

    #[test]
    fn progress_rises_chunk_by_chunk_across_the_files_to_one() {
        let first = mapped(CHUNK + 10);
        let second = mapped(CHUNK / 2);
        let mut seen = Vec::new();
        read_ahead(&[&first, &second], &mut |f| {
            seen.push(f);
            true
        })
        .unwrap();
        let total = (CHUNK + 10 + CHUNK / 2) as f32;
        let expected = [CHUNK as f32 / total, (CHUNK + 10) as f32 / total, 1.0];
        assert_eq!(seen, expected);
    }

    #[test]
    fn false_from_progress_cancels_before_the_rest_is_read() {
        let map = mapped(3 * CHUNK);
        let mut calls = 0;
        let result = read_ahead(&[&map], &mut |_| {
            calls += 1;
            false
        });
        assert!(matches!(result, Err(ImpError::Cancelled)));
        assert_eq!(calls, 1);
    }
}
