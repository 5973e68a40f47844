//! One writer per partial file: an advisory lock (`flock`) on a sibling
//! `.lock` file, held while a download or copy runs. A second download of the
//! same file, from this process or another, is refused at once instead of
//! writing into the same bytes.

use std::path::Path;

use crate::error::{Result, StoreError};

/// Held for as long as a partial file is being written; dropping it closes
/// the file, which releases the lock. The lock file itself stays: removing it
/// while another process is about to open it would let two writers lock two
/// different files.
pub struct PartialLock {
    _file: std::fs::File,
}

impl PartialLock {
    pub fn acquire(partial: &Path) -> Result<Self> {
        let mut name = partial.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = partial.with_file_name(name);
        let file = crate::disk::lock_file(&path, false).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                StoreError::Busy(format!(
                    "{} is already being written by another download",
                    partial.display()
                ))
            } else {
                StoreError::io(&path, e)
            }
        })?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("m.gguf.partial");
        let first = PartialLock::acquire(&partial).unwrap();
        assert!(matches!(
            PartialLock::acquire(&partial),
            Err(StoreError::Busy(_))
        ));
        drop(first);
        PartialLock::acquire(&partial).unwrap();
    }
}
