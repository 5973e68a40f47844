//! A loopback server shaped like the Hugging Face hub, for download tests.
//!
//! It speaks the parts of the hub's protocol the store uses (documented by
//! `huggingface_hub`'s `file_download.py` and the hub's API pages):
//!
//! - `GET /api/models/{repo}/revision/{rev}`: `{"id", "sha": commit,
//!   "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256", "size",
//!   "pointerSize"}}]}` (`lfs` only for files kept in LFS);
//! - `GET|HEAD /{repo}/resolve/{rev}/{file}`: a small file directly (ETag: its
//!   git blob SHA-1), an LFS file by a 302 to the CDN with `X-Linked-Etag`
//!   (its SHA-256) and `X-Linked-Size`; every answer carries `X-Repo-Commit`;
//! - `GET /cdn/{sha256}`: the bytes, with `ETag`, `Range` and `If-Range`;
//! - the hub's error codes: 404 with `X-Error-Code: RepoNotFound` or
//!   `EntryNotFound`, 401 for a gated repository.
//!
//! Faults are switched on per server ([`Faults`]), and every request is logged
//! with the body bytes sent, so a test can bound what a client re-fetched.

use sha1::Digest as _;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What goes wrong, and how often. Counters count down as faults fire.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Close the connection half-way through this many LFS transfers.
    pub drop_mid_file: usize,
    /// Answer this many ranged CDN requests with the whole file (200).
    pub ignore_range: usize,
    /// Wait this long before answering any request.
    pub first_byte_delay: Duration,
    /// Send this many bytes past an LFS file's end, without a Content-Length.
    pub extra_bytes: usize,
    /// Flip one byte in the middle of every LFS file served.
    pub flip_byte: bool,
    /// Answer this many requests with 503 first.
    pub unavailable: usize,
    /// Redirect LFS files to this base URL instead of our own CDN path.
    pub cdn_base: Option<String>,
    /// Send bodies at about this many bytes a second (a slow network).
    pub bytes_per_second: Option<usize>,
}

/// One request as served.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub status: u16,
    pub body_bytes: usize,
}

/// One repository: its files by name, and the commit they are at.
#[derive(Debug, Clone)]
pub struct Repo {
    pub files: BTreeMap<String, Vec<u8>>,
    pub commit: String,
    /// Answer 401 (a gated or private repository).
    pub gated: bool,
    /// Each file's (SHA-256, git blob SHA-1), computed once: hashing a
    /// full-size checkpoint on every request would take longer than sending it.
    sums: BTreeMap<String, (String, String)>,
}

impl Repo {
    /// Every regular file at the top of `dir`.
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                files.insert(name, std::fs::read(entry.path())?);
            }
        }
        Ok(Self::from_files(files))
    }

    /// A repository whose commit id is derived from its contents.
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Self {
        let sums: BTreeMap<String, (String, String)> = files
            .iter()
            .map(|(name, bytes)| (name.clone(), (sha256(bytes), git_blob_sha1(bytes))))
            .collect();
        let mut h = sha1::Sha1::new();
        for (name, (_, blob)) in &sums {
            h.update(name.as_bytes());
            h.update(blob.as_bytes());
        }
        Self {
            files,
            commit: hex(&h.finalize()),
            gated: false,
            sums,
        }
    }

    fn sha256_of(&self, name: &str) -> &str {
        &self.sums[name].0
    }

    fn blob_of(&self, name: &str) -> &str {
        &self.sums[name].1
    }
}

