//! `check-config --connect` against simulated sites that are fine, down, untrusted, given a
//! wrong key, missing a permission (401 and 403), too old for some parts, or hung: one line
//! per site and check, the right exit code, and every site cut at its timeout.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nbu_exporter::config::{Scheme, Secret, SiteConfig};
use nbu_exporter::connect_check::{check_site, Verdict};
use nbu_sim::{ApiVersion, Fault, Scope, SimData, SimOptions, SimServer, SimTls};

use crate::support::{known_site, site_yaml, KEY};
use crate::tls::{https_site, https_site_yaml};

fn connect(dir: &Path, sites: &[String]) -> (i32, String, String, Duration) {
    connect_with(dir, "", sites)
}

/// `connect` with more top-level config (a `collectors:` section).
fn connect_with(dir: &Path, extra: &str, sites: &[String]) -> (i32, String, String, Duration) {
    let path = dir.join("config.yaml");
    let yaml = format!(
        "server: {{host: 127.0.0.1, port: 0}}\n{extra}nbuservers:\n{}",
        sites.concat()
    );
    std::fs::write(&path, yaml).unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_nbu-exporter"))
        .args(["check-config", "--connect"])
        .arg(&path)
        .output()
        .expect("run check-config --connect");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// The report line of `site` and `check`, with its columns' padding folded.
fn line<'a>(stdout: &'a str, site: &str, check: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| {
            let mut words = l.split_whitespace();
            words.next() == Some(site) && words.next() == Some(check)
        })
        .unwrap_or_else(|| panic!("no line for {site} {check} in\n{stdout}"))
}

fn verdict_and_detail(line: &str) -> (String, String) {
    let mut rest = line.split_whitespace().skip(2);
    let verdict = rest.next().unwrap_or_default().to_string();
    (verdict, rest.collect::<Vec<_>>().join(" "))
}

fn expect(stdout: &str, site: &str, check: &str, verdict: &str, detail_part: &str) {
    let (got, detail) = verdict_and_detail(line(stdout, site, check));
    assert_eq!(got, verdict, "{site} {check}: {detail}\n{stdout}");
    assert!(
        detail.contains(detail_part),
        "{site} {check}: want {detail_part:?} in {detail:?}"
    );
}

