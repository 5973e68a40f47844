//! `imp ask` and `imp chat` on the fixture models, as a user runs them.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

#[test]
fn json_with_logprobs_prints_token_lines_then_a_summary() {
    let model = fixtures().join("tiny-imp-384");
    let out = ask(
        &model,
        &["--format", "json", "--logprobs", "5", "--max-tokens", "16"],
        "What is in this picture?",
    );
    let (tokens, summary) = json_answer(&out);

    let ids = token_ids(&tokens);
    assert_eq!(ids, golden_ids("tiny-imp-384", "greedy_ids"));
    for t in &tokens {
        assert!(t["text"].is_string());
        let top = t["top"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        let lps: Vec<f64> = top.iter().map(|e| e["logprob"].as_f64().unwrap()).collect();
        assert!(
            lps.windows(2).all(|w| w[0] >= w[1]),
            "most likely first: {lps:?}"
        );
        assert!(lps[0] <= 0.0);
        // Greedy: the chosen token is the most likely one.
        assert_eq!(top[0]["id"], t["id"]);
    }
    assert_eq!(summary["done"], true);
    assert_eq!(summary["stop_reason"], "max_tokens");
    assert_eq!(summary["decode_tokens"], 16);
    assert_eq!(summary["prefill_tokens"], 42 - 1 + 729);
    for key in ["vision_ms", "prefill_ms", "decode_ms"] {
        assert!(summary[key].as_f64().unwrap() > 0.0, "{key}");
    }

    // Text mode writes the same pieces.
    let text = ask(&model, &["--max-tokens", "16"], "What is in this picture?");
    let joined: String = tokens.iter().map(|t| t["text"].as_str().unwrap()).collect();
    assert_eq!(
        String::from_utf8(text.stdout).unwrap(),
        format!("{joined}{}\n", summary["tail"].as_str().unwrap())
    );
}

#[test]
fn image_size_override_shrinks_the_image_tokens() {
    let model = fixtures().join("tiny-imp-384");
    let out = ask(
        &model,
        &[
            "--format",
            "json",
            "--max-tokens",
            "1",
            "--image-size",
            "196",
        ],
        "What is in this picture?",
    );
    let (_, summary) = json_answer(&out);
    assert_eq!(summary["prefill_tokens"], 42 - 1 + 196);
}

/// Each question is written only after the previous answer has arrived, so
/// answers are streamed per turn while stdin stays open.
#[test]
fn chat_answers_follow_ups_as_they_come() {
    let name = "tiny-imp-196-msft";
    let answers = chat(
        &fixtures().join(name),
        &["What is in this picture?", "Describe the colours, please."],
    );
    assert_eq!(answers[0].0, golden_ids(name, "greedy_ids"));
    assert_eq!(
        answers[1].0[..8],
        golden_ids(name, "followup_greedy_ids")[..]
    );
    assert_eq!(answers[1].1["vision_ms"], 0.0, "the image is encoded once");
}

#[test]
fn bad_inputs_fail_with_one_clear_line() {
    let model = fixtures().join("tiny-imp-196-msft");
    let out = imp()
        .args(["ask", "--model"])
        .arg(&model)
        .args(["--image", "/nonexistent/photo.jpg", "q"])
        .output()
        .unwrap();
    assert_clean_failure(&out, "/nonexistent/photo.jpg");

    let out = imp()
        .args(["ask", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(model.join("config.json"))
        .arg("q")
        .output()
        .unwrap();
    assert_clean_failure(&out, "image could not be read");

    let out = ask(&fixtures().join("no-such-model"), &[], "q");
    assert_clean_failure(&out, "no such model directory");

    // A sharded checkpoint with a shard missing.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("tiny-imp-384"), tmp.path());
    std::fs::remove_file(tmp.path().join("model-00002-of-00002.safetensors")).unwrap();
    assert_clean_failure(
        &ask(tmp.path(), &[], "q"),
        "model-00002-of-00002.safetensors",
    );

    // A model of another type.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&model, tmp.path());
    let config = std::fs::read_to_string(tmp.path().join("config.json")).unwrap();
    std::fs::write(
        tmp.path().join("config.json"),
        config.replace("\"model_type\": \"imp\"", "\"model_type\": \"llava_llama\""),
    )
    .unwrap();
    assert_clean_failure(&ask(tmp.path(), &[], "q"), "llava_llama");

    // Nonsense sampling settings are refused before loading anything.
    assert_clean_failure(&ask(&model, &["--top-p", "1.5"], "q"), "top-p");
}

pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// `imp convert` writes one file; `imp ask` on that file alone answers as the
/// float checkpoint does (q8_0 keeps the fixture's greedy tokens: see the core's
/// GGUF tests for the bound).
#[test]
fn convert_then_ask_with_the_gguf_alone() {
    let model = fixtures().join("tiny-imp-wide");
    let tmp = tempfile::tempdir().unwrap();
    let out_file = tmp.path().join("tiny.gguf");
    let out = convert(&model, &out_file, &["--quant", "q8_0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("q8_0") && stderr.contains("tensors"),
        "{stderr}"
    );
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "one file, no partial left behind");

    let args = ["--format", "json", "--max-tokens", "10"];
    let (float, _) = json_answer(&ask(&model, &args, "What is this?"));
    let (quant, summary) = json_answer(&ask(&out_file, &args, "What is this?"));
    assert_eq!(token_ids(&quant), token_ids(&float));
    assert_eq!(summary["decode_tokens"], 10);

    let bad = convert(&model, &tmp.path().join("x.gguf"), &["--quant", "q3"]);
    assert_clean_failure(&bad, "--quant q3");
    let truncated = tmp.path().join("cut.gguf");
    let bytes = std::fs::read(&out_file).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    assert_clean_failure(&ask(&truncated, &[], "q"), "truncated or corrupt");
}

/// `imp bench` on a converted fixture: every figure present and plausible.
#[test]
fn bench_reports_every_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny.gguf");
    let out = convert(&fixtures().join("tiny-imp-wide"), &file, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = imp()
        .args(["bench", "--model"])
        .arg(&file)
        .args([
            "--repeat",
            "2",
            "--gen-tokens",
            "4",
            "--threads",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report = json_report(&out);
    for key in [
        "load_s",
        "vision_s",
        "prompt_tok_s",
        "gen_tok_s",
        "total_s",
        "first_run_total_s",
    ] {
        let v = report[key].as_f64().unwrap_or(-1.0);
        assert!(v > 0.0 && v.is_finite(), "{key} = {v}");
    }
    let rss = report["peak_rss_bytes"].as_u64().unwrap();
    let anon = report["peak_anon_rss_bytes"].as_u64().unwrap();
    assert!(rss >= anon && anon > 0, "{rss} {anon}");
    // 41 text tokens, the placeholder replaced by 14 x 14 patches.
    assert_eq!(report["runs"][0]["prompt_positions"], 41 - 1 + 196);
    assert_eq!(report["runs"].as_array().unwrap().len(), 2);
    // The default 10-token question, reached even where the small tokenizer
    // splits some of its words.
    assert_eq!(report["question_tokens"], 10);

    let out = imp()
        .args(["bench", "--synthetic", "imp-9b"])
        .output()
        .unwrap();
    assert_clean_failure(&out, "imp-9b");
}

/// The command docs/benchmarks.md gives for a phone: random weights of
/// Imp-3B's real size, written with their own tokenizer, loaded and run like a
/// converted model, the file deleted afterwards. (Until the synthetic files
/// carried a tokenizer, this failed at load.)
#[test]
fn bench_runs_a_synthetic_model_of_the_real_size() {
    let scratch = tempfile::tempdir().unwrap();
    let out = imp()
        .env("TMPDIR", scratch.path())
        .args(["bench", "--synthetic", "imp-3b-196", "--repeat", "1"])
        .args([
            "--prompt-tokens",
            "8",
            "--gen-tokens",
            "2",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report = json_report(&out);
    assert_eq!(report["model"], "imp-3b-196");
    assert_eq!(report["runs"][0]["prompt_positions"], 8 - 1 + 196);
    assert_eq!(report["question_tokens"], 10);
    let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The JSON a successful `imp bench --format json` printed.
fn json_report(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn convert(model: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    imp()
        .args(["convert", "--model"])
        .arg(model)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// `imp chat` on `model`: each question sent once the previous answer is in;
/// the ids and the summary line of each answer.
fn chat(model: &std::path::Path, questions: &[&str]) -> Vec<(Vec<u64>, serde_json::Value)> {
    let mut child = imp()
        .args(["chat", "--format", "json", "--max-tokens", "16", "--model"])
        .arg(model)
        .arg("--image")
        .arg(fixtures().join("images/photo.png"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut answers = Vec::new();
    for question in questions {
        writeln!(stdin, "{question}").unwrap();
        stdin.flush().unwrap();
        let mut ids = Vec::new();
        let summary = loop {
            let line = stdout.next().expect("a summary line").unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["done"] == true {
                break v;
            }
            ids.push(v["id"].as_u64().unwrap());
        };
        answers.push((ids, summary));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    answers
}

/// Imp-2B (Qwen1.5) and Imp-4B (Phi-3) fixtures through `imp ask` and `imp
/// chat`, from the checkpoint and from an f16 GGUF of it: the reference's
/// greedy answers and follow-ups every time.
#[test]
fn qwen2_and_phi3_answer_from_checkpoint_and_gguf() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["tiny-imp-qwen2", "tiny-imp-phi3"] {
        let checkpoint = fixtures().join(name);
        let gguf = tmp.path().join(format!("{name}.gguf"));
        let out = convert(&checkpoint, &gguf, &["--quant", "f16"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let greedy = golden_ids(name, "greedy_ids");
        let follow_up = golden_ids(name, "followup_greedy_ids");
        let prompt = golden_ids(name, "prompt_ids").len();
        for model in [&checkpoint, &gguf] {
            let args = ["--format", "json", "--max-tokens", "16"];
            let (tokens, summary) = json_answer(&ask(model, &args, "What is in this picture?"));
            assert_eq!(token_ids(&tokens), greedy, "{}", model.display());
            assert_eq!(summary["prefill_tokens"], prompt as u64 - 1 + 729);
            let answers = chat(
                model,
                &["What is in this picture?", "Describe the colours, please."],
            );
            assert_eq!(answers[0].0, greedy, "{}", model.display());
            assert_eq!(answers[1].0[..8], follow_up[..], "{}", model.display());
        }
    }
}

/// `imp convert` says what it wrote (size, SHA-256) and can print the file's
/// catalogue entry; `imp models` imports, lists, verifies and removes it.
#[test]
fn convert_prints_checksum_and_entry_and_models_manages_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny.gguf");
    let out = convert(
        &fixtures().join("tiny-imp-wide"),
        &file,
        &[
            "--quant",
            "q8_0",
            "--catalog-entry",
            "https://example.org/tiny.gguf",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).unwrap();
    let sha = {
        use std::fmt::Write;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("sha256 {sha}")), "{stderr}");
    assert!(
        stderr.contains(&format!("({} bytes", bytes.len())),
        "{stderr}"
    );
    let entry: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entry["files"][0]["sha256"], sha.as_str());
    assert_eq!(entry["files"][0]["size_bytes"], bytes.len() as u64);
    assert_eq!(entry["files"][0]["url"], "https://example.org/tiny.gguf");
    assert_eq!(entry["image_size"], 196);

    let store = tmp.path().join("store");
    let models = |args: &[&str]| {
        imp()
            .arg("models")
            .arg("--store")
            .arg(&store)
            .args(args)
            .output()
            .unwrap()
    };
    let imported = models(&["import", file.to_str().unwrap(), "--sha256", &sha]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let listed = String::from_utf8_lossy(&models(&["list"]).stdout).to_string();
    assert!(listed.contains("tiny (imp-phi2 q8_0 196 px"), "{listed}");
    assert!(listed.contains("verified"), "{listed}");
    let verified = models(&["verify", "tiny"]);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("tiny: ok"));
    // A damaged file is found out.
    let installed = store.join("models/tiny.gguf");
    let mut damaged = std::fs::read(&installed).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    std::fs::write(&installed, damaged).unwrap();
    assert_clean_failure(&models(&["verify", "tiny"]), "damaged");
    assert!(models(&["remove", "tiny"]).status.success());
    assert!(String::from_utf8_lossy(&models(&["list"]).stdout).contains("(none)"));
    // No published file: the hub path, which offline (as every test is
    // unless it serves a loopback hub) says so at once.
    assert_clean_failure(&models(&["download", "imp-3b-196"]), "HF_HUB_OFFLINE");
}
