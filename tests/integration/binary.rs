//! Tests that run the real `nbu-exporter` binary: real signals, exit codes, the sd_notify
//! protocol against a fake `NOTIFY_SOCKET`, and the synchronous `reload` client.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_nbu-exporter");

/// The exporter as a child process; killed on drop.
pub(crate) struct Running {
    pub(crate) child: Child,
    stderr_path: PathBuf,
    pub(crate) base: String,
}

impl Running {
    fn spawn(dir: &Path, envs: &[(&str, &str)]) -> Running {
        Running::spawn_with(dir, &[], envs)
    }

    /// The binary with `--config DIR/config.yaml` and `args`.
    pub(crate) fn spawn_with(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Running {
        let stderr_path = dir.join("stderr.log");
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(dir.join("config.yaml"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .env_remove("MALLOC_ARENA_MAX")
            .env_remove("GLIBC_TUNABLES");
        for (k, v) in envs {
            command.env(k, v);
        }
        let child = command.spawn().expect("spawn exporter");
        Running {
            child,
            stderr_path,
            base: String::new(),
        }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32).expect("pid")
    }

    pub(crate) fn signal(&self, signal: Signal) {
        kill_process(self.pid(), signal).expect("kill");
    }

    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Waits for the startup line (logfmt or JSON) and remembers the listen address.
    pub(crate) fn wait_started(&mut self) {
        let fields = wait_for(Duration::from_secs(20), "startup log line", || {
            self.stderr()
                .lines()
                .filter_map(|l| logline::parse_any(l).ok())
                .find(|f| f.get("msg").is_some_and(|m| m == "nbu-exporter started"))
        });
        let addr = fields.get("listen").expect("listen in the start line");
        self.base = format!("http://{addr}");
    }

    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        http_get(&agent(), &format!("{}{path}", self.base))
    }

    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        wait_for(timeout, "process exit", || self.child.try_wait().ok().flatten())
    }

    fn handler_installed(&self, signal_number: u32) -> bool {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (signal_number - 1)) != 0)
    }

    fn reloads(&self, trigger: &str, result: &str) -> f64 {
        let m = Metrics::parse(&self.get("/metrics").1);
        m.value(
            "nbu_exporter_config_reloads_total",
            &[("trigger", trigger), ("result", result)],
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The exporter started (its start line logged) in a temp dir of its own, with the
/// default test config for one site at `sim_port`.
fn started_against(sim_port: u16) -> (tempfile::TempDir, Running) {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), sim_port, "");
    let mut p = Running::spawn(dir.path(), &[]);
    p.wait_started();
    (dir, p)
}

fn write_config(dir: &Path, sim_port: u16, server_extra: &str) {
    let yaml = format!(
        "server:\n  host: 127.0.0.1\n  port: 0\n  collectionInterval: 1m\n{server_extra}\
         reload:\n  pollInterval: 0\nnbuservers:\n  - site: paris\n    scheme: http\n    host: 127.0.0.1\n    port: {sim_port}\n    apiKey: {KEY}\n"
    );
    std::fs::write(dir.join("config.yaml"), yaml).expect("write config");
}

/// The environment the process `pid` was started (or last executed) with.
fn environment_of(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    raw.split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// Issues 8 and 10: the memory figures need glibc's malloc with at most two arenas and no
/// per-thread cache. A daemon started by hand, without them, sets them itself (same pid,
/// same arguments); values the operator chose are kept, and other tunables too.
#[cfg(target_env = "gnu")]
#[test]
fn the_daemon_runs_with_its_malloc_settings_however_started() {
    let sim = known_site();
    let (_dir, p) = started_against(sim.port());
    let env = environment_of(p.child.id());
    assert!(env.iter().any(|v| v == "MALLOC_ARENA_MAX=2"), "{env:?}");
    assert!(
        env.iter()
            .any(|v| v == "GLIBC_TUNABLES=glibc.malloc.tcache_count=0"),
        "{env:?}"
    );
    assert_eq!(p.get("/-/healthy").0, 200);
    // Re-executed through /proc/self/exe, it still goes by its own name for ps and pgrep.
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", p.child.id())).unwrap_or_default();
    assert_eq!(comm.trim_end(), "nbu-exporter");

    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), sim.port(), "");
    let mut chosen = Running::spawn(
        dir.path(),
        &[
            ("MALLOC_ARENA_MAX", "8"),
            (
                "GLIBC_TUNABLES",
                "glibc.malloc.tcache_count=3:glibc.pthread.rseq=0",
            ),
        ],
    );
    chosen.wait_started();
    let env = environment_of(chosen.child.id());
    assert!(env.iter().any(|v| v == "MALLOC_ARENA_MAX=8"), "{env:?}");
    // glibc cuts GLIBC_TUNABLES at its colons in the memory /proc shows (the process
    // itself reads a copy), so the items are looked for in order, joined again.
    let joined = env.join(":");
    assert!(
        joined.contains("GLIBC_TUNABLES=glibc.malloc.tcache_count=3:glibc.pthread.rseq=0"),
        "{env:?}"
    );
    assert!(!joined.contains("tcache_count=0"), "{env:?}");

    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), sim.port(), "");
    let mut other = Running::spawn(dir.path(), &[("GLIBC_TUNABLES", "glibc.pthread.rseq=0")]);
    other.wait_started();
    let env = environment_of(other.child.id());
    assert!(env.iter().any(|v| v == "MALLOC_ARENA_MAX=2"), "{env:?}");
    assert!(
        env.join(":")
            .contains("GLIBC_TUNABLES=glibc.pthread.rseq=0:glibc.malloc.tcache_count=0"),
        "{env:?}"
    );
}

