//! The exporter's own HTTP server (tiny_http): `/metrics` (path from `server.uri`),
//! liveness, readiness, the landing page, `POST /-/reload` and `GET /-/config-status`.
//! (The HTTP client that talks to NetBackup is `nbu::http`, unrelated.)
//!
//! A `Listener` is bound first, then `serve` starts its threads, and `open` lets its
//! workers answer: a reload binds and serves a new address before it swaps (and rejects
//! the change if that fails), and opens it only once the new generation is live, so a
//! listener never answers from a generation older than the one it was made for (at
//! startup, none). Requests that arrive meanwhile wait in the queue. The public socket belongs to
//! `front`, which hands tiny_http (on a Unix socket in a private directory, `backend`) only
//! complete, bounded requests that passed the `edge` (TLS, authentication). Handlers read one generation per request and never call NetBackup; at most
//! `RELOAD_WAITERS` workers per listener wait on a reload, so reloads (held by
//! `ReloadControl::defer` or not) cannot take every worker from `/metrics`. This module
//! must not know how a reload works: it sends `Event::Reload` and relays the answer.

mod auth;
mod backend;
mod edge;
mod front;
mod gzip;
mod scrape;
mod tls;

use std::fmt;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use serde::Serialize;
use tiny_http::{Header, Method, Request, Response};

use crate::state::{Attempt, Event, ReloadOutcome, SharedState, Trigger};

pub use crate::metrics::exporter::VERIFICATIONS_METRIC;
pub use auth::{Verdicts, PROBES};
pub use backend::SOCKET_NAME;
pub use edge::Edge;
pub use front::{
    HEAD_TIMEOUT, MAX_BODY_BYTES, MAX_CONNECTIONS, MAX_HEADERS, MAX_HEAD_BYTES, MAX_REQUEST_LINE,
};

pub use tls::HANDSHAKE_TIMEOUT;

/// Worker threads per listener.
pub const WORKERS: usize = 4;
/// Workers of one listener that may wait on a reload at once; further `POST /-/reload`
/// get 429 while they wait.
pub const RELOAD_WAITERS: usize = 1;
/// How long a `POST /-/reload` waits for its outcome.
const RELOAD_WAIT: Duration = Duration::from_secs(60);
/// A draining worker exits after this long without a request.
const POLL_STEP: Duration = Duration::from_millis(50);
/// How long a stopped listener keeps answering queued requests.
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// A bound listener and, once served, its accept front and workers.
pub struct Listener {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    /// The public socket until `serve` hands it to the front.
    public: Option<TcpListener>,
    front: Option<front::Front>,
    /// Connections the front is serving (workers wait for them when draining).
    live: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    /// Workers waiting on a reload now.
    reload_waiters: Arc<AtomicUsize>,
    /// What its workers share for `/metrics` (the sites' part last rendered, a compressor).
    scrape_cache: Arc<scrape::ScrapeCache>,
    workers: Vec<JoinHandle<()>>,
    /// When `try_finish` last queued wake-ups for workers still blocked.
    last_unblock: Option<Instant>,
    /// Hands each served worker the state it answers from (`open`). Dropped by
    /// `begin_drain`, which ends workers still waiting for it.
    opening: Option<Sender<Ctx>>,
    /// What new connections are held to; `set_edge` swaps it.
    edge: Arc<parking_lot::RwLock<Arc<Edge>>>,
    /// tiny_http's socket and its private directory, removed when the listener goes (after
    /// `server`, whose drop still connects to the socket to wake its accept thread).
    backend: backend::BackendDir,
}

