//! Loading a 50-site config from bytes: YAML parsing, `${VAR}` expansion, validation and
//! hashing, as the reload worker does on every change. No files are read (inline keys).

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use nbu_exporter::config::load_from_bytes;

fn fifty_sites() -> String {
    let mut yaml = String::from(
        "server:\n  port: 2112\n  collectionInterval: 5m\n  logLevel: info\nreload:\n  debounce: 200ms\nnbuservers:\n",
    );
    for i in 0..50 {
        yaml.push_str(&format!(
            "  - site: site-{i:02}\n    host: \"nbu-{i:02}.${{NBU_DOMAIN}}\"\n    port: \"1556\"\n    \
             apiKey: \"${{NBU_KEY_{i:02}}}\"\n    apiVersion: \"13.0\"\n    insecureSkipVerify: false\n    \
             timeout: 30s\n"
        ));
    }
    yaml
}

fn env(name: &str) -> Option<String> {
    match name {
        "NBU_DOMAIN" => Some("example.com".to_owned()),
        key if key.starts_with("NBU_KEY_") => Some(format!("key-for-{key}")),
        _ => None,
    }
}

fn bench(c: &mut Criterion) {
    let yaml = fifty_sites();
    let path = Path::new("/etc/nbu-exporter/config.yaml");
    match load_from_bytes(path, yaml.as_bytes(), &env) {
        Ok(loaded) => assert_eq!(loaded.config.sites.len(), 50),
        Err(e) => panic!("the generated config must be valid:\n{e}"),
    }
    c.bench_function("load_from_bytes 50 sites", |b| {
        b.iter(|| load_from_bytes(path, black_box(yaml.as_bytes()), &env))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