/// `--version` and `nbu_exporter_build_info` name the same build: version, revision,
/// compiler, target. Built in a git checkout, the revision is its HEAD (a copy without
/// `.git` says `unknown`: see `version::probe`'s tests).
#[test]
fn version_and_build_info_name_the_build() {
    use nbu_exporter::version::{REVISION, RUSTC_VERSION, TARGET, VERSION};
    let out = Command::new(BIN)
        .arg("--version")
        .output()
        .expect("run --version");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("nbu-exporter {VERSION} (revision {REVISION}, rustc {RUSTC_VERSION}, target {TARGET})\n")
    );
    let commit = REVISION.len() == 40 && REVISION.chars().all(|c| c.is_ascii_hexdigit());
    let overridden = std::env::var_os("NBU_EXPORTER_REVISION").is_some();
    assert!(commit || REVISION == "unknown" || overridden, "{REVISION}");
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    if checkout.join(".git").exists() && !overridden {
        let head = Command::new("git")
            .arg("-C")
            .arg(checkout)
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        // Where git itself cannot answer here, the build could not either.
        assert_eq!(REVISION, head.as_deref().unwrap_or("unknown"));
    }

    let sim = known_site();
    let (_dir, p) = started_against(sim.port());
    let m = Metrics::parse(&p.get("/metrics").1);
    let labels = [
        ("version", VERSION),
        ("revision", REVISION),
        ("rustc_version", RUSTC_VERSION),
        ("target", TARGET),
    ];
    assert_eq!(m.get("nbu_exporter_build_info", &labels), Some(1.0), "{}", m.raw);
}

#[test]
fn sigterm_stops_cleanly_with_exit_0() {
    let sim = known_site();
    let (_dir, mut p) = started_against(sim.port());
    assert_eq!(p.get("/-/healthy").0, 200);
    p.signal(Signal::TERM);
    let status = p.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", p.stderr());
    assert!(p.stderr().contains("stopped"));
    // An idle exporter has nothing in flight: its stop must not wait out the HTTP grace.
    assert!(!p.stderr().contains("did not finish in time"), "{}", p.stderr());
}

#[test]
fn a_second_signal_exits_at_once() {
    let sim = known_site();
    // A site that hangs keeps a poller busy, so the graceful stop takes a while.
    sim.handle().set_fault(nbu_sim::Scope::All, nbu_sim::Fault::Hang);
    let (_dir, mut p) = started_against(sim.port());
    p.signal(Signal::TERM);
    p.signal(Signal::INT);
    let status = p.wait_exit(Duration::from_secs(5));
    assert_ne!(status.code(), Some(0), "{}", p.stderr());
    sim.handle().clear_faults();
}

#[test]
fn sighup_during_startup_is_queued_not_fatal() {
    let sim = known_site();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), sim.port(), "");
    let mut p = Running::spawn(dir.path(), &[]);
    // As soon as the handler exists (main's first step), while startup is still going on.
    wait_until(Duration::from_secs(10), "SIGHUP handler", || {
        p.handler_installed(1)
    });
    p.signal(Signal::HUP);
    p.wait_started();
    wait_until(Duration::from_secs(10), "the queued SIGHUP is processed", || {
        p.reloads("signal", "unchanged") + p.reloads("signal", "applied") >= 1.0
    });
    assert!(p.child.try_wait().unwrap().is_none(), "still running");
    assert_eq!(
        p.reloads("signal", "unchanged") + p.reloads("signal", "applied"),
        1.0,
        "processed once"
    );
}

