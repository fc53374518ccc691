//! Shared by the `reload_latency` and `soak` bench binaries: the real `nbu-exporter` run as
//! a child process on loopback in its own temp dir (killed on drop), simulated NetBackup
//! sites, generated configs, `/proc` sampling of the child, percentiles and machine info.
//!
//! It measures; it must not assert timings (targets are printed next to the figures) and
//! it must not reach into the daemon's internals: everything goes through the binary's
//! files, signals and HTTP endpoints, as an operator would see it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nbu_sim::{SimData, SimOptions, SimServer};
use rustix::process::{kill_process, Pid, Signal};

pub const KEY: &str = "bench-key-0123";

/// The release binary Cargo built for this bench (`cargo bench` builds it in the bench
/// profile, which is `release`).
pub const BIN: &str = env!("CARGO_BIN_EXE_nbu-exporter");

/// The binary to run: `NBU_BENCH_BIN` when set (to compare two builds with the same
/// harness), otherwise `BIN`.
pub fn bin() -> String {
    std::env::var("NBU_BENCH_BIN").unwrap_or_else(|_| BIN.to_string())
}

/// The exporter is started with the bench's own environment and nothing added, as an
/// operator starting it by hand would; `MALLOC_ARENA_MAX` and the like reach it only when
/// set for the bench. Their values are printed in the header.
const ALLOCATOR_VARIABLES: [&str; 4] = [
    "MALLOC_ARENA_MAX",
    "GLIBC_TUNABLES",
    "MIMALLOC_PURGE_DELAY",
    "MALLOC_CONF",
];

/// The allocator variables the child inherits, `NAME=value` joined, or `none`.
pub fn allocator_environment() -> String {
    let set: Vec<String> = ALLOCATOR_VARIABLES
        .iter()
        .filter_map(|name| Some(format!("{name}={}", std::env::var(name).ok()?)))
        .collect();
    if set.is_empty() {
        "none".to_string()
    } else {
        set.join(" ")
    }
}

/// Fails with a clear message when the binary is missing (never expected under cargo).
pub fn check_binary() {
    let bin = bin();
    if !Path::new(&bin).exists() {
        eprintln!("error: {bin} is missing; run `cargo build --release` first");
        std::process::exit(2);
    }
}

/// A value of an `NAME=value` environment variable, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts `n` simulated sites, each serving `data`.
pub fn start_sims(n: usize, data: &SimData) -> Vec<SimServer> {
    (0..n)
        .map(|_| SimServer::start(SimOptions::new(KEY, data.clone())).expect("start simulator"))
        .collect()
}

/// A generated config: a server block on 127.0.0.1:0 with the lifecycle API on, plus one
/// site per entry of `sites` (name, simulator port, per-request timeout in seconds).
/// Every setting not written here keeps its default (debounce 200 ms, poll 30 s).
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Extra `server:` lines, each ending in a newline.
    pub server_extra: String,
    /// The two `collectionInterval` values (seconds) a reload alternates between.
    pub collection_secs: [u32; 2],
    /// Which of the two is written.
    pub alternate: bool,
    pub sites: Vec<(String, u16, u32)>,
}

impl BenchConfig {
    /// One site per simulator port, named `site-NN`, timeout 30 s.
    pub fn new(ports: &[u16]) -> BenchConfig {
        BenchConfig {
            server_extra: String::new(),
            collection_secs: [300, 360],
            alternate: false,
            sites: ports
                .iter()
                .enumerate()
                .map(|(i, &port)| (format!("site-{i:02}"), port, 30))
                .collect(),
        }
    }

    pub fn yaml(&self) -> String {
        let mut out = format!(
            "server:\n  host: 127.0.0.1\n  port: 0\n  enableLifecycle: true\n  collectionInterval: {}s\n{}\
             nbuservers:\n",
            self.collection_secs[usize::from(self.alternate)],
            self.server_extra
        );
        for (name, port, timeout) in &self.sites {
            out.push_str(&format!(
                "  - site: {name}\n    scheme: http\n    host: 127.0.0.1\n    port: {port}\n    \
                 apiKey: {KEY}\n    apiVersion: \"13.0\"\n    timeout: {timeout}s\n"
            ));
        }
        out
    }

    /// Changes one site's request timeout (30 s <-> 31 s): the reload rebuilds that
    /// site's NetBackup client and sweeps it at once, as an API key rotation does.
    pub fn toggle_site_timeout(&mut self, i: usize) {
        let n = self.sites.len();
        let t = &mut self.sites[i % n].2;
        *t = if *t == 30 { 31 } else { 30 };
    }

