//! `nbu-exporter reload`: the synchronous reload client that `systemctl reload` runs.
//!
//! It reads the daemon's attempt counter from `/-/config-status`, triggers one reload
//! (SIGHUP to `--pid`, or `POST /-/reload`), then waits for an attempt newer than the one
//! it saw, so it never reports an earlier reload's result. Exit 0 applied or unchanged,
//! 1 rejected or failed, 2 unreachable or timed out. It knows the daemon only through its
//! HTTP API and its pid.
//!
//! With `--pid` it asks the daemon's own Unix socket first (found through `/proc`): it
//! needs neither TLS nor credentials when the port has them, and only the exporter's user
//! (who may signal it anyway) and root can enter its directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::state::Attempt;
use crate::timefmt::parse_go_duration;

#[derive(Deserialize, Debug)]
struct StatusView {
    attempts: u64,
    generation: u64,
    #[serde(default)]
    history: Vec<Attempt>,
}

const UNREACHABLE: u8 = 2;

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout.min(Duration::from_secs(5))))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Where the daemon answers: its port, or (found with `--pid`) its workers' Unix socket.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Endpoint {
    Url(String),
    Unix(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Url(base) => f.write_str(base),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

fn fetch_status(agent: &ureq::Agent, base: &Endpoint) -> Result<StatusView, String> {
    let url = format!("{base}/-/config-status");
    let body = match base {
        Endpoint::Url(_) => {
            let mut response = agent.get(&url).call().map_err(|e| format!("{url}: {e}"))?;
            if response.status() != 200 {
                return Err(format!("{url}: HTTP {}", response.status().as_u16()));
            }
            response
                .body_mut()
                .read_to_vec()
                .map_err(|e| format!("{url}: {e}"))?
        }
        Endpoint::Unix(path) => match unix_get(path, "/-/config-status") {
            Ok((200, body)) => body,
            Ok((status, _)) => return Err(format!("{url}: HTTP {status}")),
            Err(e) => return Err(format!("{url}: {e}")),
        },
    };
    serde_json::from_slice::<StatusView>(&body).map_err(|e| format!("{url}: unexpected answer: {e}"))
}

/// One `GET` over the daemon's Unix socket: (status, body).
fn unix_get(path: &Path, target: &str) -> Result<(u16, Vec<u8>), String> {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| e.to_string())?;
    for timeout in [
        stream.set_read_timeout(Some(Duration::from_secs(5))),
        stream.set_write_timeout(Some(Duration::from_secs(5))),
    ] {
        timeout.map_err(|e| e.to_string())?;
    }
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .take(4 << 20)
        .read_to_end(&mut answer)
        .map_err(|e| e.to_string())?;
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("incomplete answer")?;
    let status = std::str::from_utf8(&answer[..head_end])
        .ok()
        .and_then(|head| head.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("not an HTTP answer")?;
    Ok((status, answer[head_end + 4..].to_vec()))
}

/// Parses `--timeout` for the reload client.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    parse_go_duration(text).and_then(|d| {
        if d.is_zero() {
            Err("timeout must be > 0".into())
        } else {
            Ok(d)
        }
    })
}

/// Calls `probe` every `step` until it returns `Some` or `deadline` passes.
fn until<T>(deadline: Instant, step: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(step);
    }
}

pub fn run(config_path: &Path, pid: Option<i32>, url: Option<String>, timeout: &str) -> ExitCode {
    let timeout = match parse_timeout(timeout) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: --timeout: {e}");
            return ExitCode::from(UNREACHABLE);
        }
    };
    let deadline = Instant::now() + timeout;
    let agent = agent(timeout);
    let explicit = url.map(|u| Endpoint::Url(u.trim_end_matches('/').to_string()));
    let (base, before) = match find_daemon(&agent, explicit.as_ref(), config_path, pid) {
        Ok(found) => found,
        Err(errors) => {
            eprintln!("error: cannot reach the exporter: {errors}");
            return ExitCode::from(UNREACHABLE);
        }
    };

    match (pid, &base) {
        (Some(pid), _) => {
            if let Err(e) = send_sighup(pid) {
                eprintln!("error: {e}");
                return ExitCode::from(UNREACHABLE);
            }
        }
        (None, Endpoint::Url(url)) => return http_reload(&agent, url, deadline),
        (None, Endpoint::Unix(_)) => {
            eprintln!("error: pass --pid to reload through the daemon's socket");
            return ExitCode::from(UNREACHABLE);
        }
    }

    let seen = before.attempts;
    let mut base = base;
    let outcome = until(deadline, Duration::from_millis(20), || {
        let status = match fetch_status(&agent, &base) {
            Ok(status) => status,
            Err(_) => {
                // The reload may have moved the listener: look for the daemon again.
                let (moved, status) = find_daemon(&agent, explicit.as_ref(), config_path, pid).ok()?;
                base = moved;
                status
            }
        };
        status.history.into_iter().find(|a| a.id > seen)
    });
    match outcome {
        Some(attempt) => report(&attempt),
        None => {
            eprintln!(
                "error: no reload outcome within {}s (generation {} still running); see {base}/-/config-status",
                timeout.as_secs_f64(),
                before.generation
            );
            ExitCode::from(UNREACHABLE)
        }
    }
}