#[test]
fn every_kind_of_site_gets_its_own_lines_and_the_run_fails() {
    let dir = tempfile::tempdir().unwrap();
    let fine = https_site(&SimTls::ca_signed());
    let ca_file = dir.path().join("fine-ca.pem");
    std::fs::write(&ca_file, fine.ca_pem().unwrap()).unwrap();
    let down_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let untrusted = https_site(&SimTls::ca_signed());
    let wrong_key = known_site();
    let no_perm_401 = known_site();
    no_perm_401.handle().set_fault(
        Scope::StorageUnits,
        Fault::Status {
            code: 401,
            retry_after: None,
        },
    );
    let no_perm_403 = known_site();
    no_perm_403.handle().set_fault(
        Scope::StorageUnits,
        Fault::Status {
            code: 403,
            retry_after: None,
        },
    );
    let sites = vec![
        https_site_yaml("fine", &fine, Some(&ca_file), ""),
        format!("  - site: down\n    scheme: http\n    host: 127.0.0.1\n    port: {down_port}\n    apiKey: {KEY}\n"),
        https_site_yaml("untrusted", &untrusted, None, ""),
        site_yaml("wrongkey", &wrong_key, "").replace(KEY, "not-the-key-0987"),
        site_yaml("perm401", &no_perm_401, ""),
        site_yaml("perm403", &no_perm_403, ""),
    ];
    let (code, stdout, stderr, _) = connect(dir.path(), &sites);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.starts_with("config OK: 6 sites"), "{stdout}");

    expect(&stdout, "fine", "tcp", "ok", "reachable");
    expect(
        &stdout,
        "fine",
        "tls",
        "ok",
        &format!("trusted through caFile {}", ca_file.display()),
    );
    expect(
        &stdout,
        "fine",
        "tls",
        "ok",
        "issued by O=nbu-sim, CN=nbu-sim NetBackup CA",
    );
    expect(&stdout, "fine", "auth", "ok", "the API key is accepted");
    expect(&stdout, "fine", "version", "ok", "14.0 (detected)");
    expect(&stdout, "fine", "jobs", "ok", "GET /admin/jobs answers 2xx");
    expect(
        &stdout,
        "fine",
        "storage",
        "ok",
        "GET /storage/storage-units answers 2xx",
    );

    expect(&stdout, "down", "tcp", "FAIL", "connection refused");
    expect(&stdout, "down", "auth", "-", "not checked: tcp failed");
    expect(&stdout, "down", "jobs", "-", "not checked: tcp failed");

    expect(&stdout, "untrusted", "tcp", "ok", "reachable");
    expect(
        &stdout,
        "untrusted",
        "tls",
        "FAIL",
        "the server's certificate is not signed by a CA you trust: run `nbu-exporter fetch-ca",
    );
    expect(&stdout, "untrusted", "auth", "-", "not checked: tls failed");

    expect(&stdout, "wrongkey", "tls", "skipped", "plain HTTP");
    expect(
        &stdout,
        "wrongkey",
        "auth",
        "FAIL",
        "the API key is refused (HTTP 401)",
    );
    expect(
        &stdout,
        "wrongkey",
        "version",
        "-",
        "not checked: authentication failed",
    );

    for (site, status) in [("perm401", 401), ("perm403", 403)] {
        expect(&stdout, site, "auth", "ok", "the API key is accepted");
        expect(&stdout, site, "jobs", "ok", "2xx");
        expect(
            &stdout,
            site,
            "storage",
            "FAIL",
            &format!(
                "permission missing: HTTP {status} on GET /storage/storage-units; give the key's role \
                 |STORAGE|STORAGE-UNITS| view"
            ),
        );
    }
    assert!(
        stdout.ends_with(
            "connect FAILED: 5 of 6 site(s) failing (down: tcp; untrusted: tls; wrongkey: auth; \
             perm401: storage; perm403: storage)\n"
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "the key never shows"
    );
    // One line per site and check (tcp, tls, auth, version, jobs, storage), plus the config
    // line and the summary.
    assert_eq!(stdout.lines().count(), 6 * 6 + 2, "{stdout}");
}

/// The alerts collector on, with a key that lacks its permission (401, then 403, on
/// `/manage/alerts` alone), and a 10.0 server with the tape collector on: each gets its own
/// line, parts 10.0 lacks are `skipped` without failing, and the run fails only for alerts.
#[test]
fn collector_parts_missing_a_permission_or_too_new_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut sims = Vec::new();
    for code in [401, 403] {
        let sim = known_site();
        sim.handle().set_fault(
            Scope::Alerts,
            Fault::Status {
                code,
                retry_after: None,
            },
        );
        sims.push(sim);
    }
    let old = SimServer::start(SimOptions {
        versions: vec![ApiVersion::V10_0],
        ..SimOptions::new(KEY, SimData::known(nbu_exporter::timefmt::now_millis()))
    })
    .unwrap();
    let sites = vec![
        site_yaml("alerts401", &sims[0], ""),
        site_yaml("alerts403", &sims[1], ""),
        site_yaml("old", &old, ""),
    ];
    let collectors = "collectors:\n  alerts: {enabled: true}\n  tape: {enabled: true}\n";
    let (code, stdout, stderr, _) = connect_with(dir.path(), collectors, &sites);
    assert_eq!(code, 2, "{stdout}{stderr}");
    for (site, status) in [("alerts401", 401), ("alerts403", 403)] {
        expect(&stdout, site, "jobs", "ok", "2xx");
        expect(&stdout, site, "storage", "ok", "2xx");
        expect(
            &stdout,
            site,
            "alerts",
            "FAIL",
            &format!("permission missing: HTTP {status} on GET /manage/alerts"),
        );
        expect(&stdout, site, "tape_drives", "ok", "2xx");
    }
    expect(&stdout, "old", "version", "ok", "10.0 (detected)");
    expect(&stdout, "old", "alerts", "ok", "2xx");
    for part in ["tape_media", "robot_hosts", "volume_pools"] {
        expect(&stdout, "old", part, "skipped", "(it needs 12.0 or later)");
    }
    expect(&stdout, "old", "tape_drives", "ok", "2xx");
    expect(&stdout, "old", "disk_pools", "ok", "2xx");
    assert!(
        stdout.ends_with("connect FAILED: 2 of 3 site(s) failing (alerts401: alerts; alerts403: alerts)\n"),
        "{stdout}"
    );
}

