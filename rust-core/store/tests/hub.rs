//! A model from the hub, end to end against the hub-shaped loopback server
//! (`imp-test-hub`) serving a tiny checkpoint in the real sharded layout: the
//! installed file is byte for byte what `imp convert --quant q4_k` writes,
//! through every fault a real network and a hostile server produce.

use imp_core::CancelToken;
use imp_store::catalog::Catalog;
use imp_store::download::DownloadOptions;
use imp_store::hub::{CheckpointCache, HubEndpoint};
use imp_store::model_store::{HubSettings, InstallProgress, InstallStage, ModelStore, Origin};
use imp_store::StoreError;
use imp_test_hub::{Faults, HubServer, Repo};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The catalogue entry whose repository the server serves.
const ENTRY: &str = "imp-3b";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-imp-384")
}

struct Hub {
    server: HubServer,
    repo: Repo,
    dir: tempfile::TempDir,
}

fn hub() -> Hub {
    let server = HubServer::start();
    let repo = Repo::from_dir(&fixture()).unwrap();
    let id = Catalog::bundled().entry(ENTRY).unwrap().source.repo.clone();
    server.add(&id, repo.clone());
    Hub {
        server,
        repo,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Hub {
    fn repo_bytes(&self) -> usize {
        self.repo.files.values().map(Vec::len).sum()
    }

    fn store(&self, offline: bool) -> ModelStore {
        let store_dir = self.dir.path().join("store");
        let store = ModelStore::open(&store_dir, Catalog::bundled()).unwrap();
        let options = DownloadOptions {
            backoff: Duration::from_millis(10),
            stall_timeout: Duration::from_secs(3),
            space_margin: 0,
            ..Default::default()
        };
        store.with_download_options(options).with_hub(HubSettings {
            endpoint: Some(HubEndpoint::new(&self.server.endpoint(), offline).unwrap()),
            cache: CheckpointCache::new(store_dir.join("hub")),
            keep_checkpoints: false,
        })
    }

    fn install(
        &self,
        store: &ModelStore,
    ) -> (
        Result<imp_store::model_store::InstalledModel, StoreError>,
        Vec<InstallProgress>,
    ) {
        let mut seen = Vec::new();
        let model = store.hub_model(ENTRY).unwrap();
        let result = store.install_from_hub(&model, &mut |p| seen.push(p), &CancelToken::new());
        (result, seen)
    }
}

/// What `imp convert --quant q4_k` makes of the fixture.
fn converted_locally() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("local.gguf");
    let repo = Catalog::bundled().entry(ENTRY).unwrap().source.repo.clone();
    imp_tools::convert::convert(
        &fixture(),
        &out,
        &imp_store::model_store::hub_conversion(&repo),
        &mut |_, _| {},
    )
    .unwrap();
    std::fs::read(out).unwrap()
}

#[test]
fn a_dropped_transfer_resumes_and_installs_what_imp_convert_writes() {
    let h = hub();
    h.server.faults(Faults {
        drop_mid_file: 1,
        ..Default::default()
    });
    let store = h.store(false);
    let (model, seen) = h.install(&store);
    let model = model.unwrap();
    assert_eq!(std::fs::read(&model.path).unwrap(), converted_locally());
    assert!(model.verified && model.problem.is_none());
    assert_eq!(model.catalog_id.as_deref(), Some(ENTRY));
    assert!(
        matches!(&model.origin, Origin::Hub { commit, revision, .. } if *commit == h.repo.commit && revision == "main"),
        "{:?}",
        model.origin
    );
    let sent = h.server.bytes_sent();
    assert!(
        sent as f64 <= 1.5 * h.repo_bytes() as f64,
        "{sent} bytes sent for a {} byte repository",
        h.repo_bytes()
    );
    // One figure that only goes forward, through every stage, to 1.
    assert!(seen.windows(2).all(|w| w[0].fraction <= w[1].fraction));
    for stage in [
        InstallStage::Downloading,
        InstallStage::Converting,
        InstallStage::Verifying,
    ] {
        assert!(seen.iter().any(|p| p.stage == stage), "{stage:?}");
    }
    assert_eq!(seen.last().unwrap().fraction, 1.0);
    // The float checkpoint is gone from the phone; the model is listed once.
    assert!(!store
        .hub_settings()
        .cache
        .repo_dir(&store.hub_model(ENTRY).unwrap().repo)
        .exists());
    assert_eq!(store.installed().unwrap(), vec![model.clone()]);
    // Asked again, it is there: nothing more is fetched.
    let before = h.server.log().len();
    assert_eq!(h.install(&store).0.unwrap(), model);
    assert_eq!(h.server.log().len(), before);
}

#[test]
fn a_flipped_byte_names_the_checksum_and_installs_nothing() {
    let h = hub();
    h.server.faults(Faults {
        flip_byte: true,
        ..Default::default()
    });
    let store = h.store(false);
    let err = h.install(&store).0.unwrap_err();
    assert!(matches!(err, StoreError::ChecksumMismatch { .. }), "{err}");
    assert!(err.to_string().contains("SHA-256"), "{err}");
    assert!(store.installed().unwrap().is_empty());
    assert!(store.pending_downloads().unwrap().is_empty());
}

#[test]
fn offline_with_nothing_here_fails_at_once_without_a_request() {
    let h = hub();
    let store = h.store(true);
    let err = h.install(&store).0.unwrap_err();
    assert!(matches!(err, StoreError::Offline(_)), "{err}");
    assert!(err.to_string().contains("HF_HUB_OFFLINE"), "{err}");
    assert!(h.server.log().is_empty());
}

#[test]
fn real_network_faults_are_ridden_out_in_one_call() {
    let h = hub();
    h.server.faults(Faults {
        unavailable: 2,
        ignore_range: 1,
        drop_mid_file: 2,
        // Above the 500 ms that once made slow servers unreachable.
        first_byte_delay: Duration::from_millis(800),
        ..Default::default()
    });
    let store = h.store(false);
    let model = h.install(&store).0.unwrap();
    assert_eq!(std::fs::read(&model.path).unwrap(), converted_locally());
}

#[test]
fn more_bytes_than_announced_are_cut_off_at_the_announced_size() {
    let h = hub();
    h.server.faults(Faults {
        extra_bytes: 4 << 20,
        ..Default::default()
    });
    let store = h.store(false);
    let model = h.install(&store).0.unwrap();
    assert_eq!(std::fs::read(&model.path).unwrap(), converted_locally());
    let cdn_bytes: usize = h
        .server
        .log()
        .iter()
        .filter(|s| s.path.starts_with("/cdn/"))
        .map(|s| s.body_bytes)
        .sum();
    let weights: usize = h
        .repo
        .files
        .iter()
        .filter(|(n, _)| imp_test_hub::is_lfs(n))
        .map(|(_, b)| b.len())
        .sum();
    // The server may have pushed more into the socket; we kept what was announced.
    assert!(cdn_bytes >= weights);
}

#[test]
fn a_redirect_to_plain_http_elsewhere_is_refused() {
    let h = hub();
    h.server.faults(Faults {
        cdn_base: Some("http://cdn.example.org".into()),
        ..Default::default()
    });
    let store = h.store(false);
    let err = h.install(&store).0.unwrap_err();
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    assert!(store.installed().unwrap().is_empty());
}

#[test]
fn a_gated_or_missing_repository_says_so() {
    let h = hub();
    let store = h.store(false);
    let mut model = store.hub_model(ENTRY).unwrap();
    model.repo = "MILVLG/no-such-model".into();
    let err = store
        .install_from_hub(&model, &mut |_| {}, &CancelToken::new())
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownModel(_)), "{err}");
    assert!(err.to_string().contains("no such repository"), "{err}");
    let mut gated = h.repo.clone();
    gated.gated = true;
    h.server.add("MILVLG/gated", gated);
    model.repo = "MILVLG/gated".into();
    let err = store
        .install_from_hub(&model, &mut |_| {}, &CancelToken::new())
        .unwrap_err();
    assert!(err.to_string().contains("gated or private"), "{err}");
}