/// Finds the daemon's status endpoint: the explicit URL; else, with a pid, the daemon's
/// own Unix socket, then the address in the config file, then every address the process
/// listens on.
fn find_daemon(
    agent: &ureq::Agent,
    explicit: Option<&Endpoint>,
    config_path: &Path,
    pid: Option<i32>,
) -> Result<(Endpoint, StatusView), String> {
    let mut candidates: Vec<Endpoint> = explicit.cloned().into_iter().collect();
    if explicit.is_none() {
        if let Some(pid) = pid {
            candidates.extend(worker_sockets(pid).into_iter().map(Endpoint::Unix));
        }
        candidates.extend(base_urls_from_config(config_path).into_iter().map(Endpoint::Url));
    }
    if let Some(pid) = pid {
        candidates.extend(listening_urls(pid).into_iter().map(Endpoint::Url));
    }
    candidates.dedup();
    let mut errors = Vec::new();
    for base in candidates {
        match fetch_status(agent, &base) {
            Ok(status) => return Ok((base, status)),
            Err(e) => errors.push(e),
        }
    }
    Err(errors.join("; "))
}

/// Pause before asking again when the daemon answers 429 (another HTTP reload waiting).
const BUSY_RETRY: Duration = Duration::from_millis(250);

fn http_reload(agent: &ureq::Agent, base: &str, deadline: Instant) -> ExitCode {
    let url = format!("{base}/-/reload");
    let mut response = loop {
        match agent.post(&url).send_empty() {
            // Another reload requested over HTTP is waiting: ask again until the deadline.
            Ok(r) if r.status() == 429 && Instant::now() + BUSY_RETRY < deadline => {
                std::thread::sleep(BUSY_RETRY)
            }
            Ok(r) => break r,
            Err(e) => {
                eprintln!("error: {url}: {e}");
                return ExitCode::from(UNREACHABLE);
            }
        }
    };
    if response.status() == 429 {
        eprintln!("error: {url}: another reload requested over HTTP was still waiting at the deadline");
        return ExitCode::from(UNREACHABLE);
    }
    if response.status() == 401 {
        eprintln!(
            "error: {url}: the exporter requires credentials (basic_auth_users in its web config); pass --pid to reload through its own socket"
        );
        return ExitCode::from(UNREACHABLE);
    }
    if response.status() == 403 {
        eprintln!(
            "error: {url}: the lifecycle API is disabled; pass --pid, or set server.enableLifecycle: true"
        );
        return ExitCode::from(UNREACHABLE);
    }
    match response.body_mut().read_json::<Attempt>() {
        Ok(answer) => report(&answer),
        Err(e) => {
            eprintln!("error: {url}: HTTP {}: {e}", response.status().as_u16());
            ExitCode::from(UNREACHABLE)
        }
    }
}

fn report(a: &Attempt) -> ExitCode {
    match a.result.as_str() {
        "applied" => {
            let changes = if a.changes.is_empty() {
                String::new()
            } else {
                format!(" (changed: {})", a.changes.join(", "))
            };
            println!("reload applied: generation {} is running{changes}", a.generation);
            ExitCode::SUCCESS
        }
        "unchanged" => {
            println!(
                "reload unchanged: generation {} already runs this config",
                a.generation
            );
            ExitCode::SUCCESS
        }
        other => {
            eprintln!(
                "reload {other} (trigger {}): {}; still serving generation {}",
                a.trigger,
                a.reason.as_deref().unwrap_or("see the problems below"),
                a.generation
            );
            for p in &a.problems {
                eprintln!("  {p}");
            }
            ExitCode::from(1)
        }
    }
}

