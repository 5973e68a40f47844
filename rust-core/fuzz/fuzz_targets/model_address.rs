//! What a person pastes into "Add a model" (a repository id, a hub page, a
//! link to a .gguf) with an optional checksum, against the public hub and a
//! private one: read as an address or refused with a reason, never more.
#![no_main]

use imp_core_fuzz::{parts, PART};
use imp_store::hub::HubEndpoint;
use imp_store::model_store::ModelAddress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [text, sha] = parts(data, 2)[..] else {
        return;
    };
    let (Ok(text), Ok(sha)) = (std::str::from_utf8(text), std::str::from_utf8(sha)) else {
        return;
    };
    let sha = data.windows(PART.len()).any(|w| w == PART).then_some(sha);
    let private = HubEndpoint::new("https://hub.example.org", true).expect("a valid endpoint");
    for hub in [None, Some(&private)] {
        if let Ok(ModelAddress::HubRepo { repo, .. }) = ModelAddress::parse(text, sha, hub) {
            imp_store::hub::check_repo_id(&repo).expect("a parsed repository id is valid");
        }
    }
});