#[test]
fn a_fine_site_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let sim = known_site();
    let (code, stdout, stderr, _) = connect(dir.path(), &[site_yaml("paris", &sim, "")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.ends_with("connect OK: 1 site(s), every enabled part works\n"),
        "{stdout}"
    );
}

/// Hung sites are checked in parallel and each is cut at its own timeout.
#[test]
fn hung_sites_are_cut_at_their_timeout_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let hung: Vec<SimServer> = (0..3).map(|_| known_site()).collect();
    for sim in &hung {
        sim.handle().set_fault(Scope::All, Fault::Hang);
    }
    let sites: Vec<String> = hung
        .iter()
        .enumerate()
        .map(|(i, sim)| site_yaml(&format!("hung{i}"), sim, "    timeout: 2s\n"))
        .collect();
    let (code, stdout, _, elapsed) = connect(dir.path(), &sites);
    assert_eq!(code, 2, "{stdout}");
    for i in 0..3 {
        expect(&stdout, &format!("hung{i}"), "tcp", "ok", "reachable");
        expect(&stdout, &format!("hung{i}"), "auth", "FAIL", "timed out");
    }
    // One after the other would take at least 6 s.
    assert!(
        elapsed < Duration::from_millis(5500),
        "took {elapsed:?}\n{stdout}"
    );
}

/// A 10.0 server with the tape collector on: the three parts 10.0 lacks are skipped and do
/// not fail the run; the two it has are asked and pass. When the drives endpoint answers
/// 404, as on a release without it, that part fails with its own advice.
#[test]
fn parts_the_api_version_lacks_are_skipped() {
    let sim = SimServer::start(SimOptions {
        versions: vec![ApiVersion::V10_0],
        ..SimOptions::new(KEY, SimData::known(nbu_exporter::timefmt::now_millis()))
    })
    .unwrap();
    let site = SiteConfig {
        name: "old".into(),
        scheme: Scheme::Http,
        host: "127.0.0.1".into(),
        port: sim.port(),
        uri: "/netbackup".into(),
        api_key: Secret::new(KEY),
        api_key_file: None,
        api_version: None,
        insecure_skip_verify: false,
        ca_file: None,
        ca_pem: None,
        timeout: Duration::from_secs(10),
    };
    let report = check_site(&site, &["tape"]);
    let verdict = |check: &str| report.line(check).map(|l| (l.verdict, l.detail.clone())).unwrap();
    assert_eq!(verdict("version"), (Verdict::Ok, "10.0 (detected)".into()));
    for part in ["tape_media", "robot_hosts", "volume_pools"] {
        let (v, detail) = verdict(part);
        assert_eq!(v, Verdict::Skip, "{part}: {detail}");
        assert!(detail.starts_with("API 10.0 has no /storage/"), "{detail}");
        assert!(detail.ends_with("(it needs 12.0 or later)"), "{detail}");
    }
    for part in ["tape_drives", "disk_pools"] {
        let (v, detail) = verdict(part);
        assert_eq!(v, Verdict::Ok, "{part}: {detail}");
    }
    assert!(report.ok(), "{:?}", report.failed());

    sim.handle().set_fault(
        Scope::Drives,
        Fault::Status {
            code: 404,
            retry_after: None,
        },
    );
    let report = check_site(&site, &["tape"]);
    let (v, detail) = report
        .line("tape_drives")
        .map(|l| (l.verdict, l.detail.clone()))
        .unwrap();
    assert_eq!(v, Verdict::Fail, "{detail}");
    assert!(
        detail.contains("this NetBackup release has no such endpoint; disable collectors.tape"),
        "{detail}"
    );
    assert_eq!(report.failed(), ["tape_drives"]);
    // Without the tape collector the same server passes.
    assert!(check_site(&site, &[]).ok());
}
