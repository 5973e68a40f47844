//! A loopback HTTP/1.1 server that serves model files the way a hub or CDN
//! does (ETag, Content-Length, Range with If-Range, redirects) and misbehaves
//! on demand (cut the connection, stall, fail with 503, change the file), and
//! counts what it sent; and small Imp GGUF files to serve.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imp_tools::convert::{convert, ConvertOptions, QuantPolicy};

/// How the server treats the next requests.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Close the connection after this many body bytes, for the next request only.
    pub cut_after: Option<usize>,
    /// Send nothing past this offset of the file (keep the socket open): a
    /// server that hangs at the same place however often it is asked.
    pub stall_at: Option<usize>,
    /// Answer this many requests with 503 first.
    pub fail_first: usize,
    /// Answer a range request whose If-Range does not match with 206 anyway
    /// (a server that ignores If-Range), so the client must see the new ETag.
    pub ignore_if_range: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub status: u16,
    pub body_bytes: usize,
}

#[derive(Default)]
struct State {
    /// path -> (bytes, etag)
    files: HashMap<String, (Vec<u8>, String)>,
    behaviour: Behaviour,
    log: Vec<Logged>,
}

pub struct Server {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (s, st) = (s.clone(), st.clone());
                std::thread::spawn(move || serve(stream, &s, &st));
            }
        });
        Self { port, state, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Serves `bytes` at `/files/{name}` (and `/redirect/{name}` redirects there).
    pub fn put(&self, name: &str, bytes: Vec<u8>, etag: &str) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(format!("/files/{name}"), (bytes, format!("\"{etag}\"")));
    }

    pub fn behave(&self, behaviour: Behaviour) {
        self.state.lock().unwrap().behaviour = behaviour;
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Body bytes sent for `path`, over every request.
    pub fn bytes_sent(&self, path: &str) -> usize {
        self.log()
            .iter()
            .filter(|l| l.path == path)
            .map(|l| l.body_bytes)
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, stop: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let range = headers.get("range").cloned();
    let if_range = headers.get("if-range").cloned();
    let mut logged = Logged {
        path: path.clone(),
        range: range.clone(),
        if_range: if_range.clone(),
        status: 0,
        body_bytes: 0,
    };
    let mut st = state.lock().unwrap();
    if let Some(name) = path.strip_prefix("/redirect/") {
        let location = format!("Location: /files/{name}\r\n");
        return bodiless(&mut out, &mut st.log, logged, 302, &location);
    }
    if st.behaviour.fail_first > 0 {
        st.behaviour.fail_first -= 1;
        return bodiless(&mut out, &mut st.log, logged, 503, "");
    }
    let Some((bytes, etag)) = st.files.get(&path).cloned() else {
        return bodiless(&mut out, &mut st.log, logged, 404, "");
    };
    let total = bytes.len();
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
    let if_range_ok = if_range.as_ref().is_none_or(|t| *t == etag) || st.behaviour.ignore_if_range;
    let (status, from) = match start {
        Some(s) if s >= total => {
            let range = format!("Content-Range: bytes */{total}\r\n");
            return bodiless(&mut out, &mut st.log, logged, 416, &range);
        }
        Some(s) if if_range_ok => (206, s),
        _ => (200, 0),
    };
    let cut = st.behaviour.cut_after.take();
    let stall = st.behaviour.stall_at.map(|at| at.saturating_sub(from));
    drop(st);
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nETag: {etag}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
        if status == 206 { "Partial Content" } else { "OK" },
        total - from
    );
    if status == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {from}-{}/{total}\r\n",
            total - 1
        ));
    }
    head.push_str("\r\n");
    let mut sent = 0;
    let body = &bytes[from..];
    let limit = cut.or(stall).unwrap_or(body.len()).min(body.len());
    let ok = out.write_all(head.as_bytes()).is_ok();
    if ok {
        for chunk in body[..limit].chunks(64 << 10) {
            if out.write_all(chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
    }
    let _ = out.flush();
    logged.status = status;
    logged.body_bytes = sent;
    state.lock().unwrap().log.push(logged);
    if stall.is_some() && cut.is_none() {
        // Keep the connection open, sending nothing, until the client leaves.
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            if out.write_all(b"").is_err() {
                break;
            }
            let mut probe = [0u8; 1];
            out.set_read_timeout(Some(Duration::from_millis(50))).ok();
            if let Ok(0) = std::io::Read::read(&mut out, &mut probe) {
                break;
            }
        }
    }
}

/// Answers with a status and no body, and logs it.
fn bodiless(
    out: &mut TcpStream,
    log: &mut Vec<Logged>,
    mut logged: Logged,
    status: u16,
    extra: &str,
) {
    logged.status = status;
    log.push(logged);
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

/// A small Imp GGUF converted from the tiny fixture, `quant` its text type
/// (different types give different files of the same model).
pub fn tiny_gguf(dir: &Path, quant: candle_core::quantized::GgmlDType) -> PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let out = dir.join(format!("tiny-{quant:?}.gguf"));
    let options = ConvertOptions {
        policy: QuantPolicy {
            text: quant,
            vision: candle_core::quantized::GgmlDType::F16,
        },
        name: "MILVLG/tiny-imp-wide".into(),
        llama_cpp: None,
    };
    convert(
        &fixtures.join("tiny-imp-wide"),
        &out,
        &options,
        &mut |_, _| {},
    )
    .unwrap();
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
