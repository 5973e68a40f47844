//! Downloads against a loopback server that counts what it sends: progress,
//! resuming without re-sending, a file changed between attempts, checksum
//! mismatch, redirects, stalls and cancels, a full disk, transient failures.

mod common;

use candle_core::quantized::GgmlDType;
use common::*;
use imp_core::CancelToken;
use imp_store::catalog::Catalog;
use imp_store::download::{DownloadOptions, TransferProgress};
use imp_store::model_store::{DownloadSource, ModelStore};
use imp_store::StoreError;
use std::path::Path;
use std::time::{Duration, Instant};

struct Setup {
    server: Server,
    _dir: tempfile::TempDir,
    store_dir: std::path::PathBuf,
    /// Two different valid model files.
    a: Vec<u8>,
    b: Vec<u8>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let a = std::fs::read(tiny_gguf(dir.path(), GgmlDType::Q8_0)).unwrap();
    let b = std::fs::read(tiny_gguf(dir.path(), GgmlDType::F16)).unwrap();
    assert_ne!(a, b);
    let server = Server::start();
    server.put("tiny.gguf", a.clone(), "a");
    Setup {
        server,
        store_dir: dir.path().join("store"),
        _dir: dir,
        a,
        b,
    }
}

/// A catalogue whose first entry publishes `bytes` at `url`.
fn catalog_with(url: &str, bytes: &[u8], sha: Option<&str>) -> Catalog {
    let mut catalog = Catalog::bundled();
    let file = format!(
        r#"{{"file_name": "tiny.gguf", "url": "{url}", "size_bytes": {}, "sha256": "{}", "quantization": "q8_0"}}"#,
        bytes.len(),
        sha.map_or_else(|| sha256_hex(bytes), str::to_string)
    );
    let json = catalog
        .to_json()
        .replacen("\"files\": []", &format!("\"files\": [{file}]"), 1);
    catalog = Catalog::from_json(&json).unwrap();
    catalog
}

fn quick() -> DownloadOptions {
    DownloadOptions {
        backoff: Duration::from_millis(10),
        stall_timeout: Duration::from_secs(2),
        space_margin: 0,
        ..Default::default()
    }
}

fn store(s: &Setup, catalog: Catalog, options: DownloadOptions) -> ModelStore {
    ModelStore::open(&s.store_dir, catalog)
        .unwrap()
        .with_download_options(options)
}

fn first_entry() -> DownloadSource {
    DownloadSource::Catalog {
        id: Catalog::bundled().models[0].id.clone(),
        quantization: None,
    }
}

fn url_source(url: String) -> DownloadSource {
    DownloadSource::Url {
        url,
        sha256: None,
        size: None,
        id: Some("tiny".into()),
    }
}

/// Partial files and their resume records (lock files stay, empty).
fn partials(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("downloads"))
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".lock")
        })
        .count()
}

#[test]
fn a_catalogue_model_downloads_with_progress_and_is_verified() {
    let s = setup();
    let store = store(
        &s,
        catalog_with(&s.server.url("/files/tiny.gguf"), &s.a, None),
        quick(),
    );
    let mut seen: Vec<TransferProgress> = Vec::new();
    let model = store
        .download(&first_entry(), &mut |p| seen.push(p), &CancelToken::new())
        .unwrap();
    assert!(model.verified);
    assert_eq!(
        model.catalog_id.as_deref(),
        Some(Catalog::bundled().models[0].id.as_str())
    );
    assert_eq!(std::fs::read(&model.path).unwrap(), s.a);
    assert!(model.info.is_some() && model.problem.is_none());
    assert!(seen.windows(2).all(|w| w[0].done <= w[1].done));
    assert_eq!(seen.last().unwrap().done, s.a.len() as u64);
    assert!(seen.iter().all(|p| p.total == Some(s.a.len() as u64)));
    assert_eq!(store.installed().unwrap(), vec![model]);
    assert_eq!(partials(&s.store_dir), 0);
}

