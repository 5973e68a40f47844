//! Faults on the way to disk: a history save, an import, a download and a
//! conversion that fail half way through a write, as on a full disk. Each runs in a child
//! process with a file-size limit (RLIMIT_FSIZE: a write past it fails with
//! EFBIG, as one on a full disk fails with ENOSPC, after part of the file is
//! written), so no root and no small file system are needed, and the limit
//! binds only the child. Each must report the failure and leave what was
//! there before intact; the parent then checks the folder as the app would
//! find it, and that the same work succeeds once there is room.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::quantized::GgmlDType;
use common::*;
use imp_core::CancelToken;
use imp_store::catalog::Catalog;
use imp_store::history::{History, Turn, TurnTimings};
use imp_store::model_store::{DownloadSource, ImportMode, ModelStore};
use imp_tools::convert::{convert, ConvertOptions, QuantPolicy};

/// Room for the small files (a conversation, a manifest), none for a model
/// or a long answer.
const LIMIT: u64 = 64 << 10;

fn turn(answer: String) -> Turn {
    Turn {
        question: "What does the label say?".into(),
        answer,
        stop_reason: "eos".into(),
        asked_at_ms: 1_700_000_000_000,
        timings: TurnTimings::default(),
    }
}

/// Runs `scenario` in a child of this test binary under the size limit, and
/// returns what it printed; the child fails the parent if it panicked.
fn in_child(scenario: &str, dir: &Path, extra: &[(&str, String)]) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fault_child", "--nocapture", "--test-threads=1"])
        .env("IMP_FAULT_SCENARIO", scenario)
        .env("IMP_FAULT_DIR", dir)
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{scenario}: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The child's side: limit the file size (and keep the signal a write past
/// it raises from ending the process), then do the scenario's write.
#[test]
fn fault_child() {
    let Ok(scenario) = std::env::var("IMP_FAULT_SCENARIO") else {
        return;
    };
    let dir = PathBuf::from(std::env::var("IMP_FAULT_DIR").unwrap());
    let limit = libc::rlimit {
        rlim_cur: LIMIT,
        rlim_max: LIMIT,
    };
    // SAFETY: plain system calls on this process: a struct rlimit read in
    // place, and the default disposition of one signal replaced by "ignore".
    unsafe {
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let error = match scenario.as_str() {
        "history" => {
            let history = History::open(&dir, 1 << 30).unwrap();
            let id = std::env::var("IMP_FAULT_ID").unwrap();
            history
                .append_turn(&id, turn("x".repeat(1 << 20)))
                .err()
                .map(|e| e.to_string())
        }
        "import" => {
            let store = ModelStore::open(&dir, Catalog::bundled()).unwrap();
            let file = PathBuf::from(std::env::var("IMP_FAULT_FILE").unwrap());
            store
                .import_as(
                    &file,
                    "b",
                    ImportMode::Copy,
                    None,
                    &mut |_| {},
                    &CancelToken::new(),
                )
                .err()
                .map(|e| e.to_string())
        }
        "download" => {
            let store = ModelStore::open(&dir, Catalog::bundled()).unwrap();
            let source = DownloadSource::Url {
                url: std::env::var("IMP_FAULT_URL").unwrap(),
                sha256: None,
                size: None,
                id: Some("b".into()),
            };
            store
                .download(&source, &mut |_| {}, &CancelToken::new())
                .err()
                .map(|e| e.to_string())
        }
        "convert" => {
            let options = ConvertOptions {
                policy: QuantPolicy {
                    text: GgmlDType::F16,
                    vision: GgmlDType::F16,
                },
                name: "full disk".into(),
                llama_cpp: None,
            };
            let fixture =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-imp-wide");
            convert(&fixture, &dir.join("model.gguf"), &options, &mut |_, _| {})
                .err()
                .map(|e| e.to_string())
        }
        other => panic!("no scenario {other}"),
    };
    println!(
        "refused: {}",
        error.expect("the write past the limit succeeded")
    );
}

/// Files in `dir` (not recursive), sorted, locks aside.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_history_save_that_fails_half_way_keeps_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path(), 1 << 30).unwrap();
    let picture = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images/photo.png"),
    )
    .unwrap();
    let id = history.create("imp-3b", &picture).unwrap().id;
    for n in 0..2 {
        history
            .append_turn(&id, turn(format!("answer {n}")))
            .unwrap();
    }
    let before = history.load(&id).unwrap();
    let files = names(&dir.path().join(&id));

    let said = in_child("history", dir.path(), &[("IMP_FAULT_ID", id.clone())]);
    assert!(said.contains("refused: "), "{said}");

    assert_eq!(history.load(&id).unwrap(), before);
    assert_eq!(
        names(&dir.path().join(&id)),
        files,
        "a half-written file was left"
    );
    history.append_turn(&id, turn("x".repeat(1 << 20))).unwrap();
    assert_eq!(history.load(&id).unwrap().turns.len(), 3);
}

