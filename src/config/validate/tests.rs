//! Tests that span sections: whole files (syntax, emptiness, shapes, unknown keys), every
//! problem reported at once, defaults, the Go exporter's shipped config, secrets never
//! shown, the hash, the load error and summary texts, and odd input that must not panic.
//! Each section's own value checks are tested beside it.

use std::path::Path;
use std::time::Duration;

use log::LevelFilter;

use super::super::load_from_bytes;
use super::super::model::{Config, ReloadSettings, Scheme, Secret, ServerConfig, SiteConfig};
use super::test_support::{check, check_table, load_ok, test_env, Fixture, SENTINEL, SITE};
use super::{secs, FileData};
use crate::api_version::ApiVersion;
use crate::logging::LogFormat;

#[test]
fn bad_files_report_exact_problems() {
    let cases: &[(&str, &[&str])] = &[
        ("", &["config is empty (expected at least an nbuservers section)"]),
        ("# only a comment\n", &["config is empty (expected at least an nbuservers section)"]),
        (
            "server:\n  port: 2112\n  host: [a\n",
            &["invalid YAML at line 4 column 1: did not find expected ',' or ']', while parsing a flow sequence at line 3 column 9"],
        ),
        (
            "server:\n  port: 2112\n    host: a\n",
            &["invalid YAML at line 3 column 9: mapping values are not allowed in this context"],
        ),
        ("- a\n- b\n", &["expected a mapping of sections at the top level, got a list"]),
        ("server: [1]\nnbuservers: []\n", &["server: expected a mapping, got a list", "nbuservers: no NetBackup server configured; add at least one site under nbuservers"]),
        ("nbuservers: {site: paris}\n", &["nbuservers: expected a list of sites, got a mapping"]),
        ("nbuservers: [paris]\n", &["nbuservers[0]: expected a mapping, got a string"]),
        ("server: {colectionInterval: 5m}\n", &["server.colectionInterval: unknown key (did you mean `collectionInterval`?)"]),
        ("server: {banana: 1}\n", &["server.banana: unknown key"]),
        (
            "nbuserverz: []\n",
            &[
                "nbuserverz: unknown key (did you mean `nbuserver`?)",
                "nbuservers: no NetBackup server configured; add at least one site under nbuservers",
            ],
        ),
        (
            "nbuservers: [{site: paris, host: nbu, apikey: SENTINEL-abc123}]\n",
            &[
                "nbuservers[0].apikey: unknown key (did you mean `apiKey`?)",
                "nbuservers[0].apiKey: is required (or set apiKeyFile)",
            ],
        ),
        ("collectors: {alerts: {enable: true}}\n", &["collectors.alerts.enable: unknown key (did you mean `enabled`?)"]),
        ("collectors: {perClient: {allowList: [a]}}\n", &["collectors.perClient.allowList: unknown key (did you mean `allowlist`?)"]),
        ("opentelemetry: {sampling_rate: 0.1, exporter: x}\n", &["opentelemetry.sampling_rate: unknown key (did you mean `samplingRate`?)", "opentelemetry.exporter: unknown key"]),
        ("reload: {pollIntervall: 1m}\n", &["reload.pollIntervall: unknown key (did you mean `pollInterval`?)"]),
        ("true: 1\n", &["true: unknown key"]),
    ];
    check_table(cases);
}