#[test]
fn an_interrupted_download_resumes_without_resending_what_arrived() {
    let s = setup();
    let half = s.a.len() / 2;
    s.server.behave(Behaviour {
        cut_after: Some(half),
        ..Default::default()
    });
    let no_retry = DownloadOptions {
        retries: 0,
        ..quick()
    };
    let store1 = store(&s, Catalog::bundled(), no_retry);
    let url = s.server.url("/files/tiny.gguf");
    let err = store1
        .download(&url_source(url.clone()), &mut |_| {}, &CancelToken::new())
        .unwrap_err();
    assert!(matches!(err, StoreError::Network { .. }), "{err}");
    assert_eq!(store1.pending_downloads().unwrap()[0].done, half as u64);

    // A new store, as after the app was killed: it resumes from the partial file.
    let store2 = store(&s, Catalog::bundled(), quick());
    let model = store2
        .download(&url_source(url), &mut |_| {}, &CancelToken::new())
        .unwrap();
    assert_eq!(std::fs::read(&model.path).unwrap(), s.a);
    let log = s.server.log();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].range.as_deref(),
        Some(format!("bytes={half}-").as_str())
    );
    assert_eq!(log[1].if_range.as_deref(), Some("\"a\""));
    assert_eq!(
        s.server.bytes_sent("/files/tiny.gguf"),
        s.a.len(),
        "no byte sent twice"
    );
    assert!(!model.verified, "no checksum was given");
    assert_eq!(model.sha256.as_deref(), Some(sha256_hex(&s.a).as_str()));
}

#[test]
fn transient_failures_are_retried_within_one_call() {
    let s = setup();
    s.server.behave(Behaviour {
        fail_first: 2,
        ..Default::default()
    });
    let store = store(&s, Catalog::bundled(), quick());
    let url = s.server.url("/files/tiny.gguf");
    store
        .download(&url_source(url.clone()), &mut |_| {}, &CancelToken::new())
        .unwrap();
    assert_eq!(s.server.log().iter().filter(|l| l.status == 503).count(), 2);

    // A cut mid-file inside one call: resumed at once, nothing sent twice.
    store.remove("tiny").unwrap();
    let before = s.server.bytes_sent("/files/tiny.gguf");
    s.server.behave(Behaviour {
        cut_after: Some(1000),
        ..Default::default()
    });
    store
        .download(&url_source(url), &mut |_| {}, &CancelToken::new())
        .unwrap();
    assert_eq!(s.server.bytes_sent("/files/tiny.gguf") - before, s.a.len());
}

#[test]
fn a_file_changed_on_the_server_restarts_instead_of_splicing() {
    for ignore_if_range in [false, true] {
        let s = setup();
        s.server.behave(Behaviour {
            cut_after: Some(s.a.len() / 2),
            ignore_if_range,
            ..Default::default()
        });
        let no_retry = DownloadOptions {
            retries: 0,
            ..quick()
        };
        let url = s.server.url("/files/tiny.gguf");
        let first = store(&s, Catalog::bundled(), no_retry);
        assert!(first
            .download(&url_source(url.clone()), &mut |_| {}, &CancelToken::new())
            .is_err());
        s.server.put("tiny.gguf", s.b.clone(), "b");
        let model = store(&s, Catalog::bundled(), quick())
            .download(&url_source(url), &mut |_| {}, &CancelToken::new())
            .unwrap();
        assert_eq!(
            std::fs::read(&model.path).unwrap(),
            s.b,
            "ignore_if_range {ignore_if_range}"
        );
        assert_eq!(model.sha256.as_deref(), Some(sha256_hex(&s.b).as_str()));
    }
}

#[test]
fn a_checksum_mismatch_installs_nothing_and_leaves_nothing() {
    let s = setup();
    let wrong = "f".repeat(64);
    let store = store(
        &s,
        catalog_with(&s.server.url("/files/tiny.gguf"), &s.a, Some(&wrong)),
        quick(),
    );
    let err = store
        .download(&first_entry(), &mut |_| {}, &CancelToken::new())
        .unwrap_err();
    match &err {
        StoreError::ChecksumMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &sha256_hex(&s.a));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("discarded"), "{err}");
    assert!(store.installed().unwrap().is_empty());
    assert_eq!(partials(&s.store_dir), 0);
}

