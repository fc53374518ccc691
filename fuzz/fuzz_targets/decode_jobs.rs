//! Fuzz target: arbitrary bytes -> `nbu::decode_jobs_page`. It must never panic; an
//! accepted page's cursor is either absent or not blank.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nbu_exporter::nbu::decode_jobs_page;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = decode_jobs_page(data) {
        if let Some(next) = &page.next {
            assert!(!next.trim().is_empty(), "blank cursor {next:?}");
        }
    }
});
