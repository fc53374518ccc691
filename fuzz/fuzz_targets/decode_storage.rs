//! Fuzz target: arbitrary bytes -> `nbu::decode_storage_page`. It must never panic; an
//! accepted page keeps one unit per record it counted.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nbu_exporter::nbu::decode_storage_page;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = decode_storage_page(data) {
        assert_eq!(page.units.len(), page.returned, "one unit per returned record");
    }
});