#[test]
fn a_busy_port_is_a_startup_failure() {
    let sim = known_site();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), sim.port(), "");
    let yaml = std::fs::read_to_string(dir.path().join("config.yaml"))
        .unwrap()
        .replace("port: 0\n", &format!("port: {port}\n"));
    std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
    let mut p = Running::spawn(dir.path(), &[]);
    let status = p.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    assert!(
        p.stderr().contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        p.stderr()
    );
}

#[test]
fn a_burst_of_1000_sighups_gives_at_most_two_reloads() {
    let sim = known_site();
    let (_dir, p) = started_against(sim.port());
    let started = Instant::now();
    for _ in 0..1000 {
        p.signal(Signal::HUP);
    }
    let burst = started.elapsed();
    wait_until(Duration::from_secs(10), "at least one signal reload", || {
        p.reloads("signal", "unchanged") >= 1.0
    });
    // Give a possible trailing reload its chance: wait until the status has been stable
    // past the coalescing window (bounded by the deadline of wait_for).
    let settle = Instant::now() + Duration::from_millis(600);
    wait_until(Duration::from_secs(5), "coalescing window to pass", || {
        Instant::now() >= settle
    });
    let count = p.reloads("signal", "unchanged") + p.reloads("signal", "applied");
    assert!(
        (1.0..=2.0).contains(&count),
        "{count} reloads for 1000 SIGHUPs sent in {burst:?}"
    );
}

/// Reads every datagram on the fake notify socket until `done` matches one.
fn notify_messages(socket: &UnixDatagram, until: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        if let Ok(n) = socket.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let stop = msg.contains(until);
            out.push(msg);
            if stop {
                break;
            }
        }
    }
    out
}

#[test]
fn sd_notify_sequence_for_start_reloads_and_stop() {
    let sim = known_site();
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    write_config(dir.path(), sim.port(), "");
    let mut p = Running::spawn(dir.path(), &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())]);
    p.wait_started();
    let start = notify_messages(&socket, "READY=1", Duration::from_secs(10));
    assert_eq!(start, ["READY=1\nSTATUS=generation 1 applied; serving 1 site(s)"]);

    // An applied reload.
    write_config(dir.path(), sim.port(), "  logLevel: debug\n");
    p.signal(Signal::HUP);
    let applied = notify_messages(&socket, "READY=1", Duration::from_secs(10));
    assert_eq!(applied.len(), 2, "{applied:?}");
    assert!(
        applied[0].starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{applied:?}"
    );
    let status = applied[1]
        .strip_prefix("READY=1\nSTATUS=generation 2 applied ")
        .expect("status line");
    assert!(
        status.len() == 8 && status.as_bytes()[2] == b':' && status.as_bytes()[5] == b':',
        "{status}"
    );

    // A rejected reload still ends with READY=1, and says why.
    write_config(dir.path(), sim.port(), "  logLevel: loud\n");
    p.signal(Signal::HUP);
    let rejected = notify_messages(&socket, "READY=1", Duration::from_secs(10));
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected[0].starts_with("RELOADING=1\nMONOTONIC_USEC="));
    assert_eq!(
        rejected[1],
        "READY=1\nSTATUS=reload rejected: server.logLevel: \"loud\" is not a log level (expected error, warn, info, debug or trace); serving generation 2"
    );

    p.signal(Signal::TERM);
    let stop = notify_messages(&socket, "STOPPING=1", Duration::from_secs(10));
    assert_eq!(stop, ["STOPPING=1\nSTATUS=stopping"]);
    assert_eq!(p.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

/// Writes the config on a fixed listen port, with a long debounce that keeps the file
/// watcher out of the way: each change is applied by the reload client's own trigger, so
/// the outcome it reports is deterministic.
fn write_config_on_port(dir: &Path, sim_port: u16, port: u16, extra: &str) {
    write_config(dir, sim_port, &format!("  enableLifecycle: true\n{extra}"));
    let path = dir.join("config.yaml");
    let yaml = std::fs::read_to_string(&path)
        .unwrap()
        .replace("port: 0\n", &format!("port: {port}\n"))
        .replace("reload:\n", "reload:\n  debounce: 10s\n");
    std::fs::write(path, yaml).unwrap();
}

/// Runs `nbu-exporter reload ARGS --config CONFIG`: (exit code, stdout, stderr).
fn run_client(args: &[&str], config: &Path) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("reload")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("reload client");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn reload_client_reports_the_outcome_of_its_own_reload() {
    let sim = known_site();
    let dir = tempfile::tempdir().unwrap();
    // A fixed port, so the client finds the daemon from the config file.
    let port = free_port();
    let config = dir.path().join("config.yaml");
    let with_port = |extra: &str| write_config_on_port(dir.path(), sim.port(), port, extra);
    with_port("");
    let mut p = Running::spawn(dir.path(), &[]);
    p.wait_started();
    let pid = p.child.id().to_string();
    let client = || run_client(&["--timeout", "10s", "--pid", &pid], &config);

    // Invalid: exit 1 with the problem.
    with_port("  logLevel: chatty\n");
    let (code, _, stderr) = client();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("server.logLevel: \"chatty\" is not a log level"),
        "{stderr}"
    );
    assert!(stderr.contains("still serving generation 1"), "{stderr}");

    // Fixed: exit 0, applied. Then at once the same again: unchanged, never the earlier result.
    with_port("  logLevel: debug\n");
    let (code, stdout, stderr) = client();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("reload applied: generation 2"), "{stdout}");
    let (code, stdout, _) = client();
    assert_eq!(code, 0);
    assert!(stdout.contains("reload unchanged: generation 2"), "{stdout}");

    // Two in quick succession, the second one invalid: each reports its own attempt.
    with_port("  logLevel: warn\n");
    let (first, first_out, _) = client();
    with_port("  logLevel: nope\n");
    let (second, _, second_err) = client();
    assert_eq!((first, second), (0, 1), "{first_out} / {second_err}");
    assert!(first_out.contains("generation 3"), "{first_out}");

    // A dead pid: exit 2.
    p.signal(Signal::KILL);
    p.wait_exit(Duration::from_secs(10));
    let (code, _, stderr) = client();
    assert_eq!(code, 2, "{stderr}");
}

