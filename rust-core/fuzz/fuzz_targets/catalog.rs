//! The model catalogue, as a phone fetches it: parsed, every entry's file,
//! instructions and fit on a small and a large phone, written back and read
//! again unchanged.
#![no_main]

use imp_store::catalog::Catalog;
use imp_store::device_fit::{entry_fit, DeviceProfile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalog) = Catalog::from_json(text) else {
        return;
    };
    for entry in &catalog.models {
        let _ = entry.file(None);
        let _ = entry.file(Some("q4_k"));
        let _ = entry.how_to_get();
        for (ram, storage) in [(3u64 << 30, 1u64 << 30), (16 << 30, 256 << 30)] {
            let device = DeviceProfile {
                total_ram_bytes: ram,
                available_ram_bytes: Some(ram / 2),
                free_storage_bytes: storage,
            };
            let _ = entry_fit(entry, false, &device);
            let _ = entry_fit(entry, true, &device);
        }
    }
    let again = Catalog::from_json(&catalog.to_json()).expect("a catalogue reads back");
    assert_eq!(again, catalog);
});
