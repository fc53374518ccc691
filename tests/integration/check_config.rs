//! `nbu-exporter check-config` run as a real process: exit 0 with a one-line summary for a
//! valid file, exit 1 with every problem, one per line, for an invalid one.

use std::process::Command;

const SITE: &str = "nbuservers: [{site: paris, host: nbu.example.com, apiKey: k}]\n";

fn check(dir: &std::path::Path, yaml: &str) -> (i32, String, String) {
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_nbu-exporter"))
        .arg("check-config")
        .arg(&path)
        .env_remove("NBU_UNSET")
        .output()
        .expect("run check-config");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn valid_config_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "server: {port: \"9440\"}\nnbuservers:\n- {site: paris, host: a.example.com, apiKey: k}\n- {site: rome, host: b.example.com, apiKey: k}\n";
    let (code, stdout, _) = check(dir.path(), yaml);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("config OK: 2 sites (paris, rome), listening on 0.0.0.0:9440/metrics, sha256 "),
        "{stdout}"
    );
}

#[test]
fn the_example_config_is_valid() {
    let out = Command::new(env!("CARGO_BIN_EXE_nbu-exporter"))
        .args([
            "check-config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.yaml"),
        ])
        .env("NBU_PARIS_HOST", "nbu-paris.example.com")
        .env("NBU_PARIS_API_KEY", "k")
        .env("NBU_LONDON_HOST", "nbu-london.example.com")
        .env("NBU_LONDON_API_KEY", "k")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The example may reference a key file that only exists on a real host; everything
    // else must be clean.
    assert!(
        out.status.success()
            || stderr
                .lines()
                .all(|l| l.contains("apiKeyFile") || l.contains("caFile") || l.contains("problem(s)")),
        "{stderr}"
    );
}

