//! Getting a multi-gigabyte file over a phone's connection: resumable, capped
//! at the size it was announced at, verified on disk, never spliced from two
//! versions of the file, and never written by two downloads at once.
//!
//! The bytes go to a `.partial` file beside a small `.partial.json` that
//! records the URL and what the server said the file was (ETag, size), and a
//! `.partial.lock` held for the download's whole life (a second download of
//! the same file, in this process or another, is refused rather than
//! interleaved). A later attempt asks only for the rest (`Range: bytes=N-`,
//! with `If-Range` so a server whose file changed answers with the whole new
//! file), and starts from zero when the server's ETag or size differ from what
//! was recorded or it ignores the range. Dropped connections, stalls, 5xx and
//! 429 are retried with backoff inside the same call, resuming each time, so a
//! train tunnel does not need a person to press Retry. The checksum is of the
//! complete file as it lies on the disk, read back after the last byte.

mod lock;
pub mod transfer;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use imp_core::CancelToken;

use crate::disk::write_atomically;
use crate::error::{Result, StoreError};
pub use lock::PartialLock;
use transfer::Event;

/// What a file's bytes must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// Lower-case hex SHA-256 (catalogue files, the hub's LFS files).
    Sha256(String),
    /// Git's blob id (SHA-1 of `blob {len}\0` + bytes): the hub's small files.
    GitBlobSha1(String),
}

/// What to fetch and what the result must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    pub url: String,
    /// Known size: checked before the first byte is written, the most read
    /// from the server, and checked against the result.
    pub expected_size: Option<u64>,
    /// A mismatch discards the file.
    pub checksum: Option<Checksum>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    pub connect_timeout: Duration,
    /// A server that sends nothing for this long (headers included) is given
    /// up on for this attempt, and retried.
    pub stall_timeout: Duration,
    /// Attempts in a row that may fail without a byte of progress.
    pub retries: u32,
    /// The first wait between attempts; each failure in a row doubles it, up
    /// to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Kept free on the disk beyond the file itself.
    pub space_margin: u64,
    /// The most bytes read for a file whose size nobody announced.
    pub max_size: u64,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(30),
            // 1 + 2 + 4 + ... + 60 s: about five minutes without a byte.
            retries: 10,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            space_margin: 64 << 20,
            max_size: 64 << 30,
        }
    }
}

/// How far a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferProgress {
    /// Bytes on disk, from earlier attempts included.
    pub done: u64,
    pub total: Option<u64>,
}

/// A finished, verified download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// The hub's `X-Repo-Commit`, when the server sent one.
    pub repo_commit: Option<String>,
}

/// What the server said the file was, kept beside the partial bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ResumeState {
    url: String,
    etag: Option<String>,
    total: Option<u64>,
}

/// Reports the free bytes on the file system of a directory.
pub type FreeSpaceProbe = dyn Fn(&Path) -> Result<u64> + Send + Sync;

/// One download into `partial`, resuming what an earlier attempt left there.
pub struct Download<'a> {
    pub request: &'a DownloadRequest,
    pub options: &'a DownloadOptions,
    pub free_space: &'a FreeSpaceProbe,
    pub cancel: &'a CancelToken,
}

/// Why one attempt ended without the whole file.
enum AttemptEnd {
    /// Try again (resuming); carries what went wrong for the final error.
    Transient(StoreError),
    /// The server's file is not the one the partial bytes came from.
    Restart,
    /// Give up.
    Fatal(StoreError),
}

impl From<StoreError> for AttemptEnd {
    fn from(e: StoreError) -> Self {
        AttemptEnd::Fatal(e)
    }
}

/// The whole file arrived in an attempt.
struct Arrived {
    size: u64,
    repo_commit: Option<String>,
}

