//! Getting a 1.5-3 GB file over a phone's connection: resumable, verified while
//! it streams, and never spliced from two versions of the file.
//!
//! The bytes go to a `.partial` file beside a small `.partial.json` that
//! records the URL and what the server said the file was (ETag, size). A later
//! attempt asks only for the rest (`Range: bytes=N-`, with `If-Range` so a
//! server whose file changed answers with the whole new file instead of the
//! rest of it), and restarts from zero when the server's ETag or size differ
//! from what was recorded. SHA-256 is computed over the bytes already on disk
//! once, then over each chunk as it arrives. Transient failures (connection
//! lost, a stalled server, 5xx, 429) are retried with backoff, resuming each
//! time; a cancel keeps the partial file for next time.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use imp_core::CancelToken;

use crate::disk::write_atomically;
use crate::error::{Result, StoreError};

/// What to fetch and what the result must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    pub url: String,
    /// Known size (from the catalogue): checked before the first byte is
    /// written, and against the result.
    pub expected_size: Option<u64>,
    /// Lower-case hex; a mismatch discards the file.
    pub expected_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    pub connect_timeout: Duration,
    /// A server that sends nothing for this long is given up on for this
    /// attempt (and retried).
    pub stall_timeout: Duration,
    /// Attempts in a row that may fail without a byte of progress.
    pub retries: u32,
    /// The first wait between attempts; each failure in a row doubles it.
    pub backoff: Duration,
    /// Kept free on the disk beyond the file itself.
    pub space_margin: u64,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(20),
            stall_timeout: Duration::from_secs(30),
            retries: 6,
            backoff: Duration::from_secs(1),
            space_margin: 64 << 20,
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

/// SHA-256 of the first `upto` bytes of the partial file.
#[derive(Clone)]
struct Hashed {
    hasher: Sha256,
    upto: u64,
}

impl Hashed {
    fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            upto: 0,
        }
    }

    /// The hash of `path`'s first `len` bytes, continuing from `self` when it
    /// already covers exactly those (the previous attempt's bytes); otherwise
    /// read from the disk once (a download resumed after the app restarted).
    fn prefix_of(self, path: &Path, len: u64, cancel: &CancelToken) -> Result<Self> {
        if self.upto == len {
            return Ok(self);
        }
        hash_file(path, Some(len), cancel, &mut |_| {})
    }

    fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.upto += bytes.len() as u64;
    }
}

/// Why one attempt ended without the whole file.
enum AttemptEnd {
    /// Try again (resuming); carries what went wrong for the final error.
    Transient(StoreError),
    /// The server's file is not the one the partial bytes came from.
    Restart,
}