#[test]
fn invalid_configs_report_every_problem_exactly() {
    // (yaml, append a valid site, expected problems in order)
    let cases: &[(&str, bool, &[&str])] = &[
        ("", false, &["config is empty (expected at least an nbuservers section)"]),
        ("server:\n  port: 2112\n    host: a\n", false, &["invalid YAML at line 3 column 9: mapping values are not allowed in this context"]),
        ("- a\n- b\n", false, &["expected a mapping of sections at the top level, got a list"]),
        ("nbuservers: []\n", false, &["nbuservers: no NetBackup server configured; add at least one site under nbuservers"]),
        ("server: {port: [2112]}\n", true, &["server.port: expected a port number (integer or string), got a list"]),
        ("server: {enableLifecycle: yes}\n", true, &["server.enableLifecycle: \"yes\" is not a boolean (expected true or false)"]),
        ("server: {port: 70000}\n", true, &["server.port: 70000 is out of range 0-65535"]),
        ("server: {port: \"70000\"}\n", true, &["server.port: \"70000\" is out of range 0-65535"]),
        ("server: {colectionInterval: 5m}\n", true, &["server.colectionInterval: unknown key (did you mean `collectionInterval`?)"]),
        ("server: {banana: 1}\n", true, &["server.banana: unknown key"]),
        ("collectors: {alerts: {enable: true}}\n", true, &["collectors.alerts.enable: unknown key (did you mean `enabled`?)"]),
        ("opentelemetry: {samplingRate: 2.0}\n", true, &["opentelemetry.samplingRate: 2.0 is out of range 0.0-1.0"]),
        (
            "nbuservers:\n- {site: paris, host: a, apiKey: k}\n- {site: paris, host: b, apiKey: k}\n",
            false,
            &["nbuservers[1].site: duplicate site name \"paris\" (already used by nbuservers[0])"],
        ),
        ("nbuservers: [{site: paris, apiKey: k}]\n", false, &["nbuservers[0].host: is required"]),
        (
            "nbuservers: [{site: paris, host: \"https://nbu/netbackup\", apiKey: k}]\n",
            false,
            &["nbuservers[0].host: \"https://nbu/netbackup\" is not a host name or address (no scheme, path or whitespace: they go in scheme and uri)"],
        ),
        ("nbuservers: [{host: nbu, apiKey: k}]\n", false, &["nbuservers[0].site: is required (a unique name such as paris)"]),
        (
            "nbuservers: [{site: paris france, host: nbu, apiKey: k}]\n",
            false,
            &["nbuservers[0].site: \"paris france\" is not a valid site name (1-64 characters from A-Z a-z 0-9 . _ : -)"],
        ),
        ("nbuservers: [{site: paris, host: nbu}]\n", false, &["nbuservers[0].apiKey: is required (or set apiKeyFile)"]),
        (
            "nbuservers: [{site: paris, host: nbu, apiKey: k, apiKeyFile: key.txt}]\n",
            false,
            &["nbuservers[0]: set either apiKey or apiKeyFile, not both"],
        ),
        (
            "nbuservers: [{site: paris, host: nbu, apiKeyFile: missing.key}]\n",
            false,
            &["nbuservers[0].apiKeyFile: cannot read {dir}/missing.key: No such file or directory (os error 2)"],
        ),
        ("nbuservers: [{site: paris, host: nbu, apiKeyFile: empty.key}]\n", false, &["nbuservers[0].apiKeyFile: {dir}/empty.key is empty"]),
        (
            "nbuservers: [{site: paris, host: nbu, apiKeyFile: keys}]\n",
            false,
            &["nbuservers[0].apiKeyFile: cannot read {dir}/keys: Is a directory (os error 21)"],
        ),
        (
            "nbuservers: [{site: paris, host: nbu, apiKey: k, caFile: bad.pem}]\n",
            false,
            &["nbuservers[0].caFile: {dir}/bad.pem holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)"],
        ),
        ("nbuservers: [{site: paris, host: nbu, scheme: ftp, apiKey: k}]\n", false, &["nbuservers[0].scheme: \"ftp\" is not a scheme (expected http or https)"]),
        ("nbuservers: [{site: paris, host: nbu, uri: /, apiKey: k}]\n", false, &["nbuservers[0].uri: \"/\" is not a base path (expected a path like /netbackup)"]),
        (
            "nbuservers:\n- {site: paris, host: a, apiVersion: \"13.0\", apiKey: k}\n- {site: london, host: b, apiVersion: \"3.0\", apiKey: k}\n",
            false,
            &["nbuservers[1].apiVersion: \"3.0\" is not supported (expected 14.0, 13.0, 12.0 or 10.0, or leave it empty to detect)"],
        ),
        (
            "nbuservers: [{site: paris, host: nbu, apiKey: k, insecureSkipVerify: maybe}]\n",
            false,
            &["nbuservers[0].insecureSkipVerify: \"maybe\" is not a boolean (expected true or false)"],
        ),
        ("nbuservers: [{site: paris, host: \"${NBU_UNSET}\", apiKey: k}]\n", false, &["nbuservers[0].host: environment variable NBU_UNSET is not set"]),
        ("server: {scrapingInterval: 1 hour}\n", true, &["server.scrapingInterval: \"1 hour\" is not a duration (expected a value like 30s, 5m or 1h30m)"]),
        ("server: {collectionInterval: 0s}\n", true, &["server.collectionInterval: \"0s\" must be greater than zero"]),
        (
            "server: {collectionInterval: 1m, collectionTimeout: 2m}\n",
            true,
            &["server.collectionTimeout: must not exceed server.collectionInterval (a sweep must end before the next one starts)"],
        ),
        ("server: {logLevel: verbose}\n", true, &["server.logLevel: \"verbose\" is not a log level (expected error, warn, info, debug or trace)"]),
        ("reload: {debounce: 30s}\n", true, &["reload.debounce: \"30s\" is too long (at most 10s)"]),
        ("reload: {pollInterval: 500ms}\n", true, &["reload.pollInterval: \"500ms\" is too short (at least 1s, or 0 to disable)"]),
        ("server: {uri: metrics}\n", true, &["server.uri: \"metrics\" must start with /"]),
        (
            "server: {port: 0x, logLevel: loud, banana: 1}\nreload: {debounce: -1s}\nnbuservers: [{site: paris, host: nbu, apiKey: k, port: 70000}]\n",
            false,
            &[
                "server.banana: unknown key",
                "server.port: \"0x\" is not a port number",
                "server.logLevel: \"loud\" is not a log level (expected error, warn, info, debug or trace)",
                "reload.debounce: \"-1s\" is negative (expected a value like 30s, 5m or 1h30m)",
                "nbuservers[0].port: 70000 is out of range 1-65535",
            ],
        ),
    ];
    assert!(cases.len() >= 30);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.key"), "  \n").unwrap();
    std::fs::write(dir.path().join("bad.pem"), "not a certificate\n").unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    let shown_dir = dir.path().display().to_string();
    let path = format!("{shown_dir}/config.yaml");
    let mut failures = Vec::new();
    for (yaml, add_site, expected) in cases {
        let text = if *add_site {
            format!("{yaml}{SITE}")
        } else {
            yaml.to_string()
        };
        let (code, stdout, stderr) = check(dir.path(), &text);
        let mut want: Vec<String> = expected
            .iter()
            .map(|e| format!("{path}: {}", e.replace("{dir}", &shown_dir)))
            .collect();
        want.push(format!("{path}: {} problem(s); config not valid", expected.len()));
        let got: Vec<String> = stderr.lines().map(str::to_string).collect();
        if code != 1 || !stdout.is_empty() || got != want {
            failures.push(format!(
                "{text}\n  exit {code}\n  got:  {got:#?}\n  want: {want:#?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