#[test]
fn not_enough_room_for_checkpoint_and_model_is_said_before_the_weights() {
    let h = hub();
    let store = h
        .store(false)
        .with_free_space_probe(Box::new(|_| Ok(64 << 10)));
    let err = h.install(&store).0.unwrap_err();
    assert!(matches!(err, StoreError::InsufficientSpace { .. }), "{err}");
    assert!(h.server.log().iter().all(|s| !s.path.starts_with("/cdn/")));
}

/// "Add a model" with what a person pastes: the repository's page installs
/// the catalogue model it is; a `.gguf`'s page downloads that file, checked
/// against the checksum given, and a wrong checksum installs nothing.
#[test]
fn add_a_model_by_the_links_a_person_pastes() {
    let h = hub();
    let file = converted_locally();
    let sha = imp_test_hub::sha256(&file);
    let files = [("q4/imp-tiny.gguf".to_string(), file.clone())].into();
    h.server.add("someone/imp-gguf", Repo::from_files(files));
    let store = h.store(false);
    let add = |text: &str, sha256: Option<&str>| {
        let address = store.model_address(text, sha256)?;
        store.add(&address, &mut |_| {}, &CancelToken::new())
    };
    let page = format!(
        "{}/someone/imp-gguf/blob/main/q4/imp-tiny.gguf",
        h.server.endpoint()
    );

    let wrong = "0".repeat(64);
    let err = add(&page, Some(&wrong)).unwrap_err();
    assert!(matches!(err, StoreError::ChecksumMismatch { .. }), "{err}");
    assert!(store.installed().unwrap().is_empty());

    let model = add(&page, Some(&sha.to_uppercase())).unwrap();
    assert_eq!(model.id, "imp-tiny");
    assert!(model.verified);
    assert_eq!(std::fs::read(&model.path).unwrap(), file);

    let repo_page = format!(
        "{}/{}",
        h.server.endpoint(),
        store.hub_model(ENTRY).unwrap().repo
    );
    let converted = add(&repo_page, None).unwrap();
    assert_eq!(converted.catalog_id.as_deref(), Some(ENTRY));
    assert_eq!(std::fs::read(&converted.path).unwrap(), file);
    assert_eq!(store.installed().unwrap().len(), 2);
}
