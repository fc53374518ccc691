//! The exporter's own HTTP endpoints: routes, methods, readiness, the lifecycle gate and
//! the status document.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::*;

#[test]
fn routes_and_methods() {
    let sim = known_site();
    let d = TestDaemon::start(&config_yaml(
        "  uri: /nbu-metrics\n",
        &[site_yaml("paris", &sim, "")],
    ));
    d.wait_ready();
    let (status, body) = d.get("/");
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/nbu-metrics\""), "{body}");
    assert_eq!(d.get("/nbu-metrics").0, 200);
    assert_eq!(d.get("/metrics").0, 404, "the metrics path follows server.uri");
    assert_eq!(d.get("/health"), (200, "OK\n".to_string()));
    assert_eq!(d.get("/-/healthy").0, 200);
    assert_eq!(d.get("/-/ready").0, 200);
    assert_eq!(d.get("/nope").0, 404);
    assert_eq!(d.post("/nbu-metrics").0, 405);
    assert_eq!(d.get("/-/reload").0, 405);
    let status = d.status();
    assert_eq!(status["generation"], 1);
    assert_eq!(status["watcher"], "inotify");
    assert_eq!(status["last_attempt"]["trigger"], "startup");
    assert_eq!(status["last_attempt"]["result"], "applied");
    assert_eq!(status["sha256"].as_str().map(str::len), Some(12));
}

#[test]
fn liveness_does_not_depend_on_netbackup() {
    let sim = known_site();
    sim.handle().set_api_key("wrong");
    let d = TestDaemon::start(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    d.wait_ready();
    assert_eq!(d.get("/-/healthy").0, 200);
    assert_eq!(d.metrics().value("nbu_up", &[("site", "paris")]), 0.0);
}

#[test]
fn reload_endpoint_is_forbidden_unless_enabled() {
    let sim = known_site();
    let yaml = config_yaml("", &[site_yaml("paris", &sim, "")])
        .replace("enableLifecycle: true", "enableLifecycle: false");
    let d = TestDaemon::start(&yaml);
    let (status, body) = d.post("/-/reload");
    assert_eq!(status, 403);
    assert!(body.contains("server.enableLifecycle: true"), "{body}");
}

#[test]
fn malformed_requests_get_4xx_and_the_server_keeps_serving() {
    let sim = known_site();
    let d = TestDaemon::start(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    let addr = d.daemon().local_addr();
    let raw: &[&[u8]] = &[
        b"GARBAGE\r\n\r\n",
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"GET /metrics\r\nHost: x\r\n\r\n",
        b"\xff\xfe\r\n\r\n",
        b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for request in raw {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream.write_all(request).expect("write");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        let code: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        assert!(
            code == 0 || (400..500).contains(&code) || code == 505,
            "{request:?} -> {text}"
        );
    }
    assert_eq!(d.get("/-/healthy").0, 200);
}

/// Regression: `nbu-exporter reload` without `--pid` posted the reload, then could not read
/// the answer (`missing field id`) and exited 2 whatever happened.
#[test]
fn the_reload_client_reads_the_http_answer() {
    use std::process::ExitCode;
    let sim = known_site();
    let d = TestDaemon::start(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    let run = || nbu_exporter::reload::command::run(&d.path, None, Some(d.base()), "10s");
    assert_eq!(run(), ExitCode::SUCCESS, "unchanged");
    d.write_config(&config_yaml(
        "  logLevel: chatty\n",
        &[site_yaml("paris", &sim, "")],
    ));
    assert_eq!(run(), ExitCode::from(1), "rejected");
    d.write_config(&config_yaml(
        "  logLevel: debug\n",
        &[site_yaml("paris", &sim, "")],
    ));
    assert_eq!(run(), ExitCode::SUCCESS, "applied");
    assert_eq!(d.generation(), 2);
}

/// The place for a waiting `POST /-/reload` is given back before the answer is sent, so
/// a client that posts again as soon as it has read an answer is never told 429 (a race
/// the 1,000-reload storm once hit in CI).
#[test]
fn back_to_back_reloads_from_one_client_are_never_turned_away() {
    let sim = known_site();
    let d = TestDaemon::start_http_only(&config_yaml("", &[site_yaml("paris", &sim, "")]));
    d.wait_ready();
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for _ in 0..500 {
        *statuses.entry(d.reload().0).or_default() += 1;
    }
    assert_eq!(statuses, [(200, 500)].into_iter().collect(), "{statuses:?}");
}
