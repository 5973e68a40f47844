//! An installed model's manifest as a crash or another version may have
//! left it, beside a model file: listing the store and getting the model
//! describe it or report its problem, and removing it leaves the folder
//! clean.
#![no_main]

use imp_core_fuzz::{fresh_dir, write};
use imp_store::catalog::Catalog;
use imp_store::model_store::ModelStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = fresh_dir("manifest");
    let models = dir.join("models");
    std::fs::create_dir_all(&models).expect("scratch folder");
    write(&models, "m.json", data);
    write(&models, "m.gguf", b"GGUF\x03\0\0\0");
    let Ok(store) = ModelStore::open(&dir, Catalog::bundled()) else {
        return;
    };
    let _ = store.installed();
    if store.get("m").is_ok() {
        store
            .remove("m")
            .expect("an installed model can be removed");
        assert!(!models.join("m.json").exists());
    }
});