#[test]
fn defaults() {
    let fx = Fixture::new();
    let loaded = load_ok(&fx, SITE);
    let want = Config {
        server: ServerConfig {
            host: "0.0.0.0".into(),
            port: 2112,
            uri: "/metrics".into(),
            scraping_interval: secs(3600),
            jobs_resync_interval: secs(3600),
            collection_interval: secs(300),
            collection_timeout: secs(120),
            log_name: None,
            log_level: LevelFilter::Info,
            log_format: LogFormat::Logfmt,
            enable_lifecycle: false,
            web_config_file: None,
            web: None,
        },
        reload: ReloadSettings {
            debounce: Duration::from_millis(200),
            poll_interval: Some(secs(30)),
        },
        sites: vec![SiteConfig {
            name: "paris".into(),
            scheme: Scheme::Https,
            host: "nbu.example.com".into(),
            port: 1556,
            uri: "/netbackup".into(),
            api_key: Secret::new(SENTINEL),
            api_key_file: None,
            api_version: None,
            insecure_skip_verify: false,
            ca_file: None,
            ca_pem: None,
            timeout: secs(30),
        }],
        collectors: Default::default(),
    };
    assert_eq!(loaded.config, want);
    assert!(loaded.warnings.is_empty());

    // A short collection interval bounds the default timeout; 0 disables polling.
    let yaml = format!(
            "server: {{collectionInterval: 30s, logName: stdout, logLevel: DEBUG, logFormat: JSON}}\nreload: {{pollInterval: 0}}\n{SITE}"
        );
    let c = load_ok(&fx, &yaml).config;
    assert_eq!(c.server.collection_timeout, secs(30));
    assert_eq!(c.server.log_name, None);
    assert_eq!(c.server.log_level, LevelFilter::Debug);
    assert_eq!(c.server.log_format, LogFormat::Json);
    assert_eq!(c.reload.poll_interval, None);
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let yaml = "\
server:
  port: 99999
  colectionInterval: 5m
  logLevel: loud
reload:
  debounce: 1m
nbuservers:
  - site: paris
    host: \"${NOPE}\"
    apiKey: SENTINEL-abc123
    port: abc
  - site: paris
    scheme: ftp
    apiKeyFile: missing.key
";
    let want = [
        "server.colectionInterval: unknown key (did you mean `collectionInterval`?)",
        "server.port: 99999 is out of range 0-65535",
        "server.logLevel: \"loud\" is not a log level (expected error, warn, info, debug or trace)",
        "reload.debounce: \"1m\" is too long (at most 10s)",
        "nbuservers[0].host: environment variable NOPE is not set",
        "nbuservers[0].port: \"abc\" is not a port number",
        "nbuservers[1].host: is required",
        "nbuservers[1].scheme: \"ftp\" is not a scheme (expected http or https)",
        "nbuservers[1].apiKeyFile: cannot read {dir}/missing.key: No such file or directory (os error 2)",
        "nbuservers[1].site: duplicate site name \"paris\" (already used by nbuservers[0])",
    ];
    assert_eq!(check(yaml, &want), None);

    let yaml = "\
nbuservers:
  - {site: a, host: h, apiKey: SENTINEL-abc123, apiVersion: \"9.9\", timeout: 0s}
  - {site: b, host: h, apiKey: SENTINEL-abc123, apiKeyFile: key.txt, caFile: bad.pem}
  - {site: \"\", host: h, apiKeyFile: empty.key, insecureSkipVerify: 2}
";
    let want = [
            "nbuservers[0].apiVersion: \"9.9\" is not supported (expected 14.0, 13.0, 12.0 or 10.0, or leave it empty to detect)",
            "nbuservers[0].timeout: \"0s\" must be greater than zero",
            "nbuservers[1]: set either apiKey or apiKeyFile, not both",
            "nbuservers[1].caFile: {dir}/bad.pem holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)",
            "nbuservers[2].site: \"\" is not a valid site name (1-64 characters from A-Z a-z 0-9 . _ : -)",
            "nbuservers[2].apiKeyFile: {dir}/empty.key is empty",
            "nbuservers[2].insecureSkipVerify: 2 is not a boolean (expected true or false)",
        ];
    assert_eq!(check(yaml, &want), None);
}

#[test]
fn go_exporter_shipped_config_loads_with_warnings() {
    let fx = Fixture::new();
    let yaml = r#"---
server:
    host: "localhost"
    port: "2112"
    uri: "/metrics"
    scrapingInterval: "1h"  # Changed from scrappingInterval (typo fix)
    logName: "log/nbu-exporter.log"
    cacheTTL: "5m"
nbuserver:
    scheme: "https"
    uri: "/netbackup"
    domain: "my.domain"
    domainType: "NT"
    host: "master.my.domain"
    port: "1556"
    apiVersion: "13.0"
    apiKey: "SENTINEL-abc123"
    contentType: "application/vnd.netbackup+json; version=13.0"
    insecureSkipVerify: "${SKIP}"
collectors:
    alerts:
        enabled: false
    perClient:
        enabled: true
        allowlist: ["client1", "client2"]
opentelemetry:
    enabled: false
    endpoint: "localhost:4317"
    insecure: true
    samplingRate: 0.1
"#;
    let loaded = load_ok(&fx, yaml);
    let inert = "accepted for compatibility with the Go exporter, but this build does not act on it yet";
    let deprecated = "deprecated and ignored (the Go exporter never used it either); remove it";
    let want: Vec<String> = vec![
            "server.cacheTTL: has no effect in this exporter (it sized the Go exporter's storage cache); remove it".into(),
            "nbuserver: deprecated; move it into the nbuservers list (with a site name)".into(),
            format!("nbuserver.domain: {deprecated}"),
            format!("nbuserver.domainType: {deprecated}"),
            format!("nbuserver.contentType: {deprecated}"),
            format!("opentelemetry.enabled: {inert}"),
            format!("opentelemetry.endpoint: {inert}"),
            format!("opentelemetry.insecure: {inert}"),
            format!("opentelemetry.samplingRate: {inert}"),
        ];
    assert_eq!(loaded.warnings, want);
    let c = &loaded.config;
    assert_eq!(c.server.host, "localhost");
    assert_eq!(c.server.port, 2112);
    assert_eq!(c.server.scraping_interval, secs(3600));
    assert_eq!(c.server.log_name, Some(fx.file("log/nbu-exporter.log")));
    let site = &c.sites[0];
    assert_eq!(c.sites.len(), 1);
    assert_eq!(site.name, "master.my.domain");
    assert_eq!(site.base_url(), "https://master.my.domain:1556/netbackup");
    assert_eq!(site.api_version, Some(ApiVersion::V13_0));
    assert_eq!(site.api_key.expose(), SENTINEL);
    assert!(site.insecure_skip_verify);
}

#[test]
fn the_sentinel_key_never_shows() {
    let fx = Fixture::new();
    let bad = [
            "nbuservers: [{site: paris, host: \"${NOPE}\", apiKey: SENTINEL-abc123, port: 0}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: \"SENTINEL-abc123${NOPE}\"}]\n",
            "nbuservers: [{site: paris, host: h, apikey: SENTINEL-abc123}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123, apiKeyFile: key.txt}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: [SENTINEL-abc123]}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: {SENTINEL-abc123: 1}}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123, apiKey: SENTINEL-abc123}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123}]\nserver: {port: \"${NBU_KEY}\"}\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123}]\nserver: {scrapingInterval: \"${NBU_KEY}\"}\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123, insecureSkipVerify: \"${NBU_KEY}\"}]\n",
        ];
    for yaml in bad {
        let e = fx.load(yaml).expect_err(yaml);
        let shown = format!("{e}\n{e:?}");
        assert!(!shown.contains(SENTINEL), "{yaml}\n{shown}");
    }
    let good = [
        SITE,
        "nbuservers: [{site: paris, host: h, apiKeyFile: key.txt, domain: SENTINEL-abc123}]\n",
        "nbuserver: {host: h, apiKey: \"${NBU_KEY}\"}\n",
    ];
    for yaml in good {
        let loaded = load_ok(&fx, yaml);
        assert_eq!(loaded.config.sites[0].api_key.expose(), SENTINEL);
        let shown = format!(
            "{loaded:?}\n{:?}\n{}",
            loaded.warnings,
            super::super::summary(&loaded)
        );
        assert!(!shown.contains(SENTINEL), "{yaml}\n{shown}");
    }
}

#[cfg(unix)]
#[test]
fn readable_secrets_are_warned_about() {
    use super::super::load;
    let fx = Fixture::new();
    let config = fx.file("config.yaml");
    let dir = fx.dir();

    fx.write("config.yaml", SITE, 0o644);
    let loaded = load(&config, &test_env).expect("loads");
    assert_eq!(
            loaded.warnings,
            [format!(
                "{dir}/config.yaml is readable by other users (mode 0644) and holds an API key; chmod o-r it (0640 with the service's group, or 0600)"
            )]
        );

    fx.write("config.yaml", SITE, 0o600);
    assert!(load(&config, &test_env).expect("loads").warnings.is_empty());

    let by_reference = "nbuservers: [{site: paris, host: nbu, apiKey: \"${NBU_KEY}\"}]\n";
    fx.write("config.yaml", by_reference, 0o644);
    assert!(load(&config, &test_env).expect("loads").warnings.is_empty());

    let open_key_file = "nbuservers: [{site: paris, host: nbu, apiKeyFile: open.key}]\n";
    fx.write("config.yaml", open_key_file, 0o644);
    assert_eq!(
            load(&config, &test_env).expect("loads").warnings,
            [format!(
                "nbuservers[0].apiKeyFile: {dir}/open.key is readable by other users (mode 0644); chmod o-r it (0640 with the service's group, or 0600)"
            )]
        );
}

#[test]
fn sha256_follows_the_config_and_its_files() {
    let fx = Fixture::new();
    let yaml = "nbuservers: [{site: paris, host: h, apiKeyFile: key.txt, caFile: ca.pem}]\n";
    let first = load_ok(&fx, yaml);
    assert_eq!(load_ok(&fx, yaml).sha256, first.sha256);
    assert_eq!(first.sha256_hex().len(), 64);
    assert_eq!(first.sha256_short(), first.sha256_hex()[..12]);

    fx.write("key.txt", "ROTATED\n", 0o600);
    let rotated = load_ok(&fx, yaml);
    assert_ne!(rotated.sha256, first.sha256);

    fx.write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIC\n", 0o644);
    assert_ne!(load_ok(&fx, yaml).sha256, rotated.sha256);

    let spaced = format!("{yaml}\n");
    assert_ne!(load_ok(&fx, &spaced).sha256, load_ok(&fx, yaml).sha256);
}

#[test]
fn load_error_and_summary_text() {
    let fx = Fixture::new();
    let e = fx
        .load("server: {port: 70000, banana: 1}\nnbuservers: []\n")
        .expect_err("invalid");
    let path = fx.file("config.yaml").display().to_string();
    assert_eq!(
            e.to_string(),
            format!(
                "{path}: server.banana: unknown key\n{path}: server.port: 70000 is out of range 0-65535\n{path}: nbuservers: no NetBackup server configured; add at least one site under nbuservers"
            )
        );
    let missing = fx.file("nope.yaml");
    let e = super::super::load(&missing, &test_env).expect_err("missing");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: cannot read: No such file or directory (os error 2)",
            missing.display()
        )
    );

    let yaml = "nbuservers:\n- {site: paris, host: a, apiKey: k}\n- {site: london, host: b, apiKey: k}\n";
    let loaded = load_ok(&fx, yaml);
    let want = format!(
        "config OK: 2 sites (paris, london), listening on 0.0.0.0:2112/metrics, sha256 {}",
        loaded.sha256_short()
    );
    assert_eq!(super::super::summary(&loaded), want);
    let yaml = "server: {host: \"::\", cacheTTL: 5m}\nnbuservers: [{site: paris, host: a, apiKey: k}]\n";
    let line = super::super::summary(&load_ok(&fx, yaml));
    assert!(line.starts_with("config OK: 1 site (paris), listening on [::]:2112/metrics, sha256 "));
    assert!(line.ends_with(", 1 warning"), "{line}");
}