#[test]
fn redirects_are_followed_also_when_resuming() {
    let s = setup();
    s.server.behave(Behaviour {
        cut_after: Some(2000),
        ..Default::default()
    });
    let store = store(&s, Catalog::bundled(), quick());
    let model = store
        .download(
            &url_source(s.server.url("/redirect/tiny.gguf")),
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(std::fs::read(&model.path).unwrap(), s.a);
    let files: Vec<_> = s
        .server
        .log()
        .into_iter()
        .filter(|l| l.path == "/files/tiny.gguf")
        .collect();
    assert_eq!(files.len(), 2);
    assert_eq!(files[1].range.as_deref(), Some("bytes=2000-"));
}

#[test]
fn a_stalled_server_is_given_up_on_and_a_cancel_stops_at_once() {
    let s = setup();
    s.server.behave(Behaviour {
        stall_at: Some(3000),
        ..Default::default()
    });
    let url = s.server.url("/files/tiny.gguf");
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            cancel.cancel();
        })
    };
    let started = Instant::now();
    let store1 = store(&s, Catalog::bundled(), quick());
    let err = store1
        .download(&url_source(url.clone()), &mut |_| {}, &cancel)
        .unwrap_err();
    canceller.join().unwrap();
    assert!(matches!(err, StoreError::Cancelled), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        store1.pending_downloads().unwrap()[0].done,
        3000,
        "kept for later"
    );

    // Without a cancel, the stall times out (2 s here) and each retry hangs
    // at the same byte: a clear network error once the retries are spent.
    let store2 = store(
        &s,
        Catalog::bundled(),
        DownloadOptions {
            retries: 1,
            ..quick()
        },
    );
    let err = store2
        .download(&url_source(url), &mut |_| {}, &CancelToken::new())
        .unwrap_err();
    assert!(err.to_string().contains("stopped sending"), "{err}");
}

#[test]
fn not_enough_space_is_said_before_a_byte_is_written() {
    let s = setup();
    let full_disk = |store: ModelStore| store.with_free_space_probe(Box::new(|_| Ok(1 << 10)));
    // Size known from the catalogue: refused before connecting.
    let store1 = full_disk(store(
        &s,
        catalog_with(&s.server.url("/files/tiny.gguf"), &s.a, None),
        quick(),
    ));
    let err = store1
        .download(&first_entry(), &mut |_| {}, &CancelToken::new())
        .unwrap_err();
    assert!(matches!(err, StoreError::InsufficientSpace { .. }), "{err}");
    assert!(s.server.log().is_empty());
    assert_eq!(partials(&s.store_dir), 0);
    // Size learnt from the response: refused before the body is written.
    let err = store1
        .download(
            &url_source(s.server.url("/files/tiny.gguf")),
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::InsufficientSpace { .. }), "{err}");
    assert!(!s.store_dir.join("downloads/tiny.gguf.partial").exists());
}

#[test]
fn errors_that_retrying_cannot_fix_are_reported_at_once() {
    let s = setup();
    let store = store(&s, Catalog::bundled(), quick());
    let err = store
        .download(
            &url_source(s.server.url("/files/missing.gguf")),
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Http { status: 404, .. }), "{err}");
    assert_eq!(s.server.log().len(), 1);
    // Not a model: refused after download, nothing installed.
    s.server
        .put("notes.gguf", b"GGUF but not really".to_vec(), "n");
    let err = store
        .download(
            &url_source(s.server.url("/files/notes.gguf")),
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidModel(_)), "{err}");
    assert!(store.installed().unwrap().is_empty());
    assert_eq!(partials(&s.store_dir), 0);
    // An unpublished catalogue entry says, in words, how it is had instead.
    let err = store
        .download(&first_entry(), &mut |_| {}, &CancelToken::new())
        .unwrap_err();
    assert!(err.to_string().contains("Hugging Face hub"), "{err}");
}
