//! Installed models: import (copied, moved, in place), verification finding a
//! damaged file, removal, and a model whose manifest a crash never wrote.

mod common;

use candle_core::quantized::GgmlDType;
use common::*;
use imp_core::CancelToken;
use imp_store::catalog::Catalog;
use imp_store::model_store::{ImportMode, ModelStore, Origin};
use imp_store::StoreError;

#[test]
fn imports_verify_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_gguf(dir.path(), GgmlDType::Q8_0);
    let bytes = std::fs::read(&file).unwrap();
    let sha = sha256_hex(&bytes);
    let store = ModelStore::open(&dir.path().join("store"), Catalog::bundled()).unwrap();
    let cancel = CancelToken::new();

    // A wrong expected checksum: refused, nothing left behind.
    let err = store
        .import(
            &file,
            ImportMode::Copy,
            Some(&"0".repeat(64)),
            &mut |_| {},
            &cancel,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::ChecksumMismatch { .. }), "{err}");
    assert!(store.installed().unwrap().is_empty());
    assert!(store.pending_downloads().unwrap().is_empty());

    let mut last = 0;
    let copied = store
        .import(
            &file,
            ImportMode::Copy,
            Some(&sha),
            &mut |p| last = p.done,
            &cancel,
        )
        .unwrap();
    assert_eq!(last, bytes.len() as u64);
    assert!(copied.verified);
    assert_eq!(copied.id, "tiny-Q8_0");
    assert_eq!(std::fs::read(&copied.path).unwrap(), bytes);
    assert!(file.exists(), "a copy leaves the original");
    assert_eq!(copied.info.as_ref().unwrap().weights_dtype, "q8_0");

    // In place: the store records it and never deletes it.
    let in_place = store
        .import_as(
            &file,
            "here",
            ImportMode::InPlace,
            None,
            &mut |_| {},
            &cancel,
        )
        .unwrap();
    assert_eq!(in_place.path, std::fs::canonicalize(&file).unwrap());
    assert!(!in_place.verified, "no checksum was vouched for");
    store.remove("here").unwrap();
    assert!(file.exists());

    // Verify finds a damaged copy; removing deletes it.
    assert!(store.verify("tiny-Q8_0", &mut |_| {}, &cancel).unwrap().ok);
    assert!(
        store.get("tiny-Q8_0").unwrap().verified,
        "still vouched for"
    );
    let mut damaged = bytes.clone();
    let last_byte = damaged.len() - 1;
    damaged[last_byte] ^= 0xff;
    std::fs::write(&copied.path, &damaged).unwrap();
    let check = store.verify("tiny-Q8_0", &mut |_| {}, &cancel).unwrap();
    assert!(!check.ok);
    assert_eq!(check.expected.as_deref(), Some(sha.as_str()));
    assert!(!store.get("tiny-Q8_0").unwrap().verified);
    store.remove("tiny-Q8_0").unwrap();
    assert!(!copied.path.exists());
    assert!(matches!(
        store.remove("tiny-Q8_0"),
        Err(StoreError::UnknownModel(_))
    ));

    // Not a model: refused by its header.
    let notes = dir.path().join("notes.gguf");
    std::fs::write(&notes, b"hello").unwrap();
    let err = store
        .import(&notes, ImportMode::Copy, None, &mut |_| {}, &cancel)
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidModel(_)), "{err}");
}

#[test]
fn a_converted_model_is_found_by_its_repo_and_a_lost_manifest_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_gguf(dir.path(), GgmlDType::F16);
    let store = ModelStore::open(&dir.path().join("store"), Catalog::bundled()).unwrap();
    let cancel = CancelToken::new();
    let model = store
        .install_converted(&file, "tiny-q4", "MILVLG/tiny-imp-wide", &cancel)
        .unwrap();
    assert!(!file.exists(), "moved, not copied");
    assert_eq!(
        model.origin,
        Origin::Converted {
            from: "MILVLG/tiny-imp-wide".into()
        }
    );
    assert_eq!(
        store
            .converted_from("MILVLG/tiny-imp-wide")
            .unwrap()
            .unwrap()
            .id,
        "tiny-q4"
    );
    assert!(store.converted_from("MILVLG/other").unwrap().is_none());

    // A crash right after the install rename: the file is there, its manifest
    // is not. Listing only reads; the next open adopts the file.
    std::fs::remove_file(dir.path().join("store/models/tiny-q4.json")).unwrap();
    assert!(store.installed().unwrap().is_empty());
    assert!(!dir.path().join("store/models/tiny-q4.json").exists());
    let store = ModelStore::open(&dir.path().join("store"), Catalog::bundled()).unwrap();
    let adopted = store.installed().unwrap();
    assert_eq!(adopted.len(), 1);
    assert_eq!(adopted[0].origin, Origin::Adopted);
    assert!(adopted[0].info.is_some());

    // A model whose file disappeared is listed with the reason, not hidden.
    std::fs::remove_file(&adopted[0].path).unwrap();
    let listed = store.installed().unwrap();
    assert_eq!(
        listed[0].problem.as_deref(),
        Some("the model file is missing")
    );
}

#[test]
fn listing_reads_a_file_again_only_when_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let file = tiny_gguf(dir.path(), GgmlDType::Q8_0);
    let store = ModelStore::open(&dir.path().join("store"), Catalog::bundled()).unwrap();
    let cancel = CancelToken::new();
    store
        .import(&file, ImportMode::InPlace, None, &mut |_| {}, &cancel)
        .unwrap();
    let before = store.installed().unwrap();
    assert_eq!(before[0].info.as_ref().unwrap().weights_dtype, "q8_0");
    let models = dir.path().join("store/models");
    let listing = |d: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let files = listing(&models);
    assert_eq!(store.installed().unwrap(), before);
    assert_eq!(listing(&models), files, "a listing wrote to the store");

    // The file used in place is replaced by another model: the listing says so.
    std::fs::create_dir_all(dir.path().join("other")).unwrap();
    let other = tiny_gguf(&dir.path().join("other"), GgmlDType::Q4K);
    std::fs::rename(&other, &file).unwrap();
    let after = store.installed().unwrap();
    assert_eq!(after[0].info.as_ref().unwrap().weights_dtype, "q4_k");

    // And a damaged one is reported, not served from what was read before.
    std::fs::write(&file, b"GGUF but no more").unwrap();
    let damaged = store.installed().unwrap();
    assert!(damaged[0].info.is_none());
    assert!(
        damaged[0].problem.as_deref().unwrap().contains("damaged"),
        "{damaged:?}"
    );
}