/// Files the hub keeps in LFS (as `.gitattributes` of model repos says).
pub fn is_lfs(name: &str) -> bool {
    [".safetensors", ".bin", ".gguf", ".pt"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Git's object id of a file: SHA-1 over `blob {len}\0` and the bytes.
pub fn git_blob_sha1(bytes: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex(&h.finalize())
}

pub fn sha256(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Default)]
struct State {
    repos: BTreeMap<String, Repo>,
    faults: Faults,
    log: Vec<Served>,
}

/// The server; it stops when dropped.
pub struct HubServer {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl HubServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("bound").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(stream, &s));
            }
        });
        Self { port, state, stop }
    }

    /// What `HF_ENDPOINT` is set to for this server.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn add(&self, id: &str, repo: Repo) {
        self.state
            .lock()
            .unwrap()
            .repos
            .insert(id.to_string(), repo);
    }

    pub fn faults(&self, faults: Faults) {
        self.state.lock().unwrap().faults = faults;
    }

    pub fn log(&self) -> Vec<Served> {
        self.state.lock().unwrap().log.clone()
    }

    /// Body bytes sent over every request.
    pub fn bytes_sent(&self) -> usize {
        self.log().iter().map(|s| s.body_bytes).sum()
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Request {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    Some(Request {
        method,
        path,
        headers,
    })
}

/// An answer before it is written.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Announce this length (None: close-delimited).
    length: Option<usize>,
    /// Close after this many body bytes.
    cut_at: Option<usize>,
}

impl Answer {
    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            length: Some(0),
            cut_at: None,
        }
    }

    fn error(status: u16, code: &str) -> Self {
        let mut a = Self::empty(status);
        a.headers.push(("X-Error-Code".into(), code.into()));
        a
    }

    fn body(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            length: Some(body.len()),
            body,
            cut_at: None,
        }
    }

    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let delay = state.lock().unwrap().faults.first_byte_delay;
    std::thread::sleep(delay);
    let pace = state.lock().unwrap().faults.bytes_per_second;
    let answer = {
        let mut st = state.lock().unwrap();
        if st.faults.unavailable > 0 {
            st.faults.unavailable -= 1;
            Answer::empty(503)
        } else {
            route(&request, &mut st)
        }
    };
    let sent = write_answer(&mut stream, &request, &answer, pace);
    state.lock().unwrap().log.push(Served {
        method: request.method.clone(),
        path: request.path.clone(),
        range: request.headers.get("range").cloned(),
        status: answer.status,
        body_bytes: sent,
    });
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = stream.read(&mut [0u8; 64]);
}

fn route(request: &Request, st: &mut State) -> Answer {
    let path = request.path.split('?').next().unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/api/models/") {
        return listing(rest, st);
    }
    if let Some(sha) = path.strip_prefix("/cdn/") {
        return cdn(sha, request, st);
    }
    resolve(path.trim_start_matches('/'), st)
}

/// `{owner}/{name}/revision/{rev}`.
fn listing(rest: &str, st: &State) -> Answer {
    let parts: Vec<&str> = rest.splitn(4, '/').collect();
    let [owner, name, "revision", rev] = parts[..] else {
        return Answer::error(404, "RepoNotFound");
    };
    let id = format!("{owner}/{name}");
    let Some(repo) = st.repos.get(&id) else {
        return Answer::error(404, "RepoNotFound");
    };
    if repo.gated {
        return Answer::error(401, "GatedRepo");
    }
    if rev != "main" && rev != repo.commit {
        return Answer::error(404, "RevisionNotFound");
    }
    let siblings: Vec<serde_json::Value> = repo
        .files
        .iter()
        .map(|(file, bytes)| {
            let mut s = serde_json::json!({
                "rfilename": file, "size": bytes.len(), "blobId": repo.blob_of(file),
            });
            if is_lfs(file) {
                s["lfs"] = serde_json::json!({
                    "sha256": repo.sha256_of(file), "size": bytes.len(), "pointerSize": 134,
                });
            }
            s
        })
        .collect();
    let body = serde_json::json!({ "id": id, "sha": repo.commit, "siblings": siblings });
    Answer::body(200, body.to_string().into_bytes()).header("Content-Type", "application/json")
}

