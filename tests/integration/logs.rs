//! The log stream of a real run (start, a failing sweep, an applied reload, a reload
//! rejected with several problems, stop), read back strictly: every line logfmt under
//! `--log.format logfmt`, every line one JSON object under `server.logFormat: json`, in
//! standard error and in `server.logName` alike; flags pin their keys; the format follows
//! a reload.

use std::path::Path;
use std::time::Duration;

use nbu_sim::{Fault, Scope, SimServer};
use rustix::process::Signal;

use crate::binary::Running;
use crate::support::logline::{parse_json, parse_logfmt, Fields};
use crate::support::*;

fn config(sim: &SimServer, server_extra: &str) -> String {
    format!(
        "server:\n  host: 127.0.0.1\n  port: 0\n  collectionInterval: 1m\n  enableLifecycle: true\n  \
         logName: exporter.log\n{server_extra}reload:\n  pollInterval: 0\nnbuservers:\n  - site: paris\n    \
         scheme: http\n    host: 127.0.0.1\n    port: {}\n    apiKey: {KEY}\n",
        sim.port()
    )
}

fn post_reload(p: &Running) -> (u16, String) {
    let url = format!("{}/-/reload", p.base);
    match agent().post(&url).send_empty() {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => panic!("POST {url}: {e}"),
    }
}

/// Lines of standard error and of the log file, in that order.
fn all_lines(p: &Running, dir: &Path) -> Vec<String> {
    let file = std::fs::read_to_string(dir.join("exporter.log")).unwrap_or_default();
    p.stderr()
        .lines()
        .chain(file.lines())
        .map(str::to_string)
        .collect()
}

fn find<'a>(parsed: &'a [Fields], msg: &str) -> Vec<&'a Fields> {
    parsed.iter().filter(|f| f["msg"] == msg).collect()
}

