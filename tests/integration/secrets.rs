//! A sentinel API key must never appear in a log line, a metric, an HTTP response or a
//! reload answer, whatever happens.

use nbu_sim::{Fault, Scope};

use crate::support::*;

const SENTINEL: &str = "SENTINEL-7f3a9c-api-key";

#[test]
fn the_api_key_never_leaves_the_client() {
    let logs = nbu_exporter::logging::capture();
    nbu_exporter::logging::set_level(log::LevelFilter::Debug);
    let sim = known_site();
    sim.handle().set_api_key(SENTINEL);
    let site = site_yaml("paris", &sim, "").replace(KEY, SENTINEL);
    let d = TestDaemon::start(&config_yaml("  logLevel: debug\n", std::slice::from_ref(&site)));
    d.wait_ready();
    let mut answers = vec![
        d.metrics().raw,
        d.get("/").1,
        d.get("/-/config-status").1,
        d.get("/-/ready").1,
    ];

    // A rejected reload (the key sits next to the problem) and an applied key rotation.
    d.write_config(&config_yaml(
        "  logLevel: debug\n  port: 99999\n",
        std::slice::from_ref(&site),
    ));
    answers.push(d.post("/-/reload").1);
    let rotated = format!("{SENTINEL}-2");
    sim.handle().set_api_key(&rotated);
    d.write_config(&config_yaml(
        "  logLevel: debug\n",
        &[site.replace(SENTINEL, &rotated)],
    ));
    answers.push(d.post("/-/reload").1);
    // NetBackup failures: 401 with the old key, then a server error.
    sim.handle().set_fault(
        Scope::All,
        Fault::Status {
            code: 500,
            retry_after: None,
        },
    );
    answers.push(d.post("/-/reload?force=1").1);
    answers.push(d.get("/-/config-status").1);
    answers.push(d.metrics().raw);
    sim.handle().clear_faults();
    d.stop();

    for (i, text) in answers.iter().enumerate() {
        assert!(!text.contains(SENTINEL), "answer {i} leaks the key: {text}");
    }
    let lines = logs.lock();
    assert!(
        lines.iter().any(|l| l.contains("config reload")),
        "the log was captured"
    );
    for line in lines.iter() {
        assert!(!line.contains(SENTINEL), "log line leaks the key: {line}");
    }
}
