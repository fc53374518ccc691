//! Test support: a `TestDaemon` that runs the exporter in-process on 127.0.0.1:0 in its
//! own temp dir and shuts down on drop, simulated NetBackup sites, deadline-bounded waits,
//! a small Prometheus text parser, a raw HTTP exchange that shows the wire bytes, and
//! strict log line readers (`logline`).

#![allow(dead_code)]

pub mod logline;
pub mod modgraph;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nbu_exporter::daemon::{Daemon, DaemonOptions};
use nbu_exporter::nbu::ClientOptions;
use nbu_exporter::reload::watch::WatchMode;
use nbu_exporter::timefmt::now_millis;
use nbu_sim::{SimData, SimOptions, SimServer};

pub const KEY: &str = "test-key-0123";

/// Waits until `probe` returns `Some`, checking every 10 ms, failing the test with
/// `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `wait_for` for a condition.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    wait_for(timeout, what, || condition().then_some(()));
}

/// A simulated site with the known data set.
pub fn known_site() -> SimServer {
    SimServer::start(SimOptions::new(KEY, SimData::known(now_millis()))).expect("start simulator")
}

pub fn site_with(data: SimData) -> SimServer {
    SimServer::start(SimOptions::new(KEY, data)).expect("start simulator")
}

/// One `nbuservers` entry pointing at a simulator.
pub fn site_yaml(name: &str, sim: &SimServer, extra: &str) -> String {
    format!(
        "  - site: {name}\n    scheme: http\n    host: 127.0.0.1\n    port: {}\n    apiKey: {KEY}\n{extra}",
        sim.port()
    )
}

/// A whole config: a server block on 127.0.0.1:0 (plus `server_extra` lines) and sites.
/// `collectionInterval` is 30s unless `server_extra` sets it.
pub fn config_yaml(server_extra: &str, sites: &[String]) -> String {
    let interval = if server_extra.contains("collectionInterval:") {
        ""
    } else {
        "  collectionInterval: 30s\n"
    };
    format!(
        "server:\n  host: 127.0.0.1\n  port: 0\n{interval}  enableLifecycle: true\n{server_extra}\
         reload:\n  debounce: 100ms\n  pollInterval: 0\nnbuservers:\n{}",
        sites.concat()
    )
}

pub struct TestDaemon {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    daemon: Option<Daemon>,
    agent: ureq::Agent,
}

impl TestDaemon {
    pub fn start(yaml: &str) -> TestDaemon {
        TestDaemon::start_with(yaml, |_| {})
    }

    /// A daemon without a file watcher (and, with the default test config, no poll): only
    /// explicit triggers reload, so HTTP reload answers are deterministic.
    pub fn start_http_only(yaml: &str) -> TestDaemon {
        TestDaemon::start_with(yaml, |o| o.watch_mode = WatchMode::Unavailable)
    }

    pub fn start_with(yaml: &str, customise: impl FnOnce(&mut DaemonOptions)) -> TestDaemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, yaml).expect("write config");
        TestDaemon::start_at(dir, path, customise)
    }

    pub fn start_at(
        dir: tempfile::TempDir,
        path: PathBuf,
        customise: impl FnOnce(&mut DaemonOptions),
    ) -> TestDaemon {
        let mut options = DaemonOptions::new(&path);
        options.env = Arc::new(|name: &str| match name {
            "TEST_KEY" => Some(KEY.to_string()),
            _ => None,
        });
        options.client_options = ClientOptions {
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..ClientOptions::default()
        };
        options.watch_mode = WatchMode::Notify;
        customise(&mut options);
        let daemon = Daemon::start(options).expect("daemon starts");
        // Longer than the daemon's own 10 s limit on reading and validating, so a test of
        // that limit gets the daemon's answer, not the client's timeout.
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        TestDaemon {
            dir,
            path,
            daemon: Some(daemon),
            agent,
        }
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("running")
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.daemon().local_addr())
    }

    /// GET a path; returns (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.agent, &format!("{}{path}", self.base()))
    }

    pub fn post(&self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.base());
        match self.agent.post(&url).send_empty() {
            Ok(mut r) => (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(e) => panic!("POST {url}: {e}"),
        }
    }

    pub fn metrics(&self) -> Metrics {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        Metrics::parse(&body)
    }

    /// Waits until every site has finished a first sweep.
    pub fn wait_ready(&self) {
        wait_until(Duration::from_secs(20), "/-/ready", || {
            self.get("/-/ready").0 == 200
        });
    }

    pub fn status(&self) -> serde_json::Value {
        let (_, body) = self.get("/-/config-status");
        serde_json::from_str(&body).expect("config-status is JSON")
    }

    pub fn generation(&self) -> u64 {
        self.daemon().shared().current().number
    }

    pub fn write_config(&self, yaml: &str) {
        std::fs::write(&self.path, yaml).expect("write config");
    }

    /// POST /-/reload and parse the JSON answer.
    pub fn reload(&self) -> (u16, serde_json::Value) {
        let (status, body) = self.post("/-/reload");
        (
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
        )
    }

    pub fn stop(mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown();
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown();
        }
    }
}

