//! `--model <repo id>` against a loopback server that speaks the hub's URL
//! layout (`/api/models/{repo}/revision/main`, `/{repo}/resolve/main/{file}`),
//! serving a fixture checkpoint. The first weight download is cut half-way, as a
//! flaky phone connection would; the next run must resume, not restart.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const REPO: &str = "MILVLG/tiny-imp-196";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

#[derive(Default)]
struct Log {
    /// (file, requested range) for every resolve request.
    requests: Vec<(String, Option<String>)>,
}

struct HubServer {
    port: u16,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
}

impl HubServer {
    fn start(dir: PathBuf, cut_weights_once: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (log.clone(), stop.clone());
        let cut = Arc::new(AtomicBool::new(cut_weights_once));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                serve(stream, &dir, &thread_log, &cut);
            }
        });
        Self { port, log, stop }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests_for(&self, file: &str) -> Vec<Option<String>> {
        let log = self.log.lock().unwrap();
        log.requests
            .iter()
            .filter(|(f, _)| f == file)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut stream: TcpStream, dir: &std::path::Path, log: &Mutex<Log>, cut: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    if path == format!("/api/models/{REPO}/revision/main") {
        let siblings: Vec<serde_json::Value> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| serde_json::json!({ "rfilename": e.unwrap().file_name().to_string_lossy() }))
            .collect();
        let body = serde_json::json!({ "sha": COMMIT, "siblings": siblings }).to_string();
        respond(&mut stream, "200 OK", &[], body.as_bytes(), body.len());
        return;
    }
    let Some(file) = path.strip_prefix(&format!("/{REPO}/resolve/main/")) else {
        respond(&mut stream, "404 Not Found", &[], b"", 0);
        return;
    };
    log.lock()
        .unwrap()
        .requests
        .push((file.to_string(), range.clone()));
    let Ok(content) = std::fs::read(dir.join(file)) else {
        respond(&mut stream, "404 Not Found", &[], b"", 0);
        return;
    };
    let start: usize = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let end = match range.as_deref() {
        Some("bytes=0-0") => 1,
        _ => content.len(),
    };
    let etag = format!("\"{:016x}\"", fnv(&content));
    let content_range = format!("bytes {start}-{}/{}", end - 1, content.len());
    let headers = [
        ("ETag", etag.as_str()),
        ("X-Repo-Commit", COMMIT),
        ("Content-Range", content_range.as_str()),
    ];
    let body = &content[start..end];
    // Cut the first full weight transfer half-way: the client sees a short body.
    let is_weights = file.ends_with(".safetensors") && end - start > 1;
    let sent = if is_weights && cut.swap(false, Ordering::SeqCst) {
        body.len() / 2
    } else {
        body.len()
    };
    respond(
        &mut stream,
        "206 Partial Content",
        &headers,
        &body[..sent],
        body.len(),
    );
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    len: usize,
) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    // Drain what the client still sends, then close.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.read(&mut [0u8; 64]);
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// `imp ask` on the loopback hub's repo; the float32 path unless `quantized`
/// (the default: converted once into the store under `hf_home/store`).
fn ask_hub_with(
    endpoint: &str,
    hf_home: &std::path::Path,
    offline: bool,
    quantized: bool,
) -> std::process::Output {
    let mut cmd = imp();
    cmd.env("IMP_STORE", hf_home.join("store")).arg("ask");
    if !quantized {
        cmd.arg("--float");
    }
    cmd.env("HF_ENDPOINT", endpoint).env("HF_HOME", hf_home);
    if offline {
        cmd.env("HF_HUB_OFFLINE", "1");
    } else {
        cmd.env_remove("HF_HUB_OFFLINE");
    }
    cmd.args([
        "--model",
        REPO,
        "--format",
        "json",
        "--max-tokens",
        "4",
        "--image",
    ])
    .arg(fixtures().join("images/photo.png"))
    .arg("What is in this picture?")
    .output()
    .unwrap()
}

fn ask_hub(endpoint: &str, hf_home: &std::path::Path, offline: bool) -> std::process::Output {
    ask_hub_with(endpoint, hf_home, offline, false)
}

#[test]
fn hub_download_resumes_caches_and_works_offline() {
    let hf_home = tempfile::tempdir().unwrap();
    let server = HubServer::start(fixtures().join("tiny-imp-196-msft"), true);
    let expected = &golden_ids("tiny-imp-196-msft", "greedy_ids")[..4];

    // The connection drops half-way through the weights.
    let out = ask_hub(&server.endpoint(), hf_home.path(), false);
    assert_clean_failure(&out, "model.safetensors");
    let weights = std::fs::metadata(fixtures().join("tiny-imp-196-msft/model.safetensors"))
        .unwrap()
        .len();

    // Run again: the download resumes from where it stopped.
    let out = ask_hub(&server.endpoint(), hf_home.path(), false);
    let (tokens, summary) = json_answer(&out);
    let ids = token_ids(&tokens);
    assert_eq!(ids, expected);
    assert_eq!(summary["done"], true);
    let ranges = server.requests_for("model.safetensors");
    let resumed_from: Vec<u64> = ranges
        .iter()
        .flatten()
        .filter_map(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
        .collect();
    assert!(
        resumed_from.iter().any(|&from| from > 0 && from < weights),
        "no resumed request among {ranges:?}"
    );
    // It landed in the standard cache layout.
    let snapshot = hf_home
        .path()
        .join("hub/models--MILVLG--tiny-imp-196/snapshots")
        .join(COMMIT);
    assert!(snapshot.join("model.safetensors").exists());
    assert!(snapshot.join("vocab.json").exists());

    // Once cached, nothing is downloaded again.
    let before = server.requests_for("model.safetensors").len();
    let out = ask_hub(&server.endpoint(), hf_home.path(), false);
    assert!(out.status.success());
    assert_eq!(server.requests_for("model.safetensors").len(), before);

    // Offline, with the server gone, the cache is enough.
    let endpoint = server.endpoint();
    drop(server);
    let out = ask_hub(&endpoint, hf_home.path(), true);
    let (tokens, _) = json_answer(&out);
    assert_eq!(tokens.len(), 4);

    // Offline and never downloaded: a clear error, no network.
    let empty_home = tempfile::tempdir().unwrap();
    let out = ask_hub(&endpoint, empty_home.path(), true);
    assert_clean_failure(&out, "HF_HUB_OFFLINE");
}

#[test]
fn a_hub_model_is_converted_once_then_used_from_the_store() {
    let hf_home = tempfile::tempdir().unwrap();
    let server = HubServer::start(fixtures().join("tiny-imp-196-msft"), false);
    let first = ask_hub_with(&server.endpoint(), hf_home.path(), false, true);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("converting MILVLG/tiny-imp-196 to q4_k once"),
        "{stderr}"
    );
    let (tokens, _) = json_answer(&first);
    assert_eq!(tokens.len(), 4);

    // The second run loads the converted file: no conversion, no download.
    let downloads = server.requests_for("model.safetensors").len();
    let second = ask_hub_with(&server.endpoint(), hf_home.path(), false, true);
    assert!(!String::from_utf8_lossy(&second.stderr).contains("converting"));
    assert_eq!(server.requests_for("model.safetensors").len(), downloads);
    let (again, _) = json_answer(&second);
    assert_eq!(token_ids(&again), token_ids(&tokens));

    // The store lists it as converted from the repo.
    let list = imp()
        .env("IMP_STORE", hf_home.path().join("store"))
        .args(["models", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains("tiny-imp-196-q4_k ("), "{listed}");
}