/// `{owner}/{name}/resolve/{rev}/{file}`.
fn resolve(path: &str, st: &State) -> Answer {
    let parts: Vec<&str> = path.splitn(5, '/').collect();
    let [owner, name, "resolve", rev, file] = parts[..] else {
        return Answer::error(404, "RepoNotFound");
    };
    let Some(repo) = st.repos.get(&format!("{owner}/{name}")) else {
        return Answer::error(404, "RepoNotFound");
    };
    if repo.gated {
        return Answer::error(401, "GatedRepo");
    }
    if rev != "main" && rev != repo.commit {
        return Answer::error(404, "RevisionNotFound");
    }
    let Some(bytes) = repo.files.get(file) else {
        return Answer::error(404, "EntryNotFound").header("X-Repo-Commit", &repo.commit);
    };
    if is_lfs(file) {
        let sha = repo.sha256_of(file);
        let base = st.faults.cdn_base.clone().unwrap_or_default();
        return Answer::empty(302)
            .header("Location", format!("{base}/cdn/{sha}"))
            .header("X-Repo-Commit", &repo.commit)
            .header("X-Linked-Etag", format!("\"{sha}\""))
            .header("X-Linked-Size", bytes.len().to_string())
            .header("ETag", format!("\"{}\"", git_blob_sha1(b"lfs pointer")));
    }
    Answer::body(200, bytes.clone())
        .header("X-Repo-Commit", &repo.commit)
        .header("ETag", format!("\"{}\"", repo.blob_of(file)))
}

/// The bytes of an LFS file, by its SHA-256, with the faults that apply.
fn cdn(sha: &str, request: &Request, st: &mut State) -> Answer {
    let Some(mut bytes) = st
        .repos
        .values()
        .flat_map(|r| r.files.iter().map(move |(name, b)| (r, name, b)))
        .find(|(r, name, _)| r.sha256_of(name) == sha)
        .map(|(_, _, b)| b.clone())
    else {
        return Answer::empty(404);
    };
    if st.faults.flip_byte {
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
    }
    let etag = format!("\"{sha}\"");
    let total = bytes.len();
    let start = request
        .headers
        .get("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse::<usize>().ok());
    let if_range_ok = request.headers.get("if-range").is_none_or(|t| *t == etag);
    let ignore = start.is_some() && st.faults.ignore_range > 0;
    if ignore {
        st.faults.ignore_range -= 1;
    }
    let mut answer = match start {
        Some(s) if s >= total => {
            return Answer::empty(416).header("Content-Range", format!("bytes */{total}"))
        }
        Some(s) if if_range_ok && !ignore => Answer::body(206, bytes[s..].to_vec())
            .header("Content-Range", format!("bytes {s}-{}/{total}", total - 1)),
        _ => Answer::body(200, bytes),
    };
    answer = answer.header("ETag", etag).header("Accept-Ranges", "bytes");
    if st.faults.extra_bytes > 0 {
        answer
            .body
            .extend(std::iter::repeat_n(0xAB, st.faults.extra_bytes));
        answer.length = None;
    }
    if st.faults.drop_mid_file > 0 && request.method == "GET" {
        st.faults.drop_mid_file -= 1;
        answer.cut_at = Some(answer.body.len() / 2);
    }
    answer
}

/// Writes the answer (no body for HEAD); returns the body bytes sent.
fn write_answer(
    stream: &mut TcpStream,
    request: &Request,
    answer: &Answer,
    pace: Option<usize>,
) -> usize {
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", answer.status);
    if let Some(len) = answer.length {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    for (k, v) in &answer.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() || request.method == "HEAD" {
        return 0;
    }
    let end = answer.cut_at.unwrap_or(answer.body.len());
    let chunk_size = if pace.is_some() { 4 << 10 } else { 64 << 10 };
    let mut sent = 0;
    for chunk in answer.body[..end].chunks(chunk_size) {
        if stream.write_all(chunk).is_err() {
            break;
        }
        sent += chunk.len();
        if let Some(rate) = pace {
            std::thread::sleep(Duration::from_secs_f64(
                chunk.len() as f64 / rate.max(1) as f64,
            ));
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_ids_are_gits() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha1(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