/// Runs the scenario with `args`, the config's `server` block ending in `server_extra`.
/// Returns the process (stopped) and its directory. The scenario: a first sweep that
/// fails, an applied reload that changes `logLevel` and `logFormat`, a reload rejected
/// with three problems, SIGTERM.
fn scenario(args: &[&str], server_extra: &str) -> (Running, tempfile::TempDir) {
    let sim = known_site();
    sim.handle().set_fault(
        Scope::All,
        Fault::Status {
            code: 503,
            retry_after: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, config(&sim, server_extra)).unwrap();
    let mut p = Running::spawn_with(dir.path(), args, &[]);
    p.wait_started();
    wait_until(Duration::from_secs(30), "the failed sweep logged", || {
        p.stderr().contains("collection failed")
    });
    sim.handle().clear_faults();

    let applied = config(&sim, server_extra)
        .replace("collectionInterval: 1m", "collectionInterval: 2m")
        .replace("  logLevel: info\n", "  logLevel: warn\n");
    std::fs::write(&path, applied).unwrap();
    let (status, body) = post_reload(&p);
    assert_eq!(status, 200, "{body}");

    let rejected = config(&sim, "  logLevel: loud\n  logFormat: xml\n").replace("port: 0", "port: 99999");
    std::fs::write(&path, rejected).unwrap();
    let (status, body) = post_reload(&p);
    assert_eq!(status, 400, "{body}");

    p.signal(Signal::TERM);
    let exit = p.wait_exit(Duration::from_secs(20));
    assert_eq!(exit.code(), Some(0), "{}", p.stderr());
    (p, dir)
}

/// What every scenario logs, whatever the format.
fn check_scenario_lines(parsed: &[Fields]) {
    for msg in [
        "nbu-exporter started",
        "collection failed",
        "config reload applied",
        "config reload rejected",
        "shutting down",
        "stopped",
    ] {
        assert!(!find(parsed, msg).is_empty(), "no {msg:?} line");
    }
    let started = find(parsed, "nbu-exporter started")[0];
    assert_eq!(started["revision"], nbu_exporter::version::REVISION);
    let failed = find(parsed, "collection failed")[0];
    assert_eq!(failed["level"], "error");
    assert_eq!(failed["site"], "paris");
    assert!(failed["error"].contains("503"), "{failed:?}");
    let rejected = find(parsed, "config reload rejected")[0];
    assert_eq!(rejected["level"], "warn");
    assert_eq!(rejected["problem_count"], "3", "{rejected:?}");
    for key in ["server.port", "server.logLevel", "server.logFormat"] {
        assert!(rejected["problems"].contains(key), "{rejected:?}");
    }
    // Debug lines (the flags asked for debug) went through the same writer.
    assert!(parsed.iter().any(|f| f["level"] == "debug"), "no debug line");
}

#[test]
fn every_line_is_strict_logfmt_under_log_format_logfmt() {
    // The flags pin level and format: the config's json and its reloaded logLevel stay
    // unapplied, and saying so is logged.
    let (p, dir) = scenario(
        &["--log.format", "logfmt", "--log.level", "debug"],
        "  logLevel: info\n  logFormat: json\n",
    );
    let lines = all_lines(&p, dir.path());
    let parsed: Vec<Fields> = lines
        .iter()
        .map(|l| parse_logfmt(l).unwrap_or_else(|e| panic!("not strict logfmt ({e}): {l}")))
        .collect();
    for f in &parsed {
        assert!(f.contains_key("ts"), "no ts: {f:?}");
    }
    check_scenario_lines(&parsed);
    let pins = find(&parsed, "command line flag overrides the config key");
    let pinned: Vec<(&str, &str)> = pins
        .iter()
        .map(|f| (f["flag"].as_str(), f["value"].as_str()))
        .collect();
    assert!(pinned.contains(&("--log.format", "logfmt")), "{pinned:?}");
    assert!(pinned.contains(&("--log.level", "debug")), "{pinned:?}");
    let kept = find(
        &parsed,
        "config key not applied: the command line flag overrides it",
    );
    assert!(
        kept.iter()
            .any(|f| f["key"] == "server.logLevel" && f["asked"] == "warn" && f["kept"] == "debug"),
        "{kept:?}"
    );
    // Still at debug after the reload asked for warn.
    let after_reload = parsed
        .iter()
        .skip_while(|f| f["msg"] != "config reload applied")
        .any(|f| f["level"] == "debug");
    assert!(after_reload, "the pinned level was lost on reload");
    assert!(p.stderr().lines().count() >= 10, "{}", p.stderr());
}

#[test]
fn every_line_is_a_json_object_under_log_format_json_and_the_format_reloads() {
    let (mut p, dir) = scenario(&["--debug"], "  logLevel: info\n  logFormat: json\n");
    let lines = all_lines(&p, dir.path());
    let parsed: Vec<Fields> = lines
        .iter()
        .map(|l| parse_json(l).unwrap_or_else(|e| panic!("not one JSON object ({e}): {l}")))
        .collect();
    check_scenario_lines(&parsed);
    let pins = find(&parsed, "command line flag overrides the config key");
    assert_eq!(pins.len(), 1, "{pins:?}");
    assert_eq!(pins[0]["flag"], "--debug");
    // Numbers stay numbers.
    let rejected = lines
        .iter()
        .find(|l| l.contains("config reload rejected"))
        .expect("rejected line");
    assert!(rejected.contains("\"problem_count\":3"), "{rejected}");
    drop(p);

    // Live: a reload to logfmt switches the stream at that reload.
    let sim = known_site();
    std::fs::write(dir.path().join("stderr.log"), "").unwrap();
    std::fs::write(dir.path().join("exporter.log"), "").unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, config(&sim, "  logFormat: json\n")).unwrap();
    p = Running::spawn_with(dir.path(), &[], &[]);
    p.wait_started();
    std::fs::write(&path, config(&sim, "  logFormat: logfmt\n")).unwrap();
    let (status, body) = post_reload(&p);
    assert_eq!(status, 200, "{body}");
    p.signal(Signal::TERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)).code(), Some(0));
    let stderr = p.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    let switch = lines
        .iter()
        .position(|l| !l.starts_with('{'))
        .expect("logfmt lines after the reload");
    for l in &lines[..switch] {
        parse_json(l).unwrap_or_else(|e| panic!("{e}: {l}"));
    }
    let after: Vec<Fields> = lines[switch..]
        .iter()
        .map(|l| parse_logfmt(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // The first lines in logfmt are those of the switching reload itself (its warnings
    // and its outcome are logged once the new generation is live).
    assert!(
        lines[..switch]
            .iter()
            .any(|l| parse_json(l).is_ok_and(|f| f["msg"] == "nbu-exporter started")),
        "{stderr}"
    );
    let applied = after
        .iter()
        .position(|f| f["msg"] == "config reload applied")
        .expect("the switching reload in logfmt");
    assert!(
        after[applied]["changes"].contains("server.logFormat"),
        "{after:?}"
    );
    assert!(
        after[..applied].iter().all(|f| f["msg"] == "config warning"),
        "{after:?}"
    );
    assert_eq!(after.last().map(|f| f["msg"].as_str()), Some("stopped"));
}

/// Under systemd each line starts with its syslog priority for the journal, and logfmt
/// lines leave the time to the journal.
#[test]
fn journal_lines_carry_a_priority_and_no_timestamp() {
    let sim = known_site();
    // An invalid config: the startup failure is logged at error priority.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("config.yaml"), config(&sim, "  logLevel: loud\n")).unwrap();
    let mut failed = Running::spawn_with(bad.path(), &[], &[("JOURNAL_STREAM", "8:12345")]);
    assert_eq!(failed.wait_exit(Duration::from_secs(20)).code(), Some(1));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), config(&sim, "")).unwrap();
    let p = Running::spawn_with(dir.path(), &[], &[("JOURNAL_STREAM", "8:12345")]);
    wait_until(Duration::from_secs(20), "the start line", || {
        p.stderr().contains("nbu-exporter started")
    });
    p.signal(Signal::TERM);
    let mut p = p;
    assert_eq!(p.wait_exit(Duration::from_secs(20)).code(), Some(0));
    let mut priorities = Vec::new();
    for line in failed.stderr().lines().chain(p.stderr().lines()) {
        let (priority, rest) = line
            .strip_prefix('<')
            .and_then(|l| l.split_once('>'))
            .unwrap_or_else(|| panic!("no priority: {line}"));
        let fields = parse_logfmt(rest).unwrap_or_else(|e| panic!("not strict logfmt ({e}): {line}"));
        assert!(!fields.contains_key("ts"), "{line}");
        let want = match fields["level"].as_str() {
            "error" => "3",
            "warn" => "4",
            "info" => "6",
            _ => "7",
        };
        assert_eq!(priority, want, "{line}");
        priorities.push(priority.to_string());
    }
    assert!(priorities.contains(&"3".to_string()) && priorities.contains(&"6".to_string()));
}