#[test]
fn summary_counts_several_warnings() {
    let fx = Fixture::new();
    let yaml = "server: {cacheTTL: 5m}\nnbuservers: [{site: paris, host: h, apiKey: k, domain: d}]\n";
    let line = super::super::summary(&load_ok(&fx, yaml));
    assert!(line.ends_with(", 2 warnings"), "{line}");
}

#[test]
fn the_example_config_loads() {
    let fx = Fixture::new();
    let example = include_str!("../../../config.example.yaml").replace(
        "/etc/nbu-exporter/london.key",
        &fx.file("key.txt").display().to_string(),
    );
    let loaded = load_ok(&fx, &example);
    let names: Vec<&str> = loaded.config.sites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["paris", "london"]);
    assert!(loaded.config.sites.iter().all(|s| s.api_key.expose() == SENTINEL));
    assert_eq!(loaded.warnings, Vec::<String>::new());
}

#[test]
fn a_config_path_without_a_directory_resolves_against_the_current_one() {
    let yaml = "nbuservers: [{site: paris, host: nbu, apiKeyFile: no-such.key}]\n";
    let e = load_from_bytes(Path::new("config.yaml"), yaml.as_bytes(), &test_env).expect_err("no key file");
    assert_eq!(e.problems.len(), 1);
    assert!(
        e.problems[0]
            .to_string()
            .starts_with("nbuservers[0].apiKeyFile: cannot read ./no-such.key: "),
        "{e}"
    );
}