impl Download<'_> {
    /// Fetches the file into `partial` and verifies it; on success the file is
    /// complete there and its resume state removed. The caller holds the
    /// partial file's [`PartialLock`] until it has moved the file to its
    /// place.
    pub fn run(
        &self,
        partial: &Path,
        progress: &mut dyn FnMut(TransferProgress),
    ) -> Result<Downloaded> {
        let state_path = resume_state_path(partial);
        let mut state = self.load_state(partial, &state_path);
        let agent = transfer::agent(self.options.connect_timeout, self.options.stall_timeout);
        let mut failures = 0u32;
        loop {
            self.check_space(partial, &state)?;
            let before = file_len(partial);
            match self.attempt(&agent, partial, &state_path, &mut state, progress) {
                Ok(arrived) => return self.finish(partial, &state_path, arrived),
                Err(AttemptEnd::Fatal(e)) => return Err(e),
                Err(AttemptEnd::Restart) => {
                    tracing::info!(url = %self.request.url, "the file changed on the server: restarting");
                    discard(partial, &state_path);
                    state = self.fresh_state();
                }
                Err(AttemptEnd::Transient(e)) => {
                    failures = if file_len(partial) > before {
                        1
                    } else {
                        failures + 1
                    };
                    if failures > self.options.retries {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, failures, "download interrupted, resuming");
                    self.wait(self.backoff(failures))?;
                }
            }
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let doubled = self
            .options
            .backoff
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)));
        doubled.min(self.options.max_backoff)
    }

    fn fresh_state(&self) -> ResumeState {
        ResumeState {
            url: self.request.url.clone(),
            ..Default::default()
        }
    }

    /// The recorded state if it is for this URL and the partial file exists;
    /// otherwise a fresh start (a partial file of another URL is not reused).
    fn load_state(&self, partial: &Path, state_path: &Path) -> ResumeState {
        let saved: Option<ResumeState> = std::fs::read(state_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        match saved {
            Some(s) if s.url == self.request.url && partial.exists() => s,
            _ => {
                discard(partial, state_path);
                self.fresh_state()
            }
        }
    }

    /// Refuses to start when the rest of the file cannot fit.
    fn check_space(&self, partial: &Path, state: &ResumeState) -> Result<()> {
        let Some(total) = self.request.expected_size.or(state.total) else {
            return Ok(());
        };
        let dir = partial.parent().unwrap_or(Path::new("."));
        let needed = total.saturating_sub(file_len(partial)) + self.options.space_margin;
        let available = (self.free_space)(dir)?;
        if needed > available {
            return Err(StoreError::InsufficientSpace {
                needed_mb: needed.div_ceil(1 << 20),
                available_mb: available >> 20,
            });
        }
        Ok(())
    }

    /// One request, from its headers to the last byte or the first failure.
    fn attempt(
        &self,
        agent: &ureq::Agent,
        partial: &Path,
        state_path: &Path,
        state: &mut ResumeState,
        progress: &mut dyn FnMut(TransferProgress),
    ) -> std::result::Result<Arrived, AttemptEnd> {
        let offset = file_len(partial);
        if offset > 0 && state.total == Some(offset) {
            // Complete before the process ended; the checksum decides.
            return Ok(Arrived {
                size: offset,
                repo_commit: None,
            });
        }
        let events = transfer::start(
            agent.clone(),
            self.request.url.clone(),
            offset,
            state.etag.clone().filter(|_| offset > 0),
        );
        let head = match self.next_event(&events)? {
            Event::Head(head) => head,
            other => return Err(self.failed(other)),
        };
        let (start, total) = match head.status {
            206 => match head.content_range {
                Some(range) => range,
                None => return Err(AttemptEnd::Restart),
            },
            // A whole file: a fresh start, or a server that ignored the range
            // (written from byte 0 over what was there).
            200 => (0, head.content_length),
            status => return Err(AttemptEnd::Fatal(self.http_error(status))),
        };
        if start > 0
            && (start != offset
                || differs(&state.etag, &head.etag)
                || differs(&state.total, &total))
        {
            return Err(AttemptEnd::Restart);
        }
        if let (Some(expected), Some(total)) = (self.request.expected_size, total) {
            if expected != total {
                return Err(AttemptEnd::Fatal(StoreError::SizeMismatch {
                    file: self.request.url.clone(),
                    size: total,
                    expected,
                }));
            }
        }
        *state = ResumeState {
            url: self.request.url.clone(),
            etag: head.etag.clone(),
            total,
        };
        if start == 0 {
            // What was on disk belongs to no version of the file we now get.
            let _ = std::fs::remove_file(partial);
        }
        self.check_space(partial, state)?;
        let saved = serde_json::to_vec(state).expect("plain data serialises");
        write_atomically(state_path, &saved)?;
        let size = self.receive(&events, partial, start, total, progress)?;
        Ok(Arrived {
            size,
            repo_commit: head.repo_commit,
        })
    }

    /// The next event of the transfer, watching for a cancel and a stall.
    fn next_event(&self, events: &Receiver<Event>) -> std::result::Result<Event, AttemptEnd> {
        let since = Instant::now();
        // The socket times out by itself after the stall timeout; this is
        // the backstop should it not.
        let limit = self.options.stall_timeout + Duration::from_secs(1);
        loop {
            if self.cancel.is_cancelled() {
                return Err(AttemptEnd::Fatal(StoreError::Cancelled));
            }
            match events.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => return Ok(event),
                Err(RecvTimeoutError::Timeout) if since.elapsed() < limit => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(AttemptEnd::Transient(
                        self.network_error("the server stopped sending".into()),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(AttemptEnd::Transient(
                        self.network_error("the transfer ended unexpectedly".into()),
                    ))
                }
            }
        }
    }

    /// What an event other than the expected one means for this attempt.
    fn failed(&self, event: Event) -> AttemptEnd {
        match event {
            // The range starts past the server's file: not the file we had.
            Event::Status(416) => AttemptEnd::Restart,
            Event::Status(status) if is_transient(status) => {
                AttemptEnd::Transient(self.http_error(status))
            }
            Event::Status(status) => AttemptEnd::Fatal(self.http_error(status)),
            Event::Transport(reason) => AttemptEnd::Transient(self.network_error(reason)),
            Event::Refused(reason) => AttemptEnd::Fatal(StoreError::Refused(reason)),
            Event::Head(_) | Event::Data(_) | Event::End => {
                AttemptEnd::Transient(self.network_error("the server answered out of order".into()))
            }
        }
    }

    /// Writes the body at `start`, never past the announced size: a server
    /// that sends more is cut off there, and the checksum decides.
    fn receive(
        &self,
        events: &Receiver<Event>,
        partial: &Path,
        start: u64,
        total: Option<u64>,
        progress: &mut dyn FnMut(TransferProgress),
    ) -> std::result::Result<u64, AttemptEnd> {
        let io = |e| AttemptEnd::Fatal(StoreError::io(partial, e));
        let limit = self
            .request
            .expected_size
            .or(total)
            .unwrap_or(self.options.max_size);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(partial)
            .map_err(io)?;
        file.set_len(start).map_err(io)?;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut done = start;
        progress(TransferProgress { done, total });
        let end = loop {
            let event = match self.next_event(events) {
                Ok(event) => event,
                Err(end) => {
                    file.sync_all().map_err(io)?;
                    return Err(end);
                }
            };
            match event {
                Event::Data(bytes) => {
                    let room = limit.saturating_sub(done) as usize;
                    let take = bytes.len().min(room);
                    self.write(&mut file, partial, &bytes[..take], limit - done)?;
                    done += take as u64;
                    progress(TransferProgress { done, total });
                    if take < bytes.len() {
                        tracing::warn!(url = %self.request.url, "the server sent more than announced; cut off");
                        break Ok(());
                    }
                }
                Event::End => break Ok(()),
                Event::Transport(reason) => break Err(self.network_error(reason)),
                other => break Err(self.network_error(format!("unexpected {other:?}"))),
            }
        };
        file.sync_all().map_err(io)?;
        if let Err(e) = end {
            return Err(AttemptEnd::Transient(e));
        }
        if total.is_some_and(|t| t != done) {
            return Err(AttemptEnd::Transient(self.network_error(format!(
                "the connection closed at {done} of {} bytes",
                total.unwrap_or(0)
            ))));
        }
        Ok(done)
    }

    /// Appends `bytes`; a full disk says how much more room the rest needs.
    fn write(
        &self,
        file: &mut std::fs::File,
        partial: &Path,
        bytes: &[u8],
        remaining: u64,
    ) -> std::result::Result<(), AttemptEnd> {
        file.write_all(bytes).map_err(|e| {
            if is_disk_full(&e) {
                let dir = partial.parent().unwrap_or(Path::new("."));
                let available = (self.free_space)(dir).unwrap_or(0);
                AttemptEnd::Fatal(StoreError::InsufficientSpace {
                    needed_mb: (remaining + self.options.space_margin).div_ceil(1 << 20),
                    available_mb: available >> 20,
                })
            } else {
                AttemptEnd::Fatal(StoreError::io(partial, e))
            }
        })
    }

    /// Checks size and checksum of the file on disk; a file that fails is
    /// deleted, so the next attempt starts clean.
    fn finish(&self, partial: &Path, state_path: &Path, arrived: Arrived) -> Result<Downloaded> {
        let name = self.request.url.clone();
        let size = arrived.size;
        if let Some(expected) = self.request.expected_size.filter(|&e| e != size) {
            discard(partial, state_path);
            return Err(StoreError::SizeMismatch {
                file: name,
                size,
                expected,
            });
        }
        let sums = hash_file(partial, self.cancel, &mut |_| {})?;
        let mismatch = match &self.request.checksum {
            Some(Checksum::Sha256(expected)) if *expected != sums.sha256 => {
                Some((expected.clone(), sums.sha256.clone(), "SHA-256"))
            }
            Some(Checksum::GitBlobSha1(expected)) if *expected != sums.git_sha1 => {
                Some((expected.clone(), sums.git_sha1.clone(), "git blob SHA-1"))
            }
            _ => None,
        };
        if let Some((expected, actual, kind)) = mismatch {
            discard(partial, state_path);
            return Err(StoreError::ChecksumMismatch {
                file: name,
                kind: kind.to_string(),
                expected,
                actual,
            });
        }
        let _ = std::fs::remove_file(state_path);
        Ok(Downloaded {
            path: partial.to_path_buf(),
            size,
            sha256: sums.sha256,
            repo_commit: arrived.repo_commit,
        })
    }

    /// Sleeps between attempts, waking early for a cancel.
    fn wait(&self, duration: Duration) -> Result<()> {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            if self.cancel.is_cancelled() {
                return Err(StoreError::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
        }
        Ok(())
    }

    fn http_error(&self, status: u16) -> StoreError {
        StoreError::Http {
            url: self.request.url.clone(),
            status,
        }
    }

    fn network_error(&self, reason: String) -> StoreError {
        StoreError::Network {
            url: self.request.url.clone(),
            reason,
        }
    }
}

/// A small document (a listing, a catalogue) read whole into memory, at most
/// `cap` bytes, through the same checked transfer and retries as a download.
pub fn fetch_bytes(
    url: &str,
    options: &DownloadOptions,
    cancel: &CancelToken,
    cap: usize,
) -> Result<Vec<u8>> {
    let request = DownloadRequest {
        url: url.to_string(),
        expected_size: None,
        checksum: None,
    };
    let download = Download {
        request: &request,
        options,
        free_space: &|_| Ok(u64::MAX),
        cancel,
    };
    let agent = transfer::agent(options.connect_timeout, options.stall_timeout);
    let mut failures = 0u32;
    loop {
        match download.read_whole(&agent, cap) {
            Ok(bytes) => return Ok(bytes),
            Err(AttemptEnd::Fatal(e)) => return Err(e),
            Err(AttemptEnd::Transient(e)) if failures >= options.retries => return Err(e),
            Err(AttemptEnd::Transient(_)) | Err(AttemptEnd::Restart) => {
                failures += 1;
                download.wait(download.backoff(failures))?;
            }
        }
    }
}

impl Download<'_> {
    fn read_whole(
        &self,
        agent: &ureq::Agent,
        cap: usize,
    ) -> std::result::Result<Vec<u8>, AttemptEnd> {
        let events = transfer::start(agent.clone(), self.request.url.clone(), 0, None);
        match self.next_event(&events)? {
            Event::Head(head) if head.status == 200 => {}
            Event::Head(head) => return Err(AttemptEnd::Fatal(self.http_error(head.status))),
            other => return Err(self.failed(other)),
        }
        let mut bytes = Vec::new();
        loop {
            match self.next_event(&events)? {
                Event::Data(chunk) if bytes.len() + chunk.len() <= cap => bytes.extend(chunk),
                Event::Data(_) => {
                    return Err(AttemptEnd::Fatal(self.network_error(format!(
                        "more than {cap} bytes: not what was asked for"
                    ))))
                }
                Event::End => return Ok(bytes),
                Event::Transport(reason) => {
                    return Err(AttemptEnd::Transient(self.network_error(reason)))
                }
                other => return Err(self.failed(other)),
            }
        }
    }
}

