//! Fuzz target: arbitrary bytes -> `config::load_from_bytes` with a fixed environment.
//!
//! Beyond "never panics", it checks the contract of the result: a valid config has at
//! least one site with unique names; a rejected one has at least one problem, each with a
//! non-empty message, and a problem without a key path stands alone (a whole-file problem
//! such as a YAML syntax error). Files named by the config are looked up under a directory
//! that does not exist, so relative `apiKeyFile`/`caFile` paths fail to read.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nbu_exporter::config::load_from_bytes;

fn env(name: &str) -> Option<String> {
    let value = match name {
        "NBU_HOST" => "nbu.example.com",
        "NBU_KEY" => "fuzz-secret-key",
        "NBU_PORT" => "1556",
        "EMPTY" => "",
        _ => return None,
    };
    Some(value.to_owned())
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/nonexistent-nbu-exporter-fuzz/config.yaml");
    match load_from_bytes(path, data, &env) {
        Ok(loaded) => {
            let sites = &loaded.config.sites;
            assert!(!sites.is_empty(), "a valid config has a site");
            for (i, site) in sites.iter().enumerate() {
                assert!(
                    sites[..i].iter().all(|s| s.name != site.name),
                    "duplicate site name accepted: {}",
                    site.name
                );
            }
            assert!(loaded.config.server.uri.starts_with('/'));
            assert!(loaded.config.server.collection_timeout <= loaded.config.server.collection_interval);
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "a rejected config names a problem");
            for p in &e.problems {
                assert!(!p.message.is_empty(), "empty message for key {:?}", p.key);
                if p.key.is_empty() {
                    assert_eq!(e.problems.len(), 1, "a keyless problem stands alone: {e}");
                }
            }
        }
    }
});