fn count_entries(dir: String) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_thousand_reloads_leak_no_threads_or_fds() {
    let paris = known_site();
    let rome = known_site();
    let dir = tempfile::tempdir().unwrap();
    let site = |name: &str, port: u16| {
        format!(
            "  - site: {name}\n    scheme: http\n    host: 127.0.0.1\n    port: {port}\n    apiKey: {KEY}\n"
        )
    };
    let a = format!(
        "server:\n  host: 127.0.0.1\n  port: 0\n  enableLifecycle: true\nreload:\n  pollInterval: 0\nnbuservers:\n{}",
        site("paris", paris.port())
    );
    let b = format!("{a}{}", site("rome", rome.port()));
    let invalid = a.replace("port: 0", "port: 70000");
    std::fs::write(dir.path().join("config.yaml"), &a).unwrap();
    let mut p = Running::spawn(dir.path(), &[]);
    p.wait_started();
    wait_until(Duration::from_secs(20), "ready", || p.get("/-/ready").0 == 200);
    let pid = p.child.id();
    let threads = || count_entries(format!("/proc/{pid}/task"));
    let fds = || count_entries(format!("/proc/{pid}/fd"));
    // Warm up once through every kind of change, so lazily created pools exist.
    let agent = agent();
    let reload = |text: &str| {
        std::fs::write(dir.path().join("config.yaml"), text).unwrap();
        let _ = agent.post(&format!("{}/-/reload", p.base)).send_empty();
    };
    for text in [&b, &invalid, &a] {
        reload(text);
    }
    wait_until(Duration::from_secs(20), "ready after warm-up", || {
        p.get("/-/ready").0 == 200
    });
    let (threads_before, fds_before) = (threads(), fds());
    for i in 0..1000 {
        reload(match i % 3 {
            0 => &b,
            1 => &invalid,
            _ => &a,
        });
    }
    reload(&a);
    // Retired pollers and drained listeners finish within a bounded time.
    wait_until(Duration::from_secs(30), "threads back to the start value", || {
        threads() <= threads_before
    });
    wait_until(Duration::from_secs(30), "fds back to the start value", || {
        fds() <= fds_before
    });
    assert!(p.child.try_wait().unwrap().is_none(), "still running");
}