fn send_sighup(pid: i32) -> Result<(), String> {
    // pid 0, 1 and negative values address groups or init: never signal those.
    let target = rustix::process::Pid::from_raw(pid)
        .filter(|_| pid > 1)
        .ok_or_else(|| format!("invalid pid {pid}"))?;
    rustix::process::kill_process(target, rustix::process::Signal::HUP).map_err(|e| match e {
        rustix::io::Errno::SRCH => format!("no process with pid {pid}"),
        rustix::io::Errno::PERM => format!("not allowed to signal pid {pid}"),
        other => format!("cannot signal pid {pid}: {other}"),
    })
}

/// The exporter's address as the config file gives it, read leniently (the file may be
/// the invalid one we are about to be told about).
fn base_urls_from_config(path: &Path) -> Vec<String> {
    let value: Option<serde_yaml::Value> = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_yaml::from_slice(&bytes).ok());
    let server = value.as_ref().and_then(|v| v.get("server"));
    let host = server
        .and_then(|s| s.get("host"))
        .and_then(|h| h.as_str())
        .unwrap_or("0.0.0.0");
    let port = server
        .and_then(|s| s.get("port"))
        .and_then(|p| {
            p.as_u64()
                .or_else(|| p.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .unwrap_or(2112);
    vec![format!("http://{}:{port}", connectable(host))]
}

fn connectable(host: &str) -> String {
    match host {
        "" | "0.0.0.0" => "127.0.0.1".to_string(),
        "::" | "[::]" => "[::1]".to_string(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_string(),
    }
}

/// The inodes of the sockets process `pid` holds.
fn socket_inodes(pid: i32) -> std::collections::HashSet<String> {
    let mut inodes = std::collections::HashSet::new();
    if let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for entry in entries.flatten().take(10_000) {
            if let Ok(link) = std::fs::read_link(entry.path()) {
                let link = link.to_string_lossy();
                if let Some(inode) = link.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    inodes
}

/// The workers' Unix sockets process `pid` listens on, from /proc.
fn worker_sockets(pid: i32) -> Vec<PathBuf> {
    let inodes = socket_inodes(pid);
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/unix")) else {
        return Vec::new();
    };
    let suffix = format!("/{}", crate::http_server::SOCKET_NAME);
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Flags is field 3 (00010000 = listening), Inode field 6, Path field 7.
            let (flags, inode, path) = (fields.get(3)?, fields.get(6)?, fields.get(7)?);
            let listening = u32::from_str_radix(flags, 16).is_ok_and(|f| f & 0x0001_0000 != 0);
            (listening && inodes.contains(*inode) && path.ends_with(&suffix)).then(|| PathBuf::from(path))
        })
        .collect()
}

/// Where process `pid` listens, from /proc: a daemon whose new config moves the port is
/// still on the old one until the reload we are about to ask for.
fn listening_urls(pid: i32) -> Vec<String> {
    let inodes = socket_inodes(pid);
    let mut urls = Vec::new();
    for (table, loopback) in [("tcp", "127.0.0.1"), ("tcp6", "[::1]")] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is field 1 (HEX_IP:HEX_PORT), state field 3 (0A = LISTEN), inode field 9.
            let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if *state != "0A" || !inodes.contains(*inode) {
                continue;
            }
            if let Some(port) = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            {
                urls.push(format!("http://{loopback}:{port}"));
            }
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_is_a_positive_go_duration() {
        assert_eq!(parse_timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("0s"), Err("timeout must be > 0".to_string()));
        assert!(parse_timeout("ten seconds").is_err());
    }

    #[test]
    fn until_returns_the_first_answer_or_none_at_the_deadline() {
        let mut calls = 0;
        let found = until(
            Instant::now() + Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                calls += 1;
                (calls == 3).then_some(calls)
            },
        );
        assert_eq!(found, Some(3));
        let started = Instant::now();
        let none: Option<()> = until(
            started + Duration::from_millis(30),
            Duration::from_millis(5),
            || None,
        );
        assert_eq!(none, None);
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