    /// Changes `collectionInterval` (by default 5 m <-> 6 m): every site's cadence is
    /// re-planned, no client is rebuilt and nothing is swept.
    pub fn toggle_collection_interval(&mut self) {
        self.alternate = !self.alternate;
    }
}

/// Replaces `path` the way editors and config managers do: write a temp file in the same
/// directory, then rename it over the config.
pub fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).expect("write temp config");
    std::fs::rename(&tmp, path).expect("rename config");
}

/// The oldest `nbu_last_scrape_timestamp_seconds` in a `/metrics` body (0 when there is
/// none).
pub fn oldest_sweep(body: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with("nbu_last_scrape_timestamp_seconds{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .reduce(f64::min)
        .unwrap_or(0.0)
}

/// Makes every site sweep `rounds` more times: each round changes every site's client
/// (its timeout), which sweeps at once, reloads, and waits until every site's newest sweep
/// is later than the reload, for at most `wait` a round.
pub fn force_sweeps(exporter: &Exporter, cfg: &mut BenchConfig, rounds: usize, wait: Duration) {
    for _ in 0..rounds {
        let asked = nbu_exporter::timefmt::now_millis() as f64 / 1000.0;
        for i in 0..cfg.sites.len() {
            cfg.toggle_site_timeout(i);
        }
        replace_file(&exporter.config, &cfg.yaml());
        let (status, body) = exporter.post("/-/reload");
        assert_eq!(status, 200, "reload failed: {body}");
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline && oldest_sweep(&exporter.get("/metrics").1) < asked {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The exporter as a child process in its own temp dir; stopped on drop.
pub struct Exporter {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    child: Child,
    stderr_path: PathBuf,
    pub base: String,
    agent: ureq::Agent,
}

impl Exporter {
    /// Writes `yaml`, starts the binary and waits (at most 30 s) for its start line.
    pub fn start(yaml: &str) -> Exporter {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, yaml).expect("write config");
        let stderr_path = dir.path().join("stderr.log");
        let bin = bin();
        let child = Command::new(&bin)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let mut exporter = Exporter {
            dir,
            config,
            child,
            stderr_path,
            base: String::new(),
            agent: agent(Duration::from_secs(30)),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let line = loop {
            let log = exporter.stderr();
            if let Some(line) = log.lines().find(|l| l.contains("nbu-exporter started")) {
                break line.to_string();
            }
            if let Ok(Some(status)) = exporter.child.try_wait() {
                panic!("the exporter exited with {status} during startup:\n{log}");
            }
            assert!(Instant::now() < deadline, "no start line after 30 s:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("listen="))
            .expect("listen= in the start line");
        exporter.base = format!("http://{addr}");
        exporter
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn sighup(&self) {
        let pid = Pid::from_raw(self.child.id() as i32).expect("pid");
        kill_process(pid, Signal::HUP).expect("send SIGHUP");
    }

    /// GET a path on this agent; (status, body). Transport errors are status 0.
    pub fn get(&self, path: &str) -> (u16, String) {
        request(&self.agent, "GET", &format!("{}{path}", self.base))
    }

    pub fn post(&self, path: &str) -> (u16, String) {
        request(&self.agent, "POST", &format!("{}{path}", self.base))
    }

    /// The generation `/-/config-status` reports (0 if the answer is unusable).
    pub fn generation(&self) -> u64 {
        status_generation(&self.get("/-/config-status").1)
    }

    /// Waits until every site has finished its first sweep (at most `timeout`).
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.get("/-/ready").0 != 200 {
            assert!(Instant::now() < deadline, "not ready after {timeout:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn proc(&self) -> ProcStats {
        ProcStats::read(self.child.id())
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(pid) = Pid::from_raw(self.child.id() as i32) {
            let _ = kill_process(pid, Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP client that reports every status instead of failing on 4xx/5xx.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// What Prometheus sends with every scrape: it always asks for gzip.
pub const PROMETHEUS_ACCEPT_ENCODING: &str = "gzip";
pub const PROMETHEUS_ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";

/// One request; (status, body), status 0 on a transport error. A GET carries the
/// headers Prometheus sends (gzip asked for; ureq decodes the answer).
pub fn request(agent: &ureq::Agent, method: &str, url: &str) -> (u16, String) {
    let result = match method {
        "POST" => agent.post(url).send_empty(),
        _ => agent
            .get(url)
            .header("Accept-Encoding", PROMETHEUS_ACCEPT_ENCODING)
            .header("Accept", PROMETHEUS_ACCEPT)
            .call(),
    };
    match result {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let body = r
                .body_mut()
                .with_config()
                .limit(256 << 20)
                .read_to_string()
                .unwrap_or_default();
            (status, body)
        }
        Err(_) => (0, String::new()),
    }
}

pub fn status_generation(body: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["generation"].as_u64())
        .unwrap_or(0)
}

/// The value of the first sample of `name` (no labels) in a `/metrics` body.
pub fn sample(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Sum of every sample of `name` whose label text contains all of `labels`.
pub fn sum_samples(body: &str, name: &str, labels: &[&str]) -> f64 {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            (n == name && labels.iter().all(|x| rest.contains(x))).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// Lines of a `/metrics` body: (all samples, NetBackup samples `nbu_*` but not
/// `nbu_exporter_*`).
pub fn count_series(body: &str) -> (usize, usize) {
    let mut all = 0;
    let mut nbu = 0;
    for line in body.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        all += 1;
        if line.starts_with("nbu_") && !line.starts_with("nbu_exporter_") {
            nbu += 1;
        }
    }
    (all, nbu)
}

/// What `/proc` says about a process.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcStats {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub threads: u64,
    pub fds: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Voluntary + involuntary context switches of all threads (a proxy for wakeups).
    pub switches: u64,
}

impl ProcStats {
    pub fn read(pid: u32) -> ProcStats {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count() as u64)
            .unwrap_or(0);
        let mut switches = 0;
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                let s = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
                for l in s.lines() {
                    if let Some(v) = l
                        .strip_prefix("voluntary_ctxt_switches:")
                        .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
                    {
                        switches += v.trim().parse::<u64>().unwrap_or(0);
                    }
                }
            }
        }
        ProcStats {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
            threads: field("Threads:"),
            fds,
            cpu_ticks: cpu_ticks(pid),
            switches,
        }
    }
}

/// utime + stime of a process from `/proc/PID/stat`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may contain spaces; fields resume after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state(3) ppid(4) ... utime(14) stime(15); index = field - 3.
    let at = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    at(11) + at(12)
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 if unknown.
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Latency statistics over a sample, in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    pub fn of(samples: &[Duration]) -> Stats {
        if samples.is_empty() {
            return Stats::default();
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        // Nearest-rank percentile.
        let pct = |p: f64| ms[((p / 100.0 * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Stats {
            n: ms.len(),
            p50: pct(50.0),
            p90: pct(90.0),
            p99: pct(99.0),
            max: ms[ms.len() - 1],
            mean: ms.iter().sum::<f64>() / ms.len() as f64,
        }
    }

    pub fn line(&self) -> String {
        format!(
            "n={} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms mean={:.2}ms",
            self.n, self.p50, self.p90, self.p99, self.max, self.mean
        )
    }
}

/// Cores, CPU model, kernel, load and date, for the report header.
pub fn machine_info() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    format!(
        "date: {}\ncores (available_parallelism): {cores}\ncpu: {model}\nmemory: {mem}\nkernel: {}\nload average at start: {}\nbinary: {}\nallocator variables passed to the exporter: {}",
        nbu_exporter::timefmt::format_rfc3339_millis(nbu_exporter::timefmt::now_millis()),
        kernel.trim(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        bin(),
        allocator_environment(),
    )
}

/// One `GET path` on a fresh connection, as Prometheus asks (`gzip`: Accept-Encoding:
/// gzip) or as a client that asks for nothing; the status, the bytes received (head and
/// body, as on the wire) and the `Content-Encoding` of the answer. Status 0 on a
/// transport error; at most 30 s.
pub fn raw_scrape(base: &str, path: &str, gzip: bool) -> (u16, usize, Option<String>) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return (0, 0, None);
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let encoding = if gzip {
        format!("Accept-Encoding: {PROMETHEUS_ACCEPT_ENCODING}\r\nAccept: {PROMETHEUS_ACCEPT}\r\n")
    } else {
        String::new()
    };
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{encoding}\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return (0, 0, None);
    }
    let mut raw = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = vec![0u8; 256 * 1024];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let coding = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-encoding")
            .then(|| value.trim().to_string())
    });
    (status, raw.len(), coding)
}
