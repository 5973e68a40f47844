//! The hub's answer listing a repository's files (names, sizes, checksums):
//! parsed or refused, and every file it yields has a name the store may
//! write under its folder.
#![no_main]

use imp_store::hub::RepoSnapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = RepoSnapshot::parse("someone/model", data) else {
        return;
    };
    for file in &snapshot.files {
        let path = std::path::Path::new(&file.name);
        assert!(
            path.components()
                .all(|c| matches!(c, std::path::Component::Normal(_))),
            "a listed file escapes its folder: {:?}",
            file.name
        );
    }
});
