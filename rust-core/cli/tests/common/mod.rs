//! Running the built `imp` binary on the fixture models.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

pub fn imp() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imp"));
    // Loopback traffic must never go through a proxy; backtraces must not be
    // needed for a one-line error, so make sure one would show if printed.
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    // No test may reach the real hub: offline unless a test serves its own
    // loopback hub (it then sets HF_ENDPOINT and removes HF_HUB_OFFLINE), and
    // a closed loopback port should it forget the second.
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null());
    cmd
}

pub fn ask(model: &Path, extra: &[&str], question: &str) -> Output {
    imp()
        .args(["ask", "--model"])
        .arg(model)
        .arg("--image")
        .arg(fixtures().join("images/photo.png"))
        .args(extra)
        .arg(question)
        .output()
        .expect("imp runs")
}

pub fn golden_ids(model: &str, key: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(fixtures().join(format!("golden/{model}.json"))).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(meta[key].clone()).unwrap()
}

/// Token lines and the summary line of `--format json` output.
pub fn json_lines(stdout: &[u8]) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut lines: Vec<serde_json::Value> = String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    (lines, summary)
}

/// Token lines and summary of a `--format json` run that must have succeeded.
pub fn json_answer(out: &Output) -> (Vec<serde_json::Value>, serde_json::Value) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

pub fn token_ids(tokens: &[serde_json::Value]) -> Vec<u64> {
    tokens.iter().map(|t| t["id"].as_u64().unwrap()).collect()
}

/// A failed run: non-zero exit, one line on stderr, no panic, no backtrace.
pub fn assert_clean_failure(out: &Output, expect_in_message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    assert!(stderr.starts_with("imp: "), "{stderr}");
    assert!(
        stderr.contains(expect_in_message),
        "{stderr:?} should mention {expect_in_message:?}"
    );
}