/// A file's SHA-256 and git blob id, as lower-case hex.
pub struct FileSums {
    pub sha256: String,
    pub git_sha1: String,
}

/// SHA-256 of a file as lower-case hex, reporting bytes hashed.
pub fn sha256_file(
    path: &Path,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(u64),
) -> Result<String> {
    Ok(hash_file(path, cancel, progress)?.sha256)
}

/// Both checksums of a file, in one read.
pub fn hash_file(
    path: &Path,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(u64),
) -> Result<FileSums> {
    let io = |e| StoreError::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut sha256 = sha2::Sha256::new();
    let mut sha1 = sha1::Sha1::new();
    sha1.update(format!("blob {len}\0").as_bytes());
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(StoreError::Cancelled);
        }
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        sha256.update(&buf[..n]);
        sha1.update(&buf[..n]);
        done += n as u64;
        progress(done);
    }
    if done != len {
        return Err(StoreError::io(
            path,
            std::io::Error::other("the file changed while it was read"),
        ));
    }
    Ok(FileSums {
        sha256: hex(&sha256.finalize()),
        git_sha1: hex(&sha1.finalize()),
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn resume_state_path(partial: &Path) -> PathBuf {
    let mut name = partial.file_name().unwrap_or_default().to_os_string();
    name.push(".json");
    partial.with_file_name(name)
}

/// Removes a partial download and its state.
pub(crate) fn discard(partial: &Path, state_path: &Path) {
    let _ = std::fs::remove_file(partial);
    let _ = std::fs::remove_file(state_path);
}

/// Removes a partial download and its state, knowing only the partial file.
pub fn discard_partial(partial: &Path) {
    discard(partial, &resume_state_path(partial));
}

/// Both known and not equal: what the server says now contradicts what it
/// said when the partial bytes arrived.
fn differs<T: PartialEq>(old: &Option<T>, new: &Option<T>) -> bool {
    matches!((old, new), (Some(a), Some(b)) if a != b)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Worth another try: the server is overloaded, limiting us, or timed out.
fn is_transient(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

pub(crate) fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_checksums_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"hello\n").unwrap();
        let sums = hash_file(&path, &CancelToken::new(), &mut |_| {}).unwrap();
        // `sha256sum`, and `git hash-object` of the same bytes.
        assert_eq!(
            sums.sha256,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        assert_eq!(sums.git_sha1, "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let options = DownloadOptions {
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            ..Default::default()
        };
        let request = DownloadRequest {
            url: "https://x/y".into(),
            expected_size: None,
            checksum: None,
        };
        let download = Download {
            request: &request,
            options: &options,
            free_space: &|_| Ok(u64::MAX),
            cancel: &CancelToken::new(),
        };
        let waits: Vec<u64> = (1..=9).map(|f| download.backoff(f).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