pub fn http_get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    match agent.get(url).call() {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Parsed samples: series text (`name{a="b",...}` with labels sorted) -> value.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    pub samples: BTreeMap<String, f64>,
    pub raw: String,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            let key = normalise(series);
            assert!(
                samples.insert(key.clone(), value).is_none(),
                "duplicate series {key}"
            );
        }
        Metrics {
            samples,
            raw: text.to_string(),
        }
    }

    /// The value of `name` with exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples.get(&series_key(name, labels)).copied()
    }

    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no series {}", series_key(name, labels)))
    }

    /// Every series of `name` whose labels include all of `labels`.
    pub fn matching(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(String, f64)> {
        self.samples
            .iter()
            .filter(|(k, _)| {
                let (n, rest) = k.split_once('{').unwrap_or((k.as_str(), ""));
                n == name && labels.iter().all(|(l, v)| rest.contains(&format!("{l}=\"{v}\"")))
            })
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).iter().map(|(_, v)| v).sum()
    }

    pub fn has_site(&self, site: &str) -> bool {
        self.raw.contains(&format!("site=\"{site}\""))
    }
}

pub fn series_key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    l.sort();
    if l.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", l.join(","))
    }
}

fn normalise(series: &str) -> String {
    match series.split_once('{') {
        None => series.to_string(),
        Some((name, rest)) => {
            let inner = rest.trim_end_matches('}');
            let mut labels: Vec<String> = split_labels(inner);
            labels.sort();
            if labels.is_empty() {
                name.to_string()
            } else {
                format!("{name}{{{}}}", labels.join(","))
            }
        }
    }
}

/// Splits `a="x",b="y"` honouring escaped quotes.
fn split_labels(inner: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                in_quotes = !in_quotes;
                current.push(c);
            }
            ',' if !in_quotes => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

pub fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write file");
}

/// An answer as it came over the wire, the body de-chunked but not decoded.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// Header fields, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }
}

/// `METHOD path` on one connection with these extra header fields; reads the answer to
/// the end (the exporter closes after one request), at most 10 s and 256 MiB.
pub fn raw_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> RawAnswer {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in fields {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 64 * 1024];
    while Instant::now() < deadline && raw.len() < 256 << 20 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    RawAnswer {
        status,
        headers,
        body,
    }
}

/// The payload of a chunked body (chunk extensions and trailers ignored).
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim().to_string();
        let size = usize::from_str_radix(&size_text, 16).expect("chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// A gzip body decoded; the test fails unless it is exactly one valid member.
pub fn gunzip(body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    // The bufread decoder takes no more than the member from the slice.
    let mut decoder = flate2::bufread::GzDecoder::new(body);
    let mut out = Vec::new();
    decoder.read_to_end(&mut out).expect("a valid gzip member");
    let rest = decoder.into_inner();
    assert!(rest.is_empty(), "{} bytes after the gzip member", rest.len());
    out
}
