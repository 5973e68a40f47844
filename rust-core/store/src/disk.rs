//! Writing files so that a crash never leaves half of one under its real name,
//! and asking how much room is left.

use std::io::Write;
use std::path::Path;

use crate::error::{Result, StoreError};

/// Replaces `path` with `bytes`: written to a temporary sibling, flushed to
/// the disk, then renamed over the old file (a rename within a directory is
/// atomic on every file system the phones use), then the directory flushed so
/// the rename itself survives a power cut. A crash at any point leaves either
/// the old file or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        // A full disk leaves part of the file: take it back, the space is
        // what the next attempt needs.
        let _ = std::fs::remove_file(&temp);
        return Err(StoreError::io(&temp, e));
    }
    std::fs::rename(&temp, path).map_err(|e| StoreError::io(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// `path` opened (created if need be, never truncated) and locked with
/// [`lock_exclusive`]; the lock is held until the returned file is dropped.
/// The lock file itself stays: removing it while another writer is about to
/// open it would let two writers lock two different files.
pub(crate) fn lock_file(path: &Path, wait: bool) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    lock_exclusive(&file, wait)?;
    Ok(file)
}

/// An advisory lock (`flock`) on `file`, held until it is closed. Locks are
/// per open file, so they exclude other threads of this process (each opens
/// the file itself) as well as other processes. With `wait`, blocks until the
/// holder lets go; else fails at once with `WouldBlock`.
#[cfg(unix)]
fn lock_exclusive(file: &std::fs::File, wait: bool) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let operation = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: flock on a descriptor this `File` owns; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &std::fs::File, _wait: bool) -> std::io::Result<()> {
    Ok(())
}

/// Flushes a directory's entries (a rename or create in it) to the disk.
/// Best effort: not every platform lets a directory be opened for this.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A name that can become one file name as it is: letters, digits, `-`,
/// `_`, `.`, at most `max_len` of them, not starting with a dot (no `..`, no
/// hidden file, no separator).
pub(crate) fn is_plain_name(name: &str, max_len: usize) -> bool {
    !name.is_empty()
        && name.len() <= max_len
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Bytes an unprivileged process may still write on the file system of `dir`.
#[cfg(unix)]
pub fn free_space(dir: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| StoreError::InvalidArgument(format!("{}: NUL in path", dir.display())))?;
    // SAFETY: statvfs is a plain C struct, valid all zeros.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `stat` a struct statvfs fills.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return Err(StoreError::io(dir, std::io::Error::last_os_error()));
    }
    // Both fields' widths differ between platforms (u32 on some 32-bit ones).
    #[allow(clippy::unnecessary_cast)]
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

#[cfg(not(unix))]
pub fn free_space(_dir: &Path) -> Result<u64> {
    Ok(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn free_space_is_plausible() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_space(dir.path()).unwrap();
        assert!(free > 0 && free < (1u64 << 60), "{free}");
        assert!(free_space(&dir.path().join("missing")).is_err());
    }
}