#[test]
fn an_import_that_fails_half_way_keeps_the_installed_models() {
    let dir = tempfile::tempdir().unwrap();
    let small = tiny_gguf(dir.path(), GgmlDType::Q4_0);
    let large = tiny_gguf(dir.path(), GgmlDType::F16);
    assert!(std::fs::metadata(&large).unwrap().len() > LIMIT);
    let store_dir = dir.path().join("store");
    let store = ModelStore::open(&store_dir, Catalog::bundled()).unwrap();
    store
        .import_as(
            &small,
            "a",
            ImportMode::Copy,
            None,
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap();
    let before = store.installed().unwrap();
    let files = names(&store_dir.join("models"));

    let file = large.display().to_string();
    let said = in_child("import", &store_dir, &[("IMP_FAULT_FILE", file)]);
    assert!(said.contains("refused: "), "{said}");

    assert_eq!(store.installed().unwrap(), before);
    assert_eq!(
        names(&store_dir.join("models")),
        files,
        "a half-copied model was left"
    );
    store
        .import_as(
            &large,
            "b",
            ImportMode::Copy,
            None,
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(store.installed().unwrap().len(), 2);
}

#[test]
fn a_download_that_fails_half_way_installs_nothing_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(tiny_gguf(dir.path(), GgmlDType::F16)).unwrap();
    assert!(bytes.len() as u64 > LIMIT);
    let server = Server::start();
    server.put("tiny.gguf", bytes.clone(), "t");
    let store_dir = dir.path().join("store");
    let store = ModelStore::open(&store_dir, Catalog::bundled()).unwrap();

    let url = server.url("/files/tiny.gguf");
    let said = in_child("download", &store_dir, &[("IMP_FAULT_URL", url.clone())]);
    assert!(said.contains("refused: "), "{said}");

    assert!(store.installed().unwrap().is_empty());
    assert!(names(&store_dir.join("models")).is_empty());
    let source = DownloadSource::Url {
        url,
        sha256: None,
        size: None,
        id: Some("b".into()),
    };
    let model = store
        .download(&source, &mut |_| {}, &CancelToken::new())
        .unwrap();
    assert_eq!(std::fs::read(&model.path).unwrap(), bytes);
    assert!(
        server.bytes_sent("/files/tiny.gguf") < 2 * bytes.len(),
        "the download started over instead of resuming"
    );
}

/// A conversion over a model already there (as `imp convert -o` again, or a
/// hub install converting once more) that fails half way: the model that
/// was there is untouched, byte for byte, and no part is left beside it.
#[test]
fn a_conversion_that_fails_half_way_keeps_the_model_that_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let there = tiny_gguf(dir.path(), GgmlDType::Q4_0);
    let model = dir.path().join("model.gguf");
    std::fs::rename(&there, &model).unwrap();
    let before = std::fs::read(&model).unwrap();

    let said = in_child("convert", dir.path(), &[]);
    assert!(said.contains("refused: "), "{said}");

    assert_eq!(std::fs::read(&model).unwrap(), before);
    assert_eq!(names(dir.path()), ["model.gguf"], "a part was left");
}
