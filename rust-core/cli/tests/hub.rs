//! `--model <repo id>` against a loopback server that speaks the hub's URL
//! layout (`/api/models/{repo}/revision/main`, `/{repo}/resolve/main/{file}`),
//! serving a fixture checkpoint. The first weight download is cut half-way, as a
//! flaky phone connection would; the next run must resume, not restart.

mod common;

use common::*;
use imp_test_hub::{Faults, HubServer, Repo};

const REPO: &str = "MILVLG/tiny-imp-196";

fn serve(fixture: &str, repo: &str, faults: Faults) -> (HubServer, Repo) {
    let server = HubServer::start();
    let served = Repo::from_dir(&fixtures().join(fixture)).unwrap();
    server.add(repo, served.clone());
    server.faults(faults);
    (server, served)
}

/// Ranged requests for the CDN's copy of `file` of `repo`.
fn ranges_for(server: &HubServer, repo: &Repo, file: &str) -> Vec<Option<String>> {
    let sha = imp_test_hub::sha256(&repo.files[file]);
    server
        .log()
        .into_iter()
        .filter(|s| s.path == format!("/cdn/{sha}"))
        .map(|s| s.range)
        .collect()
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
    let drop_once = Faults {
        drop_mid_file: 1,
        ..Default::default()
    };
    let (server, repo) = serve("tiny-imp-196-msft", REPO, drop_once);
    let expected = &golden_ids("tiny-imp-196-msft", "greedy_ids")[..4];

    // The connection drops half-way through the weights: the same run
    // resumes from where it stopped and answers.
    let out = ask_hub(&server.endpoint(), hf_home.path(), false);
    let (tokens, summary) = json_answer(&out);
    assert_eq!(token_ids(&tokens), expected);
    assert_eq!(summary["done"], true);
    let weights = repo.files["model.safetensors"].len() as u64;
    let ranges = ranges_for(&server, &repo, "model.safetensors");
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
        .join(&repo.commit);
    assert!(snapshot.join("model.safetensors").exists());
    assert!(snapshot.join("vocab.json").exists());

    // Once cached, nothing is downloaded again.
    let before = ranges_for(&server, &repo, "model.safetensors").len();
    let out = ask_hub(&server.endpoint(), hf_home.path(), false);
    assert!(out.status.success());
    assert_eq!(
        ranges_for(&server, &repo, "model.safetensors").len(),
        before
    );

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

/// `imp models download ENTRY --store DIR` against the loopback hub.
fn models_download(
    endpoint: &str,
    home: &std::path::Path,
    entry: &str,
    offline: bool,
) -> std::process::Output {
    let mut cmd = imp();
    cmd.env("HF_ENDPOINT", endpoint).env("HF_HOME", home);
    if offline {
        cmd.env("HF_HUB_OFFLINE", "1");
    } else {
        cmd.env_remove("HF_HUB_OFFLINE");
    }
    cmd.args(["models", "download", entry, "--store"])
        .arg(home.join("store"))
        .output()
        .unwrap()
}

/// The acceptance run of the phone-only path, from the command line: a
/// transfer dropped half-way completes in one command, sends at most 1.5x
/// the repository, and installs what `imp convert --quant q4_k` writes; a
/// flipped byte names the checksum and installs nothing; offline with
/// nothing here fails at once.
#[test]
fn models_download_installs_from_the_hub_what_imp_convert_writes() {
    // The catalogue's imp-3b entry (MILVLG/Imp-v1.5-3B-Phi2), served as the
    // sharded 384-px fixture.
    let (server, repo) = serve(
        "tiny-imp-384",
        "MILVLG/Imp-v1.5-3B-Phi2",
        Faults {
            drop_mid_file: 1,
            ..Default::default()
        },
    );
    let home = tempfile::tempdir().unwrap();
    let out = models_download(&server.endpoint(), home.path(), "imp-3b", false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let repo_bytes: usize = repo.files.values().map(Vec::len).sum();
    assert!(
        server.bytes_sent() as f64 <= 1.5 * repo_bytes as f64,
        "{} bytes sent for {repo_bytes}",
        server.bytes_sent()
    );
    let local = home.path().join("local.gguf");
    let convert = imp()
        .args(["convert", "--quant", "q4_k", "--model"])
        .arg(fixtures().join("tiny-imp-384"))
        .arg("--out")
        .arg(&local)
        .output()
        .unwrap();
    assert!(
        convert.status.success(),
        "{}",
        String::from_utf8_lossy(&convert.stderr)
    );
    let installed = home.path().join("store/models/imp-3b.gguf");
    // It answers exactly as the local conversion does: the same tokens and
    // the same log-probabilities (the files differ only in general.name).
    let answer = |model: &std::path::Path| {
        let out = imp()
            .arg("ask")
            .arg("--model")
            .arg(model)
            .args([
                "--format",
                "json",
                "--logprobs",
                "3",
                "--max-tokens",
                "8",
                "--image",
            ])
            .arg(fixtures().join("images/photo.png"))
            .arg("What is in this picture?")
            .output()
            .unwrap();
        json_answer(&out).0
    };
    assert_eq!(answer(&installed), answer(&local));
    let list = imp()
        .args(["models", "list", "--store"])
        .arg(home.path().join("store"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains("imp-3b ("), "{listed}");
    assert!(listed.contains("verified"), "{listed}");

    // A flipped byte: the error names the checksum; nothing is installed.
    let (bad, _) = serve(
        "tiny-imp-384",
        "MILVLG/Imp-v1.5-3B-Phi2",
        Faults {
            flip_byte: true,
            ..Default::default()
        },
    );
    let home2 = tempfile::tempdir().unwrap();
    let out = models_download(&bad.endpoint(), home2.path(), "imp-3b", false);
    assert_clean_failure(&out, "SHA-256");
    assert!(!home2.path().join("store/models/imp-3b.gguf").exists());

    // Offline with nothing here: at once, without a request.
    let home3 = tempfile::tempdir().unwrap();
    let before = bad.log().len();
    let out = models_download(&bad.endpoint(), home3.path(), "imp-3b", true);
    assert_clean_failure(&out, "HF_HUB_OFFLINE");
    assert_eq!(bad.log().len(), before);
}

#[test]
fn a_hub_model_is_converted_once_then_used_from_the_store() {
    let hf_home = tempfile::tempdir().unwrap();
    let (server, repo) = serve("tiny-imp-196-msft", REPO, Faults::default());
    let first = ask_hub_with(&server.endpoint(), hf_home.path(), false, true);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("converting MILVLG/tiny-imp-196 to q4_k once"),
        "{stderr}"
    );
    let (tokens, _) = json_answer(&first);
    assert_eq!(tokens.len(), 4);

    // The second run loads the converted file: no conversion, no download.
    let downloads = ranges_for(&server, &repo, "model.safetensors").len();
    let second = ask_hub_with(&server.endpoint(), hf_home.path(), false, true);
    assert!(!String::from_utf8_lossy(&second.stderr).contains("converting"));
    assert_eq!(
        ranges_for(&server, &repo, "model.safetensors").len(),
        downloads
    );
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

/// Killed at random points of the download and the conversion (SIGKILL, as
/// a phone kills an app), `imp models download` run again and again finishes
/// with the very file an uninterrupted run installs, and no listing ever
/// shows a model that is not that file. The seed changes each run and is
/// printed; `IMP_KILL_SEED=N` replays one.
#[test]
fn killed_anywhere_then_resumed_installs_the_same_bytes() {
    let seed: u64 = std::env::var("IMP_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("IMP_KILL_SEED={seed}");
    let mut state = seed | 1;
    let mut next = move || {
        // xorshift64: enough to spread the kill points.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let slow = Faults {
        // About a second for the weights: most kills land in transfers, the
        // later ones in the conversion.
        bytes_per_second: Some(512 << 10),
        ..Default::default()
    };
    let (server, _) = serve("tiny-imp-384", "MILVLG/Imp-v1.5-3B-Phi2", slow);
    let clean = tempfile::tempdir().unwrap();
    let out = models_download(&server.endpoint(), clean.path(), "imp-3b", false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read(clean.path().join("store/models/imp-3b.gguf")).unwrap();

    let home = tempfile::tempdir().unwrap();
    let installed = home.path().join("store/models/imp-3b.gguf");
    let mut kills = 0;
    for attempt in 0..40 {
        let mut child = imp()
            .env("HF_ENDPOINT", server.endpoint())
            .env("HF_HOME", home.path())
            .env_remove("HF_HUB_OFFLINE")
            .args(["models", "download", "imp-3b", "--store"])
            .arg(home.path().join("store"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait_ms = next() % 400;
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        let finished = child.try_wait().unwrap();
        if finished.is_none() {
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
        }
        println!(
            "attempt {attempt}: {wait_ms} ms, {}",
            if finished.is_none() {
                "killed"
            } else {
                "ended"
            }
        );
        // Whatever the moment, a listed model is the whole file.
        if installed.exists() {
            assert_eq!(
                std::fs::read(&installed).unwrap(),
                expected,
                "attempt {attempt}"
            );
        }
        if finished.is_some_and(|s| s.success()) {
            break;
        }
    }
    assert!(kills >= 2, "only {kills} runs were killed (seed {seed})");
    // A last uninterrupted run completes whatever is left.
    let out = models_download(&server.endpoint(), home.path(), "imp-3b", false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&installed).unwrap(), expected, "seed {seed}");
}