impl Download<'_> {
    /// Fetches the file into `partial` and verifies it; on success the file is
    /// complete there and its resume state removed.
    pub fn run(
        &self,
        partial: &Path,
        progress: &mut dyn FnMut(TransferProgress),
    ) -> Result<Downloaded> {
        let state_path = resume_state_path(partial);
        let mut state = self.load_state(partial, &state_path);
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(self.options.connect_timeout)
            // Short reads let a cancel or a stall be noticed within a second.
            .timeout_read(Duration::from_millis(500))
            .redirects(8)
            .build();
        let mut failures = 0;
        let mut hashed = Hashed::new();
        loop {
            self.check_space(partial, &state)?;
            let before = file_len(partial);
            match self.attempt(
                &agent,
                partial,
                &state_path,
                &mut state,
                &mut hashed,
                progress,
            ) {
                Ok(done) => return self.finish(partial, &state_path, done, hashed),
                Err(Err(fatal)) => return Err(fatal),
                Err(Ok(AttemptEnd::Restart)) => {
                    tracing::info!(url = %self.request.url, "the file changed on the server: restarting");
                    discard(partial, &state_path);
                    state = ResumeState {
                        url: self.request.url.clone(),
                        ..Default::default()
                    };
                }
                Err(Ok(AttemptEnd::Transient(e))) => {
                    failures = if file_len(partial) > before {
                        1
                    } else {
                        failures + 1
                    };
                    if failures > self.options.retries {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, failures, "download interrupted, resuming");
                    self.wait(self.options.backoff * 2u32.pow(failures.min(5) - 1))?;
                }
            }
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
                ResumeState {
                    url: self.request.url.clone(),
                    ..Default::default()
                }
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

    /// One request. Ok(bytes) when the whole file is on disk; Err(Ok(..)) to
    /// try again; Err(Err(..)) to give up.
    fn attempt(
        &self,
        agent: &ureq::Agent,
        partial: &Path,
        state_path: &Path,
        state: &mut ResumeState,
        hashed: &mut Hashed,
        progress: &mut dyn FnMut(TransferProgress),
    ) -> std::result::Result<u64, std::result::Result<AttemptEnd, StoreError>> {
        let fatal = |e| Err(Err(e));
        let offset = file_len(partial);
        let mut request = agent.get(&self.request.url);
        if offset > 0 {
            request = request.set("Range", &format!("bytes={offset}-"));
            if let Some(etag) = &state.etag {
                request = request.set("If-Range", etag);
            }
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(416, _)) if Some(offset) == state.total => {
                *hashed = std::mem::replace(hashed, Hashed::new())
                    .prefix_of(partial, offset, self.cancel)
                    .map_err(Err)?;
                return Ok(offset);
            }
            Err(ureq::Error::Status(416, _)) => return Err(Ok(AttemptEnd::Restart)),
            Err(ureq::Error::Status(status, _)) if is_transient(status) => {
                return Err(Ok(AttemptEnd::Transient(self.http_error(status))))
            }
            Err(ureq::Error::Status(status, _)) => return fatal(self.http_error(status)),
            Err(ureq::Error::Transport(t)) => {
                return Err(Ok(AttemptEnd::Transient(self.network_error(t.to_string()))))
            }
        };
        let etag = response.header("ETag").map(str::to_string);
        let (start, total) = match response.status() {
            206 => match content_range(&response) {
                Some((start, total)) => (start, total),
                None => return Err(Ok(AttemptEnd::Restart)),
            },
            _ => (0, content_length(&response)),
        };
        if offset > 0
            && (start != offset || differs(&state.etag, &etag) || differs(&state.total, &total))
        {
            return Err(Ok(AttemptEnd::Restart));
        }
        if let (Some(expected), Some(total)) = (self.request.expected_size, total) {
            if expected != total {
                return fatal(StoreError::SizeMismatch {
                    file: self.request.url.clone(),
                    size: total,
                    expected,
                });
            }
        }
        *state = ResumeState {
            url: self.request.url.clone(),
            etag,
            total,
        };
        if let Err(e) = self.check_space(partial, state) {
            return fatal(e);
        }
        let saved = serde_json::to_vec(state).expect("plain data serialises");
        write_atomically(state_path, &saved).map_err(Err)?;
        *hashed = std::mem::replace(hashed, Hashed::new())
            .prefix_of(partial, start, self.cancel)
            .map_err(Err)?;
        self.receive(
            response.into_reader(),
            partial,
            (start, total),
            hashed,
            progress,
        )
    }

    /// Appends the body at `start` (0 truncates: a whole file sent afresh),
    /// hashing each chunk as it is written.
    fn receive(
        &self,
        mut body: Box<dyn Read + Send + Sync>,
        partial: &Path,
        (start, total): (u64, Option<u64>),
        hashed: &mut Hashed,
        progress: &mut dyn FnMut(TransferProgress),
    ) -> std::result::Result<u64, std::result::Result<AttemptEnd, StoreError>> {
        let io = |e| Err(StoreError::io(partial, e));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(partial)
            .map_err(io)?;
        file.set_len(start).map_err(io)?;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut done = start;
        let mut buf = vec![0u8; 256 << 10];
        let mut quiet_since = Instant::now();
        progress(TransferProgress { done, total });
        loop {
            if self.cancel.is_cancelled() {
                file.sync_all().map_err(io)?;
                return Err(Err(StoreError::Cancelled));
            }
            match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    file.write_all(&buf[..n]).map_err(io)?;
                    hashed.update(&buf[..n]);
                    done += n as u64;
                    quiet_since = Instant::now();
                    progress(TransferProgress { done, total });
                }
                Err(e) if is_timeout(&e) => {
                    if quiet_since.elapsed() >= self.options.stall_timeout {
                        file.sync_all().map_err(io)?;
                        return Err(Ok(AttemptEnd::Transient(
                            self.network_error("the server stopped sending".into()),
                        )));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    file.sync_all().map_err(io)?;
                    return Err(Ok(AttemptEnd::Transient(self.network_error(e.to_string()))));
                }
            }
        }
        file.sync_all().map_err(io)?;
        if total.is_some_and(|t| t != done) {
            return Err(Ok(AttemptEnd::Transient(self.network_error(format!(
                "the connection closed at {done} of {} bytes",
                total.unwrap_or(0)
            )))));
        }
        Ok(done)
    }

    /// Checks size and checksum of the complete file; a file that fails is
    /// deleted, so the next attempt starts clean.
    fn finish(
        &self,
        partial: &Path,
        state_path: &Path,
        size: u64,
        hashed: Hashed,
    ) -> Result<Downloaded> {
        let name = self.request.url.clone();
        if let Some(expected) = self.request.expected_size.filter(|&e| e != size) {
            discard(partial, state_path);
            return Err(StoreError::SizeMismatch {
                file: name,
                size,
                expected,
            });
        }
        let sha256 = hex(&hashed.hasher.finalize());
        if let Some(expected) = self
            .request
            .expected_sha256
            .as_ref()
            .filter(|e| **e != sha256)
        {
            discard(partial, state_path);
            return Err(StoreError::ChecksumMismatch {
                file: name,
                expected: expected.clone(),
                actual: sha256,
            });
        }
        let _ = std::fs::remove_file(state_path);
        Ok(Downloaded {
            path: partial.to_path_buf(),
            size,
            sha256,
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

/// SHA-256 of a file as lower-case hex, reporting bytes hashed.
pub fn sha256_file(
    path: &Path,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(u64),
) -> Result<String> {
    Ok(hex(&hash_file(path, None, cancel, progress)?
        .hasher
        .finalize()))
}

/// The hash of `path`'s first `len` bytes (all of it without `len`).
fn hash_file(
    path: &Path,
    len: Option<u64>,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(u64),
) -> Result<Hashed> {
    let io = |e| StoreError::io(path, e);
    let mut file = std::fs::File::open(path)
        .map_err(io)?
        .take(len.unwrap_or(u64::MAX));
    let mut hashed = Hashed::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return Err(StoreError::Cancelled);
        }
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(hashed);
        }
        hashed.update(&buf[..n]);
        progress(hashed.upto);
    }
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

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn content_length(response: &ureq::Response) -> Option<u64> {
    response.header("Content-Length")?.trim().parse().ok()
}

/// `Content-Range: bytes START-END/TOTAL` -> (START, TOTAL if known).
fn content_range(response: &ureq::Response) -> Option<(u64, Option<u64>)> {
    let value = response.header("Content-Range")?.trim();
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path, &CancelToken::new(), &mut |_| {}).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