#[test]
fn file_data_debug_shows_only_the_length() {
    let data = FileData {
        bytes: SENTINEL.as_bytes().to_vec(),
        mode: Some(0o600),
    };
    assert_eq!(
        format!("{data:?}"),
        "FileData { bytes: <15 bytes>, mode: Some(384) }"
    );
}

#[test]
fn never_panics_on_odd_input() {
    let fx = Fixture::new();
    let path = fx.file("config.yaml");
    let mut inputs: Vec<Vec<u8>> = vec![
            "[".repeat(100_000).into_bytes(),
            "{a: ".repeat(10_000).into_bytes(),
            (0..2000).map(|i| format!("{}a:\n", " ".repeat(i))).collect::<String>().into_bytes(),
            format!("nbuservers: {}", "[".repeat(5000)).into_bytes(),
            b"a: &a [*a]\n".to_vec(),
            b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n".to_vec(),
            b"\xff\xfe\x00garbage".to_vec(),
            b"nbuservers: [{<<: 1}]\n".to_vec(),
            b"server: !!binary aGVsbG8=\n".to_vec(),
            b"? !t {a: 1}\n: 2\n".to_vec(),
            format!("nbuservers: [{{site: \"{}\", host: h, apiKey: k}}]\n", "\u{1F600}".repeat(100)).into_bytes(),
        ];
    // A small deterministic generator of YAML-ish noise.
    let pieces: &[&str] = &[
        "server",
        "nbuservers",
        "nbuserver",
        ":",
        " ",
        "\n",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "port",
        "host",
        "apiKey",
        "site",
        "\"",
        "'",
        "${",
        "NBU_KEY",
        "}",
        "$$",
        "1556",
        "70000",
        "-1",
        "5m",
        "0s",
        "&a ",
        "*a",
        "!!str ",
        "<<: ",
        "#",
        "\t",
        "~",
        "1e999",
        "reload",
        "debounce",
        "collectors",
        "alerts",
        "enabled",
        "true",
        "caFile",
        "..",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..1500 {
        let len = (next() % 40) as usize;
        let mut text = String::new();
        for _ in 0..len {
            text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
        }
        inputs.push(text.into_bytes());
    }
    for input in &inputs {
        let _ = load_from_bytes(&path, input, &test_env);
    }
}