/// Why a listener could not be bound.
#[derive(Debug)]
pub enum BindError {
    /// `server.host` does not resolve to an address.
    Resolve {
        address: String,
        source: Option<std::io::Error>,
    },
    /// The public socket cannot be bound: the port is taken, or not ours to take.
    Listen { address: String, source: std::io::Error },
    /// The private Unix socket the tiny_http workers read from cannot be set up;
    /// `step` says which part failed.
    Workers {
        step: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl BindError {
    fn workers(step: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> BindError {
        BindError::Workers {
            step,
            source: source.into(),
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::Resolve {
                address,
                source: Some(e),
            } => write!(f, "cannot resolve listen address {address}: {e}"),
            BindError::Resolve {
                address,
                source: None,
            } => write!(f, "cannot resolve listen address {address}"),
            BindError::Listen { address, source } => write!(f, "cannot listen on {address}: {source}"),
            BindError::Workers { step, source } => write!(f, "{step}: {source}"),
        }
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BindError::Resolve { source, .. } => source.as_ref().map(|e| e as _),
            BindError::Listen { source, .. } => Some(source),
            BindError::Workers { source, .. } => Some(source.as_ref()),
        }
    }
}

/// What a worker needs besides the server.
struct Ctx {
    shared: Arc<SharedState>,
    reload_waiters: Arc<AtomicUsize>,
    scrape_cache: Arc<scrape::ScrapeCache>,
}

impl Listener {
    /// Binds `host:port`. Nothing is served until `serve`.
    pub fn bind(host: &str, port: u16) -> Result<Listener, BindError> {
        let address = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let addr = match (host, port).to_socket_addrs() {
            Ok(mut found) => found.next(),
            Err(e) => {
                return Err(BindError::Resolve {
                    address,
                    source: Some(e),
                })
            }
        };
        let Some(addr) = addr else {
            return Err(BindError::Resolve {
                address,
                source: None,
            });
        };
        let public = match TcpListener::bind(addr) {
            Ok(public) => public,
            Err(source) => return Err(BindError::Listen { address, source }),
        };
        let bound = public.local_addr().unwrap_or(addr);
        let (backend, private) = backend::BackendDir::bind()
            .map_err(|e| BindError::workers("cannot set up the HTTP workers' socket", e))?;
        let server = tiny_http::Server::from_listener(private, None)
            .map_err(|e| BindError::workers("cannot start the HTTP server", e))?;
        Ok(Listener {
            server: Arc::new(server),
            addr: bound,
            public: Some(public),
            front: None,
            live: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            reload_waiters: Arc::new(AtomicUsize::new(0)),
            scrape_cache: Arc::default(),
            workers: Vec::new(),
            last_unblock: None,
            opening: None,
            edge: Arc::new(parking_lot::RwLock::new(Arc::new(Edge::open()))),
            backend,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The edge new connections are held to.
    pub fn edge(&self) -> Arc<Edge> {
        Arc::clone(&self.edge.read())
    }

    /// Holds connections accepted from now on to `edge`; those in flight keep theirs.
    pub fn set_edge(&self, edge: Arc<Edge>) {
        *self.edge.write() = edge;
    }

    /// Starts the worker threads, then the accept front. Requests are accepted and queued,
    /// but the workers answer none until `open`.
    pub fn serve(&mut self, workers: usize) -> std::io::Result<()> {
        let workers = workers.max(1);
        let (opening, opened) = crossbeam_channel::bounded::<Ctx>(workers);
        self.opening = Some(opening);
        for i in 0..workers {
            let server = Arc::clone(&self.server);
            let stop = Arc::clone(&self.stop);
            let live = Arc::clone(&self.live);
            let opened = opened.clone();
            let handle = std::thread::Builder::new()
                .name(format!("http-{}-{i}", self.addr.port()))
                .spawn(move || {
                    // Dropped unopened (an abandoned preparation, a drain): nothing to answer.
                    if let Ok(ctx) = opened.recv() {
                        worker_loop(&server, &stop, &live, &ctx);
                    }
                })?;
            self.workers.push(handle);
        }
        if let Some(public) = self.public.take() {
            let answer_timeout = RELOAD_WAIT + Duration::from_secs(15);
            self.front = Some(front::Front::start(
                public,
                self.backend.socket().to_path_buf(),
                Arc::clone(&self.edge),
                answer_timeout,
                Arc::clone(&self.live),
            )?);
        }
        Ok(())
    }

    /// Lets the workers answer, each reading the running generation from `shared` per
    /// request. Called once the generation this listener was prepared for is live.
    pub fn open(&mut self, shared: &Arc<SharedState>) {
        if let Some(opening) = self.opening.take() {
            for _ in 0..self.workers.len() {
                let _ = opening.send(Ctx {
                    shared: Arc::clone(shared),
                    reload_waiters: Arc::clone(&self.reload_waiters),
                    scrape_cache: Arc::clone(&self.scrape_cache),
                });
            }
        }
    }

    /// Stops taking new work: the front stops accepting, workers finish what is queued,
    /// then exit once idle (or after `DRAIN_MAX`); workers never opened exit at once.
    /// Returns at once.
    pub fn begin_drain(&mut self) {
        self.opening = None;
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        if let Some(front) = &self.front {
            front.stop();
        }
        self.stop.store(true, Ordering::SeqCst);
        // One wake-up per worker blocked in `recv`; queued requests come first (FIFO).
        // `try_finish` repeats them for workers that a draining worker robbed.
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
    }

    /// Joins the workers and the accept thread if they have all exited; true when the
    /// listener is done.
    ///
    /// tiny_http's `unblock` queues a wake-up that whichever thread pops next takes, and a
    /// worker already draining pops with `recv_timeout`: it can take the wake-up meant for
    /// a worker still blocked in `recv`, which would then never wake. So while workers are
    /// left, each call (at most one per `POLL_STEP`) queues one more wake-up per worker
    /// left; spare ones are taken harmlessly by draining workers.
    pub fn try_finish(&mut self) -> bool {
        let front_done = self.front.as_mut().is_none_or(|f| f.try_finish());
        let left = self.workers.iter().filter(|w| !w.is_finished()).count();
        if front_done && left == 0 {
            for w in self.workers.drain(..) {
                let _ = w.join();
            }
            return true;
        }
        if self.stop.load(Ordering::SeqCst) && self.last_unblock.is_none_or(|t| t.elapsed() >= POLL_STEP) {
            for _ in 0..left {
                self.server.unblock();
            }
            self.last_unblock = Some(Instant::now());
        }
        false
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

impl Drop for Listener {
    /// A listener dropped without a drain (an abandoned preparation) still closes its
    /// socket and lets its threads end.
    fn drop(&mut self) {
        self.begin_drain();
    }
}

/// Serves until stopped, blocking in `recv` (no wake-ups while idle). Once stopped (see
/// `begin_drain`), keeps serving until idle for one poll step with no connection left in
/// the front, so a request accepted before the stop still gets its answer.
fn worker_loop(server: &tiny_http::Server, stop: &AtomicBool, live: &AtomicUsize, ctx: &Ctx) {
    while !stop.load(Ordering::SeqCst) {
        match server.recv() {
            Ok(request) => handle(request, ctx),
            // `unblock` from begin_drain: the loop condition ends the serving phase.
            Err(_) if stop.load(Ordering::SeqCst) => {}
            Err(e) => {
                // Only the front connects to tiny_http, so this is rare: its accept
                // thread has stopped and this listener answers no more.
                log::error!(error:% = e; "http server stopped accepting");
                std::thread::sleep(POLL_STEP);
            }
        }
    }
    let deadline = Instant::now() + DRAIN_MAX;
    while Instant::now() < deadline {
        match server.recv_timeout(POLL_STEP) {
            Ok(Some(request)) => handle(request, ctx),
            Ok(None) | Err(_) => {
                if live.load(Ordering::SeqCst) == 0 {
                    return;
                }
            }
        }
    }
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond(request: Request, status: u16, content_type: &str, body: Vec<u8>) {
    let headers: Vec<Header> = header("Content-Type", content_type).into_iter().collect();
    let len = body.len();
    let response = Response::new(
        tiny_http::StatusCode(status),
        headers,
        body.as_slice(),
        Some(len),
        None,
    );
    if let Err(e) = request.respond(response) {
        log::debug!(error:% = e; "http response not delivered");
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

fn handle(request: Request, ctx: &Ctx) {
    let shared = &ctx.shared;
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
            let Some(coding) = scrape::coding(&request) else {
                return respond_text(
                    request,
                    406,
                    "not acceptable: Accept-Encoding excludes both gzip and identity, the codings /metrics is sent in",
                );
            };
            scrape::respond(request, coding, &ctx.scrape_cache, &generation, &shared.metrics)
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
            let Some(permit) = Permit::take(&ctx.reload_waiters, RELOAD_WAITERS) else {
                return respond_busy(request);
            };
            http_reload(request, shared, force, permit)
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

/// One of a bounded number of places; given back on drop.
struct Permit<'a>(&'a AtomicUsize);

impl<'a> Permit<'a> {
    fn take(taken: &'a AtomicUsize, max: usize) -> Option<Permit<'a>> {
        taken
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| Permit(taken))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// 429 for a `POST /-/reload` while others already wait on a reload.
fn respond_busy(request: Request) {
    let body = "another reload requested over HTTP is in progress; retry once it has answered \
                (GET /-/config-status shows the outcome)\n";
    let mut response = Response::from_data(body.as_bytes().to_vec()).with_status_code(429);
    for h in [
        header("Content-Type", "text/plain; charset=utf-8"),
        header("Retry-After", "1"),
    ]
    .into_iter()
    .flatten()
    {
        response.add_header(h);
    }
    if let Err(e) = request.respond(response) {
        log::debug!(error:% = e; "http response not delivered");
    }
}

/// The answer to `POST /-/reload`: the attempt exactly as `/-/config-status` lists it, plus
/// `attempt`, the name operations.md gives its id in this answer.
#[derive(Serialize)]
struct ReloadAnswer<'a> {
    #[serde(flatten)]
    attempt: &'a Attempt,
    #[serde(rename = "attempt")]
    id: u64,
}

/// Waits on one reload while holding `permit`, and gives the permit back before
/// answering: a client that sends its next `POST /-/reload` as soon as it has read this
/// answer must not find the place still taken and get a 429.
fn http_reload(request: Request, shared: &Arc<SharedState>, force: bool, permit: Permit<'_>) {
    let (tx, rx) = std::sync::mpsc::channel::<Attempt>();
    if shared
        .events
        .send(Event::Reload {
            trigger: Trigger::Http,
            force,
            reply: Some(tx),
        })
        .is_err()
    {
        drop(permit);
        return respond_text(request, 503, "the daemon is shutting down");
    }
    let outcome = rx.recv_timeout(RELOAD_WAIT);
    drop(permit);
    match outcome {
        Ok(a) => {
            let status = match a.result {
                ReloadOutcome::Applied | ReloadOutcome::Unchanged => 200,
                ReloadOutcome::Rejected => 400,
                ReloadOutcome::Failed => 500,
            };
            respond_json(
                request,
                status,
                &ReloadAnswer {
                    attempt: &a,
                    id: a.id,
                },
            )
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
         <h1>NetBackup Exporter</h1>\n<p>Version {} (revision {})</p>\n<ul>\n\
         <li><a href=\"{escaped}\">Metrics</a></li>\n\
         <li><a href=\"/-/healthy\">Health</a></li>\n\
         <li><a href=\"/-/ready\">Readiness</a></li>\n\
         <li><a href=\"/-/config-status\">Config reload status</a></li>\n\
         </ul>\n</body></html>\n",
        crate::version::VERSION,
        crate::version::REVISION
    )
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use super::*;

    fn shared() -> Arc<SharedState> {
        let yaml = "nbuservers:\n  - site: paris\n    host: 127.0.0.1\n    apiKey: k\n";
        let loaded =
            crate::config::load_from_bytes(std::path::Path::new("config.yaml"), yaml.as_bytes(), &|_| None)
                .expect("a valid config");
        let generation = crate::state::Generation::new(1, &loaded, Vec::new());
        let (events, _) = crossbeam_channel::unbounded();
        Arc::new(SharedState::new(
            Arc::new(generation),
            Arc::new(crate::metrics::ExporterMetrics::new()),
            events,
        ))
    }

    fn get(addr: SocketAddr, path: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }

    /// `POST /-/reload` keeps the field names operations.md documents for it (`attempt`
    /// for the id), and the `reload` command reads it back as the same `Attempt` that
    /// `/-/config-status` lists.
    #[test]
    fn the_reload_answer_is_the_attempt_under_its_documented_names() {
        let attempt = Attempt {
            id: 7,
            trigger: Trigger::Http,
            result: ReloadOutcome::Rejected,
            generation: 2,
            reason: Some("invalid configuration (1 problem(s))".into()),
            problems: vec!["server.port: x".into()],
            changes: vec![],
            at_unix_ms: 1_795_649_551_615,
            duration_ms: 0.25,
        };
        let answer = serde_json::to_value(ReloadAnswer {
            attempt: &attempt,
            id: attempt.id,
        })
        .unwrap();
        for (key, want) in [
            ("result", serde_json::json!("rejected")),
            ("trigger", serde_json::json!("http")),
            ("generation", serde_json::json!(2)),
            ("attempt", serde_json::json!(7)),
            (
                "reason",
                serde_json::json!("invalid configuration (1 problem(s))"),
            ),
            ("problems", serde_json::json!(["server.port: x"])),
            ("changes", serde_json::json!([])),
            ("duration_ms", serde_json::json!(0.25)),
        ] {
            assert_eq!(answer[key], want, "{key} in {answer}");
        }
        let read_back: Attempt = serde_json::from_value(answer).unwrap();
        assert_eq!(read_back, attempt);
    }

    /// Every worker must wake for the drain, also when a worker that was woken first
    /// takes the other workers' wake-ups while it drains (which a plain `unblock` per
    /// worker allowed: a stop then waited out the whole grace, 10 s, on an idle server).
    #[test]
    fn an_idle_listener_shuts_down_with_every_worker_joined() {
        let shared = shared();
        for round in 0..5 {
            let mut listener = Listener::bind("127.0.0.1", 0).unwrap();
            listener.serve(WORKERS).unwrap();
            listener.open(&shared);
            let addr = listener.local_addr();
            for _ in 0..3 {
                assert!(get(addr, "/-/healthy").starts_with("HTTP/1.1 200"));
            }
            assert!(
                listener.shutdown(Duration::from_secs(8)),
                "round {round}: a worker never woke for the drain"
            );
        }
    }
}
