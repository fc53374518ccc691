//! The exporter's own HTTP server (tiny_http): `/metrics` (path from `server.uri`),
//! liveness, readiness, the landing page, `POST /-/reload` and `GET /-/config-status`.
//!
//! A `Listener` is bound first and served later, so a reload can bind a new address
//! before it swaps and reject the change if the bind fails. Handlers read one generation
//! per request and never call NetBackup. This module must not know how a reload works:
//! it sends `Event::Reload` and relays the answer.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use tiny_http::{Header, Method, Request, Response};

use crate::metrics::{self, ScrapeView};
use crate::reload::{Attempt, Event, Outcome, Trigger};
use crate::state::Shared;

/// Worker threads per listener.
pub const WORKERS: usize = 4;
/// How long a `POST /-/reload` waits for its outcome.
const RELOAD_WAIT: Duration = Duration::from_secs(60);
/// How often idle workers check their stop flag.
const POLL_STEP: Duration = Duration::from_millis(50);
/// How long a stopped listener keeps answering queued requests.
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// A bound listener and, once served, its workers.
pub struct Listener {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Listener {
    /// Binds `host:port`. Nothing is served until `serve`.
    pub fn bind(host: &str, port: u16) -> Result<Listener, String> {
        let display = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve listen address {display}: {e}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve listen address {display}"))?;
        let socket = listen(addr).map_err(|e| format!("cannot listen on {display}: {e}"))?;
        let server = tiny_http::Server::from_listener(socket, None)
            .map_err(|e| format!("cannot listen on {display}: {e}"))?;
        let bound = server.server_addr().to_ip().unwrap_or(addr);
        Ok(Listener {
            server: Arc::new(server),
            addr: bound,
            stop: Arc::new(AtomicBool::new(false)),
            workers: Vec::new(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts the worker threads.
    pub fn serve(&mut self, shared: &Arc<Shared>, workers: usize) -> std::io::Result<()> {
        for i in 0..workers.max(1) {
            let server = Arc::clone(&self.server);
            let stop = Arc::clone(&self.stop);
            let shared = Arc::clone(shared);
            let handle = std::thread::Builder::new()
                .name(format!("http-{}-{i}", self.addr.port()))
                .spawn(move || worker_loop(&server, &stop, &shared))?;
            self.workers.push(handle);
        }
        Ok(())
    }

    /// Stops taking new work: workers finish what is queued, then exit once idle (or
    /// after `DRAIN_MAX`). Returns at once.
    pub fn begin_drain(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Joins the workers if they have all exited; true when the listener is done.
    pub fn try_finish(&mut self) -> bool {
        if self.workers.iter().all(|w| w.is_finished()) {
            for w in self.workers.drain(..) {
                let _ = w.join();
            }
            true
        } else {
            false
        }
    }

    /// Drains and waits at most `grace` for in-flight requests. Returns whether every
    /// worker finished in time; a worker stuck on a slow client is left behind.
    pub fn shutdown(mut self, grace: Duration) -> bool {
        self.begin_drain();
        let deadline = Instant::now() + grace;
        while !self.try_finish() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

/// Binds a TCP listener whose accepted connections have Nagle's algorithm off.
///
/// tiny_http writes a response in several pieces (the head, then the body in 8 KiB chunks).
/// With Nagle on, a piece written while an earlier one is unacknowledged waits for the
/// client's delayed ACK: about 40 ms on Linux, on a large share of keep-alive scrapes.
/// Linux copies `TCP_NODELAY` from the listening socket to every socket it accepts.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpListener::bind(addr)?;
    rustix::net::sockopt::set_tcp_nodelay(&socket, true)?;
    Ok(socket)
}

/// Serves until stopped; once stopped, keeps serving what is already queued until idle
/// for one poll step, so a request accepted before the stop still gets its answer.
fn worker_loop(server: &tiny_http::Server, stop: &AtomicBool, shared: &Arc<Shared>) {
    let mut drain_deadline: Option<Instant> = None;
    loop {
        match server.recv_timeout(POLL_STEP) {
            Ok(Some(request)) => handle(request, shared),
            Ok(None) => {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
            Err(e) => {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                log::debug!("http accept error error={e}");
                std::thread::sleep(POLL_STEP);
            }
        }
        if stop.load(Ordering::SeqCst) {
            let deadline = *drain_deadline.get_or_insert_with(|| Instant::now() + DRAIN_MAX);
            if Instant::now() >= deadline {
                return;
            }
        }
    }
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond(request: Request, status: u16, content_type: &str, body: Vec<u8>) {
    let mut response = Response::from_data(body).with_status_code(status);
    if let Some(h) = header("Content-Type", content_type) {
        response.add_header(h);
    }
    if let Err(e) = request.respond(response) {
        log::debug!("http response not delivered error={e}");
    }
}

fn respond_text(request: Request, status: u16, body: &str) {
    respond(
        request,
        status,
        "text/plain; charset=utf-8",
        format!("{body}\n").into_bytes(),
    );
}

fn respond_json<T: Serialize>(request: Request, status: u16, value: &T) {
    match serde_json::to_vec_pretty(value) {
        Ok(mut body) => {
            body.push(b'\n');
            respond(request, status, "application/json", body)
        }
        Err(e) => respond_text(request, 500, &format!("cannot encode response: {e}")),
    }
}

fn handle(request: Request, shared: &Arc<Shared>) {
    let generation = shared.current();
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let method = request.method().clone();
    let is_get = matches!(method, Method::Get | Method::Head);
    let metrics_path = generation.config.server.uri.as_str();
    match path {
        p if p == metrics_path => {
            if !is_get {
                return respond_text(request, 405, "method not allowed: use GET");
            }
            let snapshots: Vec<_> = generation.sites.iter().map(|s| s.snapshot()).collect();
            let view = ScrapeView {
                generation: generation.number,
                config_sha256: &generation.sha_short,
                sites: &snapshots,
            };
            let body = metrics::render(&view, &shared.metrics);
            respond(request, 200, metrics::CONTENT_TYPE, body)
        }
        "/health" | "/-/healthy" => {
            if !is_get {
                return respond_text(request, 405, "method not allowed: use GET");
            }
            respond_text(request, 200, "OK")
        }
        "/-/ready" => {
            if !is_get {
                return respond_text(request, 405, "method not allowed: use GET");
            }
            let waiting: Vec<&str> = generation
                .sites
                .iter()
                .filter(|s| !s.has_swept())
                .map(|s| s.name())
                .collect();
            if waiting.is_empty() {
                respond_text(request, 200, "ready")
            } else {
                respond_text(
                    request,
                    503,
                    &format!("not ready: waiting for the first sweep of {}", waiting.join(", ")),
                )
            }
        }
        "/-/config-status" => {
            if !is_get {
                return respond_text(request, 405, "method not allowed: use GET");
            }
            respond_json(request, 200, &shared.status.snapshot())
        }
        "/-/reload" => {
            if !matches!(method, Method::Post | Method::Put) {
                return respond_text(request, 405, "method not allowed: use POST");
            }
            if !generation.config.server.enable_lifecycle {
                return respond_text(
                    request,
                    403,
                    "the lifecycle API is disabled: set server.enableLifecycle: true in the config to allow POST /-/reload",
                );
            }
            let force = query
                .split('&')
                .any(|kv| matches!(kv, "force" | "force=1" | "force=true"));
            http_reload(request, shared, force)
        }
        "/" => {
            if !is_get {
                return respond_text(request, 405, "method not allowed: use GET");
            }
            respond(
                request,
                200,
                "text/html; charset=utf-8",
                landing_page(metrics_path).into_bytes(),
            )
        }
        _ => respond_text(request, 404, &format!("not found; metrics are at {metrics_path}")),
    }
}

#[derive(Serialize)]
struct ReloadAnswer<'a> {
    result: Outcome,
    generation: u64,
    attempt: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    problems: &'a [String],
    changes: &'a [String],
    duration_ms: f64,
}

fn http_reload(request: Request, shared: &Arc<Shared>, force: bool) {
    let (tx, rx) = crossbeam_channel::bounded::<Attempt>(1);
    if shared
        .events
        .send(Event::Reload {
            trigger: Trigger::Http,
            force,
            reply: Some(tx),
        })
        .is_err()
    {
        return respond_text(request, 503, "the daemon is shutting down");
    }
    match rx.recv_timeout(RELOAD_WAIT) {
        Ok(a) => {
            let status = match a.result {
                Outcome::Applied | Outcome::Unchanged => 200,
                Outcome::Rejected => 400,
                Outcome::Failed => 500,
            };
            let answer = ReloadAnswer {
                result: a.result,
                generation: a.generation,
                attempt: a.id,
                reason: a.reason.as_deref(),
                problems: &a.problems,
                changes: &a.changes,
                duration_ms: a.duration_ms,
            };
            respond_json(request, status, &answer)
        }
        Err(_) => respond_text(
            request,
            503,
            "the reload did not finish in time; see /-/config-status",
        ),
    }
}

fn landing_page(metrics_path: &str) -> String {
    let escaped: String = metrics_path
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!(
        "<!doctype html>\n<html><head><title>NetBackup Exporter</title></head><body>\n\
         <h1>NetBackup Exporter</h1>\n<p>Version {}</p>\n<ul>\n\
         <li><a href=\"{escaped}\">Metrics</a></li>\n\
         <li><a href=\"/-/healthy\">Health</a></li>\n\
         <li><a href=\"/-/ready\">Readiness</a></li>\n\
         <li><a href=\"/-/config-status\">Config reload status</a></li>\n\
         </ul>\n</body></html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn accepted_connections_have_nagle_off() {
        let socket = listen(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let _client = TcpStream::connect(socket.local_addr().unwrap()).unwrap();
        let (accepted, _) = socket.accept().unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "TCP_NODELAY is inherited from the listener"
        );
    }
}