/// Regression: `reload --url` could not read the POST answer (no `id` field) and always
/// exited 2; `reload --pid` lost the daemon when the reload moved its listener.
#[test]
fn reload_client_over_http_and_across_a_port_move() {
    let sim = known_site();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let (p1, p2) = (free_port(), free_port());
    let write = |port: u16, extra: &str| write_config_on_port(dir.path(), sim.port(), port, extra);
    write(p1, "");
    let mut p = Running::spawn(dir.path(), &[]);
    p.wait_started();
    let url = format!("http://127.0.0.1:{p1}");

    write(p1, "  logLevel: debug\n");
    let (code, stdout, stderr) = run_client(&["--url", &url], &config);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("reload applied: generation 2"), "{stdout}");
    write(p1, "  logLevel: mumble\n");
    let (code, _, stderr) = run_client(&["--url", &url], &config);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("server.logLevel: \"mumble\" is not a log level"),
        "{stderr}"
    );

    // The reload moves the listener: the client finds the daemon on the new port.
    write(p2, "");
    let (code, stdout, stderr) =
        run_client(&["--pid", &p.child.id().to_string(), "--timeout", "20s"], &config);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("reload applied: generation 3"),
        "{stdout}\n{}",
        p.stderr()
    );
    let status = http_get(&agent(), &format!("http://127.0.0.1:{p2}/-/config-status"));
    assert_eq!(status.0, 200);
}

/// Regression: tiny_http's accept thread stopped for good on its first accept error, so
/// running out of file descriptors once left the exporter running but deaf for ever.
#[test]
fn running_out_of_file_descriptors_does_not_stop_the_listener() {
    use rustix::process::{getrlimit, prlimit, Resource, Rlimit};
    let sim = known_site();
    let (_dir, p) = started_against(sim.port());
    assert_eq!(p.get("/-/healthy").0, 200);
    let fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", p.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    // A few descriptors to spare, then hold more connections than that.
    let limit = Rlimit {
        current: Some(fds() as u64 + 6),
        maximum: getrlimit(Resource::Nofile).maximum,
    };
    prlimit(Some(p.pid()), Resource::Nofile, limit).expect("lower the child's fd limit");
    let addr = p.base.trim_start_matches("http://").to_string();
    let held: Vec<std::net::TcpStream> = (0..30)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    wait_until(Duration::from_secs(10), "the exporter out of descriptors", || {
        p.stderr().contains("Too many open files")
    });
    drop(held);
    // Descriptors come back as the front's threads see their clients gone (on a loaded
    // machine not at once: a scrape meanwhile may get 503); then scrapes are served.
    let mut last = (0, String::new());
    wait_until(Duration::from_secs(10), "a scrape served again", || {
        last = p.get("/metrics");
        last.0 == 200
    });
    assert!(last.1.contains("nbu_up{"), "{}", last.1);
}

/// The README's first command: `demo` serves non-zero job and storage series within
/// moments. (Port 0 here; the printed URL carries the port actually bound.)
#[test]
fn demo_serves_job_and_storage_series() {
    use std::io::BufRead;
    let mut child = Command::new(BIN)
        .args(["demo", "--port", "0", "--jobs", "300"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = crossbeam_channel::unbounded();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(50)
        {
            let _ = tx.send(line);
        }
    });
    let url = wait_for(Duration::from_secs(30), "the demo's metrics URL", || {
        rx.try_iter()
            .find_map(|l| l.trim().strip_prefix("metrics:").map(|u| u.trim().to_string()))
    });
    let agent = agent();
    let m = wait_for(Duration::from_secs(30), "non-zero job and storage series", || {
        let (status, body) = http_get(&agent, &url);
        let m = Metrics::parse(&body);
        let both_up = ["paris", "london"]
            .iter()
            .all(|s| m.get("nbu_up", &[("site", s)]) == Some(1.0));
        (status == 200 && both_up).then_some(m)
    });
    for site in ["paris", "london"] {
        assert!(m.sum("nbu_jobs_count", &[("site", site)]) > 0.0, "{site} jobs");
        assert!(m.sum("nbu_disk_bytes", &[("site", site)]) > 0.0, "{site} storage");
    }
    let pid = Pid::from_raw(child.id() as i32).expect("pid");
    kill_process(pid, Signal::TERM).expect("stop the demo");
    let status = wait_for(Duration::from_secs(20), "demo exit", || {
        child.try_wait().ok().flatten()
    });
    assert_eq!(status.code(), Some(0));
    let _ = reader.join();
}
