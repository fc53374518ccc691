//! The simulator's HTTP side: a plain `std::net` listener with its own minimal HTTP/1.1
//! request parsing, one thread per connection (capped), the control handle tests use, and
//! the NetBackup API as seen on the wire: auth, version negotiation (406), the error body,
//! `/admin/jobs` (cursor paging, sort, the OData filter subset) and
//! `/storage/storage-units` (offset paging).
//!
//! Threads: one accept thread polls a non-blocking listener and a stop flag every 10 ms and
//! owns the connection threads, joining them all on shutdown. Every blocking step of a
//! connection (read, write, fault wait) works in small slices that check the stop flag
//! and an absolute per-connection bound, so shutdown is prompt whatever a client does.
//!
//! It knows how records look on the wire only through `sim::data`, and how faults behave
//! only through `sim::faults`; it never uses the exporter's own NetBackup types.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use crate::data::{self, SimData, SimJob};
use crate::faults::{self, Fault, FaultTable, Faulty, Scope};
use crate::time::{now_millis, parse_rfc3339, UnixMillis};
use crate::version::ApiVersion;

/// Connections served at once; further ones are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 128;
/// Largest request head (request line plus headers) accepted, in bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 100;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Absolute bound on the life of one connection, whatever fault is active.
pub(crate) const CONNECTION_BOUND: Duration = Duration::from_secs(300);
/// The slice every wait is cut into, so the stop flag is seen promptly.
pub(crate) const POLL: Duration = Duration::from_millis(10);
const IO_SLICE: Duration = Duration::from_millis(50);
/// Requests kept for `SimHandle::requests` (the oldest are dropped beyond this).
const MAX_RECORDS: usize = 10_000;

/// How to start a simulated primary server.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Where to listen; `127.0.0.1:0` by default (a free port).
    pub bind: SocketAddr,
    /// The only `Authorization` value accepted (raw, no `Bearer`).
    pub api_key: String,
    /// API versions answered; others get 406. All four by default.
    pub versions: Vec<ApiVersion>,
    pub data: SimData,
}

impl SimOptions {
    pub fn new(api_key: &str, data: SimData) -> SimOptions {
        SimOptions {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: api_key.to_string(),
            versions: ApiVersion::ALL.to_vec(),
            data,
        }
    }
}

/// One request as the simulator saw it, with the status it answered (0 when it answered
/// nothing: reset, hang, or shutdown during a delay).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRecord {
    /// The decoded path, e.g. `/netbackup/admin/jobs`; empty if the request did not parse.
    pub path: String,
    /// Decoded query parameters in request order.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header as sent.
    pub api_key: Option<String>,
    pub accept: Option<String>,
    pub status: u16,
    /// When the request head had been read.
    pub at: Instant,
}

/// A running simulated NetBackup primary server. Dropping it stops it and joins every
/// thread it started.
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Binds `options.bind` and starts serving.
    pub fn start(options: SimOptions) -> io::Result<SimServer> {
        let listener = TcpListener::bind(options.bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            local_addr: addr,
            active: AtomicUsize::new(0),
            state: Mutex::new(State {
                api_key: options.api_key,
                versions: options.versions,
                data: Arc::new(Served::new(options.data)),
                faults: FaultTable::default(),
            }),
            log: Mutex::new(RequestLog::default()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("sim-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(SimServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/netbackup` (a wildcard bind address becomes loopback).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}/netbackup", SocketAddr::new(ip, self.addr.port()))
    }

    pub fn handle(&self) -> SimHandle {
        SimHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops accepting, ends every connection (hung ones included) and joins all threads.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Changes a running server's behaviour and reads what it saw. Cheap to clone; usable
/// from any thread.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl SimHandle {
    /// Makes requests in `scope` misbehave (replacing that scope's previous fault). A
    /// request matching both a specific scope and `Scope::All` gets the specific fault.
    pub fn set_fault(&self, scope: Scope, fault: Fault) {
        self.shared.state.lock().faults.set(scope, fault);
    }

    /// Removes every fault; hung connections then close.
    pub fn clear_faults(&self) {
        self.shared.state.lock().faults.clear();
    }

    pub fn set_api_key(&self, key: &str) {
        self.shared.state.lock().api_key = key.to_string();
    }

    pub fn set_versions(&self, versions: Vec<ApiVersion>) {
        self.shared.state.lock().versions = versions;
    }

    /// Replaces the data served; requests already being answered keep the old data.
    pub fn set_data(&self, data: SimData) {
        let served = Arc::new(Served::new(data));
        self.shared.state.lock().data = served;
    }

    /// The most recent requests (up to 10,000), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().records.iter().cloned().collect()
    }

    /// Every request recorded since start or the last `clear_requests`.
    pub fn request_count(&self) -> usize {
        self.shared.log.lock().total
    }

    pub fn clear_requests(&self) {
        let mut log = self.shared.log.lock();
        log.records.clear();
        log.total = 0;
    }
}

/// State shared by the accept thread, the connection threads and the handles.
pub(crate) struct Shared {
    pub(crate) stop: AtomicBool,
    local_addr: SocketAddr,
    active: AtomicUsize,
    state: Mutex<State>,
    log: Mutex<RequestLog>,
}

struct State {
    api_key: String,
    versions: Vec<ApiVersion>,
    data: Arc<Served>,
    faults: FaultTable,
}

#[derive(Default)]
struct RequestLog {
    records: VecDeque<RequestRecord>,
    total: usize,
}

impl Shared {
    pub(crate) fn record(&self, record: RequestRecord) {
        let mut log = self.log.lock();
        if log.records.len() >= MAX_RECORDS {
            log.records.pop_front();
        }
        log.records.push_back(record);
        log.total += 1;
    }

    /// The fault for a request whose path is in `scope` (`None`: only `Scope::All`).
    fn fault_for(&self, scope: Option<Scope>) -> Option<(Scope, u64, Fault)> {
        self.state.lock().faults.lookup(scope)
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the fault `id` is still the one set for `scope`.
    pub(crate) fn fault_still_set(&self, scope: Scope, id: u64) -> bool {
        self.state.lock().faults.is_current(scope, id)
    }

    pub(crate) fn served(&self) -> Arc<Served> {
        Arc::clone(&self.state.lock().data)
    }

    /// The version a faulty 200 claims: the negotiated one, else the newest accepted.
    pub(crate) fn claimed_version(&self, req: &Request) -> ApiVersion {
        let versions = self.state.lock().versions.clone();
        negotiate(req.accept().as_deref(), JSON_MEDIA, &versions)
            .or_else(|| versions.iter().max().copied())
            .unwrap_or(ApiVersion::V13_0)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// The data being served plus sort orders computed on first use.
pub(crate) struct Served {
    pub(crate) data: SimData,
    orders: [OnceLock<Vec<usize>>; 4],
}

impl Served {
    fn new(data: SimData) -> Served {
        Served {
            data,
            orders: Default::default(),
        }
    }

    /// Job indices in ascending `(key, jobId)` order.
    fn order(&self, key: SortKey) -> &[usize] {
        self.orders[key as usize].get_or_init(|| {
            let jobs = &self.data.jobs;
            let mut order: Vec<usize> = (0..jobs.len()).collect();
            order.sort_unstable_by_key(|&i| (key.value(&jobs[i]), jobs[i].job_id, i));
            order
        })
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, _)) => {
                workers.retain(|w| !w.is_finished());
                if shared.active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    drop(stream);
                    continue;
                }
                shared.active.fetch_add(1, Ordering::SeqCst);
                let conn_shared = Arc::clone(&shared);
                let spawned = thread::Builder::new().name("sim-conn".into()).spawn(move || {
                    let _active = ActiveGuard(&conn_shared.active);
                    handle_connection(&conn_shared, stream);
                });
                match spawned {
                    Ok(worker) => workers.push(worker),
                    Err(_) => {
                        shared.active.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // WouldBlock: nothing pending. Anything else (e.g. out of file descriptors):
            // back off the same way rather than spin.
            Err(_) => thread::sleep(POLL),
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
}

struct ActiveGuard<'a>(&'a AtomicUsize);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn handle_connection(shared: &Shared, stream: TcpStream) {
    let Some(mut conn) = Conn::new(stream, shared) else {
        return;
    };
    let head = conn.read_head();
    let at = Instant::now();
    let parsed = match head {
        Head::Empty => return,
        Head::TooLarge => Err(format!("request head is larger than {MAX_HEAD_BYTES} bytes")),
        Head::Incomplete => Err("incomplete request head".to_string()),
        Head::Complete(bytes) => parse_request(&bytes),
    };
    let req = match parsed {
        Ok(req) => req,
        Err(detail) => {
            shared.record(RequestRecord {
                path: String::new(),
                query: Vec::new(),
                api_key: None,
                accept: None,
                status: 400,
                at,
            });
            let _ = conn.send(&Response::error(400, &detail, Map::new()));
            conn.finish();
            return;
        }
    };
    let path_scope = Scope::of_path(&req.path);
    if let Some((set_on, id, fault)) = shared.fault_for(path_scope) {
        let faulty = Faulty {
            req: &req,
            at,
            path_scope,
            set_on: (set_on, id),
        };
        faults::serve(shared, conn, faulty, fault);
        return;
    }
    let response = route(shared, &req);
    shared.record(req.record(response.status, at));
    let _ = conn.send(&response);
    conn.finish();
}

/// One accepted connection: stop-aware, time-sliced reads and writes.
pub(crate) struct Conn<'a> {
    stream: TcpStream,
    shared: &'a Shared,
    deadline: Instant,
}

pub(crate) enum Head {
    Complete(Vec<u8>),
    /// The client sent nothing (closed, timed out, or shutdown began).
    Empty,
    TooLarge,
    Incomplete,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

impl<'a> Conn<'a> {
    fn new(stream: TcpStream, shared: &'a Shared) -> Option<Conn<'a>> {
        stream.set_nonblocking(false).ok()?;
        stream.set_read_timeout(Some(IO_SLICE)).ok()?;
        stream.set_write_timeout(Some(IO_SLICE)).ok()?;
        let _ = stream.set_nodelay(true);
        Some(Conn {
            stream,
            shared,
            deadline: Instant::now() + CONNECTION_BOUND,
        })
    }

    /// Whether to give up: shutdown began or the connection's absolute bound passed.
    pub(crate) fn stopped(&self) -> bool {
        self.shared.stopping() || Instant::now() >= self.deadline
    }

    fn read_head(&mut self) -> Head {
        let started = Instant::now();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 2048];
        loop {
            if let Some(end) = head_end(&buf) {
                buf.truncate(end);
                return Head::Complete(buf);
            }
            if buf.len() > MAX_HEAD_BYTES {
                return Head::TooLarge;
            }
            if self.stopped() || started.elapsed() > HEAD_TIMEOUT {
                return if buf.is_empty() {
                    Head::Empty
                } else {
                    Head::Incomplete
                };
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return if buf.is_empty() {
                        Head::Empty
                    } else {
                        Head::Incomplete
                    }
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(_) => return Head::Empty,
            }
        }
    }

    /// Writes all of `buf`, giving up on shutdown or at the connection's bound.
    pub(crate) fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            if self.stopped() {
                return Err(io::Error::other("simulator stopping"));
            }
            match self.stream.write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sleeps `duration` in small slices. Returns false, early, if the connection must
    /// stop or `keep_waiting` turns false.
    pub(crate) fn pause(&self, duration: Duration, mut keep_waiting: impl FnMut() -> bool) -> bool {
        let end = Instant::now()
            .checked_add(duration)
            .unwrap_or(self.deadline)
            .min(self.deadline);
        loop {
            if self.stopped() || !keep_waiting() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            thread::sleep((end - now).min(POLL));
        }
    }

    pub(crate) fn send(&mut self, response: &Response) -> io::Result<()> {
        self.write_all(&response.head(response.body.len()))?;
        self.write_all(&response.body)
    }

    /// Ends the response cleanly: no more bytes from us, then a short bounded drain of
    /// whatever the client still sends, so closing does not reset the connection under
    /// a response the client has not read yet.
    pub(crate) fn finish(mut self) {
        let _ = self.stream.flush();
        let _ = self.stream.shutdown(Shutdown::Write);
        let until = Instant::now() + Duration::from_secs(1);
        let mut sink = [0u8; 4096];
        let mut drained = 0usize;
        while Instant::now() < until && drained < (1 << 20) && !self.shared.stopping() {
            match self.stream.read(&mut sink) {
                Ok(0) => break,
                Ok(n) => drained += n,
                Err(e) if is_timeout(&e) => {}
                Err(_) => break,
            }
        }
    }

    /// Closes without a clean end of response (used by faults).
    pub(crate) fn abort(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Index just past the blank line ending the head (`\r\n\r\n`, or a bare `\n\n`).
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A parsed request head.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    /// Header names in lower case, values trimmed, in order.
    headers: Vec<(String, String)>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every `Accept` header, joined as one list.
    pub(crate) fn accept(&self) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == "accept")
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn record(&self, status: u16, at: Instant) -> RequestRecord {
        RequestRecord {
            path: self.path.clone(),
            query: self.query.clone(),
            api_key: self.header("authorization").map(str::to_string),
            accept: self.accept(),
            status,
            at,
        }
    }

    /// The `.../netbackup` prefix for links, from the `Host` header when it looks sane.
    pub(crate) fn base_href(&self, local: SocketAddr) -> String {
        let host = self
            .header("host")
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .map_or_else(|| local.to_string(), str::to_string);
        format!("http://{host}/netbackup")
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses a request head. Errors are messages for a 400.
pub(crate) fn parse_request(head: &[u8]) -> Result<Request, String> {
    let text = std::str::from_utf8(head).map_err(|_| "request head is not valid UTF-8".to_string())?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let request_line = lines.next().ok_or("empty request")?;
    let parts: Vec<&str> = request_line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return Err(format!("malformed request line {request_line:?}"));
    };
    if !is_token(method) {
        return Err(format!("malformed method {method:?}"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(format!("unsupported protocol {version:?}"));
    }
    if target.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err("request target holds control, space or non-ASCII characters".into());
    }
    let origin = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        rest.find('/').map_or("/", |i| &rest[i..])
    } else if target.starts_with('/') {
        target
    } else {
        return Err(format!("unsupported request target {target:?}"));
    };
    let origin = origin.split('#').next().unwrap_or("");
    let (raw_path, raw_query) = origin.split_once('?').unwrap_or((origin, ""));
    let path = percent_decode(raw_path, false).ok_or("bad percent-encoding in the path")?;
    let mut query = Vec::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(k, true).ok_or("bad percent-encoding in the query")?;
        let value = percent_decode(v, true).ok_or("bad percent-encoding in the query")?;
        query.push((key, value));
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err("folded header lines are not supported".into());
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed header line {line:?}"))?;
        if !is_token(name) {
            return Err(format!("malformed header name {name:?}"));
        }
        if headers.len() >= MAX_HEADERS {
            return Err(format!("more than {MAX_HEADERS} headers"));
        }
        headers.push((
            name.to_ascii_lowercase(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    Ok(Request {
        method: method.to_string(),
        path,
        query,
        headers,
    })
}

/// Decodes `%XX` escapes (and `+` as a space in query parts). `None` for a bad escape or
/// a result that is not UTF-8.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A complete response.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

pub(crate) const JSON_MEDIA: &str = "application/vnd.netbackup+json";
const TEXT_MEDIA: &str = "text/vnd.netbackup+plain";

pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

impl Response {
    pub(crate) fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
        }
    }

    pub(crate) fn json(version: ApiVersion, body: String) -> Response {
        Response::new(200, &format!("{JSON_MEDIA};version={version}"), body.into_bytes())
    }

    /// NetBackup's error body. The `errorCode` values are the simulator's own (8961 for a
    /// bad request, as in a spec example; otherwise the HTTP status); clients must not
    /// rely on them.
    pub(crate) fn error(status: u16, message: &str, attribute_errors: Map<String, Value>) -> Response {
        let code = if status == 400 { 8961 } else { i64::from(status) };
        let body = json!({
            "errorCode": code,
            "errorMessage": message,
            "errorDetails": [format!("nbu-exporter simulator: {message}")],
            "attributeErrors": attribute_errors,
            "fileUploadErrors": [],
        });
        Response::new(status, "application/json", body.to_string().into_bytes())
    }

    /// Status line and headers, announcing `content_length` body bytes.
    pub(crate) fn head(&self, content_length: usize) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason_phrase(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {content_length}\r\nConnection: close\r\nServer: nbu-sim\r\n\r\n"
        ));
        head.into_bytes()
    }
}

/// The first media range of type `media` in an `Accept` list whose `version` parameter is
/// in `accepted`. Loose: case-insensitive names, optional spaces, quoted values.
pub(crate) fn negotiate(accept: Option<&str>, media: &str, accepted: &[ApiVersion]) -> Option<ApiVersion> {
    requested(accept?, media)
        .into_iter()
        .flatten()
        .find(|v| accepted.contains(v))
}

/// The versions asked for in every range of type `media` (`None`: no or a bad version).
fn requested(accept: &str, media: &str) -> Vec<Option<ApiVersion>> {
    let mut out = Vec::new();
    for range in accept.split(',') {
        let mut params = range.split(';');
        if !params.next().unwrap_or("").trim().eq_ignore_ascii_case(media) {
            continue;
        }
        let version = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("version"))
            .and_then(|(_, v)| ApiVersion::parse(v.trim().trim_matches('"')));
        out.push(version);
    }
    out
}

/// An API failure answered with the error body.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: u16,
    message: String,
    attribute: Option<&'static str>,
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError {
        status: 400,
        message: message.into(),
        attribute: None,
    }
}

fn bad_param(attribute: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status: 400,
        message: message.into(),
        attribute: Some(attribute),
    }
}

impl ApiError {
    fn response(&self) -> Response {
        let mut attributes = Map::new();
        if let Some(name) = self.attribute {
            attributes.insert(name.to_string(), json!(self.message));
        }
        Response::error(self.status, &self.message, attributes)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Ping,
    Jobs,
    StorageUnits,
}

/// Answers one well-formed request without faults.
pub(crate) fn route(shared: &Shared, req: &Request) -> Response {
    let endpoint = match req.path.as_str() {
        "/netbackup/ping" => Endpoint::Ping,
        "/netbackup/admin/jobs" => Endpoint::Jobs,
        "/netbackup/storage/storage-units" => Endpoint::StorageUnits,
        _ => return Response::error(404, &format!("no such resource: {}", req.path), Map::new()),
    };
    if req.method != "GET" {
        let mut response = Response::error(405, &format!("method {} is not allowed", req.method), Map::new());
        response.headers.push(("Allow", "GET".to_string()));
        return response;
    }
    let (api_key, versions, served) = {
        let state = shared.state.lock();
        (
            state.api_key.clone(),
            state.versions.clone(),
            Arc::clone(&state.data),
        )
    };
    let accept = req.accept();
    if endpoint == Endpoint::Ping {
        return ping(accept.as_deref(), &versions);
    }
    if req.header("authorization") != Some(api_key.as_str()) {
        return Response::error(
            401,
            "The Authorization header is missing, the token is invalid, or you do not have permission for this action.",
            Map::new(),
        );
    }
    let Some(version) = negotiate(accept.as_deref(), JSON_MEDIA, &versions) else {
        return not_acceptable(&versions);
    };
    let base = req.base_href(shared.local_addr);
    let now = now_millis();
    let result = match endpoint {
        Endpoint::Jobs => jobs_page(&served, &req.query, now, &base),
        _ => storage_page(&served.data, &req.query, &base),
    };
    match result {
        Ok(body) => Response::json(version, body),
        Err(e) => e.response(),
    }
}

fn not_acceptable(versions: &[ApiVersion]) -> Response {
    let list: Vec<String> = versions.iter().map(ToString::to_string).collect();
    let mut attributes = Map::new();
    attributes.insert(
        "Accept".into(),
        json!(format!("supported versions: {}", list.join(", "))),
    );
    Response::error(
        406,
        "Invalid Accept type. Make sure your Accept header matches what this API produces.",
        attributes,
    )
}

/// `GET /ping`: no auth; the primary's clock in epoch milliseconds.
fn ping(accept: Option<&str>, versions: &[ApiVersion]) -> Response {
    let asked: Vec<Option<ApiVersion>> = accept
        .map(|a| [requested(a, TEXT_MEDIA), requested(a, JSON_MEDIA)].concat())
        .unwrap_or_default();
    let version = if asked.is_empty() {
        versions.iter().max().copied()
    } else {
        asked.into_iter().flatten().find(|v| versions.contains(v))
    };
    match version {
        Some(v) => Response::new(
            200,
            &format!("{TEXT_MEDIA};version={v}"),
            now_millis().to_string().into_bytes(),
        ),
        None => not_acceptable(versions),
    }
}

/// What jobs can be sorted on (the sort names are NetBackup's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    JobId = 0,
    StartTime = 1,
    EndTime = 2,
    LastUpdateTime = 3,
}

impl SortKey {
    fn parse(name: &str) -> Option<SortKey> {
        Some(match name {
            "jobId" => SortKey::JobId,
            "startTime" => SortKey::StartTime,
            "endTime" => SortKey::EndTime,
            "lastUpdateTime" => SortKey::LastUpdateTime,
            _ => return None,
        })
    }

    fn tag(self) -> char {
        ['i', 's', 'e', 'u'][self as usize]
    }

    /// The value sorted on. Unfinished jobs sort as the oldest end time and, since they
    /// keep changing, as the newest update time.
    fn value(self, job: &SimJob) -> i64 {
        match self {
            SortKey::JobId => job.job_id,
            SortKey::StartTime => job.start_time.unwrap_or(i64::MIN),
            SortKey::EndTime => job.end_time.unwrap_or(i64::MIN),
            SortKey::LastUpdateTime => job.end_time.unwrap_or(i64::MAX),
        }
    }
}

/// A jobs cursor: a point `(value, jobId)` in one sort order, written
/// `<tag>.<value>.<jobId>` (e.g. `i.1042.1042`). Deliberately not an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cursor {
    key: SortKey,
    point: (i64, i64),
}

impl Cursor {
    fn of(key: SortKey, job: &SimJob) -> Cursor {
        Cursor {
            key,
            point: (key.value(job), job.job_id),
        }
    }

    fn text(self) -> String {
        format!("{}.{}.{}", self.key.tag(), self.point.0, self.point.1)
    }

    fn parse(text: &str, key: SortKey, param: &'static str) -> Result<Cursor, ApiError> {
        let bad = || {
            bad_param(
                param,
                format!("{param} {text:?} is not a cursor this server issued"),
            )
        };
        let mut parts = text.splitn(3, '.');
        let tag = parts.next().ok_or_else(bad)?;
        let value = parts.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let id = parts.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        if tag.len() != 1 || !tag.starts_with(['i', 's', 'e', 'u']) {
            return Err(bad());
        }
        if !tag.starts_with(key.tag()) {
            return Err(bad_param(
                param,
                format!("{param} {text:?} was issued for a different sort order"),
            ));
        }
        Ok(Cursor {
            key,
            point: (value, id),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    fn parse(op: &str) -> Option<Cmp> {
        Some(match op {
            "eq" => Cmp::Eq,
            "ne" => Cmp::Ne,
            "lt" => Cmp::Lt,
            "gt" => Cmp::Gt,
            "le" => Cmp::Le,
            "ge" => Cmp::Ge,
            _ => return None,
        })
    }

    fn holds<T: Ord>(self, left: T, right: T) -> bool {
        match self {
            Cmp::Eq => left == right,
            Cmp::Ne => left != right,
            Cmp::Lt => left < right,
            Cmp::Gt => left > right,
            Cmp::Le => left <= right,
            Cmp::Ge => left >= right,
        }
    }
}

/// One `attribute op value` clause of the supported OData subset.
#[derive(Clone, Debug, PartialEq)]
enum Clause {
    /// startTime, endTime, lastUpdateTime. A job without that time never matches.
    Time(&'static str, Cmp, UnixMillis),
    /// jobId, parentJobId, status.
    Int(&'static str, Cmp, i64),
    /// state, jobType, policyType: eq/ne only.
    Text(&'static str, bool, String),
}

impl Clause {
    fn matches(&self, job: &SimJob, now: UnixMillis) -> bool {
        match self {
            Clause::Time(field, cmp, value) => {
                let t = match *field {
                    "startTime" => job.start_time,
                    "endTime" => job.end_time,
                    _ => Some(data::last_update(job, now)),
                };
                t.is_some_and(|t| cmp.holds(t, *value))
            }
            Clause::Int(field, cmp, value) => {
                let v = match *field {
                    "jobId" => job.job_id,
                    "parentJobId" => job.parent_job_id,
                    _ => job.status,
                };
                cmp.holds(v, *value)
            }
            Clause::Text(field, eq, value) => {
                let v = match *field {
                    "state" => &job.state,
                    "jobType" => &job.job_type,
                    _ => &job.policy_type,
                };
                (v == value) == *eq
            }
        }
    }
}

const TIME_FIELDS: [&str; 3] = ["startTime", "endTime", "lastUpdateTime"];
const INT_FIELDS: [&str; 3] = ["jobId", "parentJobId", "status"];
const TEXT_FIELDS: [&str; 3] = ["state", "jobType", "policyType"];

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
}

fn tokenize(filter: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err("unterminated string literal".into()),
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => s.push(c),
                }
            }
            tokens.push(Token::Quoted(s));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '\'' {
                    break;
                }
                if c == '(' || c == ')' {
                    return Err(
                        "parentheses and functions such as contains() are not supported by the simulator"
                            .into(),
                    );
                }
                word.push(c);
                chars.next();
            }
            tokens.push(Token::Word(word));
        }
    }
    Ok(tokens)
}

/// Parses the supported subset: `attr op value` clauses joined by `and`.
fn parse_filter(filter: &str) -> Result<Vec<Clause>, String> {
    let tokens = tokenize(filter)?;
    if tokens.is_empty() {
        return Err("empty filter".into());
    }
    let mut clauses = Vec::new();
    let mut rest = &tokens[..];
    loop {
        let (attr, op, value) = match rest {
            [Token::Word(a), Token::Word(o), v, ..] => (a.as_str(), o.as_str(), v),
            [Token::Word(w), ..] if w == "not" => {
                return Err("'not' is not supported by the simulator".into())
            }
            [Token::Quoted(q), ..] => return Err(format!("expected an attribute name, found '{q}'")),
            _ => return Err(format!("incomplete clause in filter {filter:?}")),
        };
        clauses.push(clause(attr, op, value)?);
        rest = &rest[3..];
        match rest {
            [] => return Ok(clauses),
            [Token::Word(w), more @ ..] if w == "and" && !more.is_empty() => rest = more,
            [Token::Word(w), ..] if w == "or" => {
                return Err("'or' is not supported by the simulator (only clauses joined by 'and')".into())
            }
            _ => return Err(format!("expected 'and' between clauses in filter {filter:?}")),
        }
    }
}

fn clause(attr: &str, op: &str, value: &Token) -> Result<Clause, String> {
    let cmp = Cmp::parse(op).ok_or_else(|| format!("unsupported filter operator '{op}' after '{attr}'"))?;
    if let Some(field) = TIME_FIELDS.iter().find(|f| **f == attr) {
        let text = match value {
            Token::Word(w) | Token::Quoted(w) => w,
        };
        let t = parse_rfc3339(text).ok_or_else(|| format!("invalid date-time '{text}' for {attr}"))?;
        return Ok(Clause::Time(field, cmp, t));
    }
    if let Some(field) = INT_FIELDS.iter().find(|f| **f == attr) {
        let Token::Word(text) = value else {
            return Err(format!("{attr} takes an unquoted integer"));
        };
        let n = text
            .parse()
            .map_err(|_| format!("invalid integer '{text}' for {attr}"))?;
        return Ok(Clause::Int(field, cmp, n));
    }
    if let Some(field) = TEXT_FIELDS.iter().find(|f| **f == attr) {
        let Token::Quoted(text) = value else {
            return Err(format!("{attr} takes a quoted string such as '{attr}' eq 'X'"));
        };
        return match cmp {
            Cmp::Eq | Cmp::Ne => Ok(Clause::Text(field, cmp == Cmp::Eq, text.clone())),
            _ => Err(format!(
                "operator '{op}' is not supported for {attr} (only eq and ne)"
            )),
        };
    }
    Err(format!(
        "unsupported filter attribute '{attr}' (the simulator supports {}, {} and {})",
        TIME_FIELDS.join(", "),
        INT_FIELDS.join(", "),
        TEXT_FIELDS.join(", ")
    ))
}

/// Rejects repeated parameters and any parameter not in `allowed`.
fn check_params(query: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    for (i, (key, _)) in query.iter().enumerate() {
        if !allowed.contains(&key.as_str()) {
            return Err(bad_request(format!(
                "unsupported query parameter '{key}' (this endpoint takes {})",
                allowed.join(", ")
            )));
        }
        if query[..i].iter().any(|(k, _)| k == key) {
            return Err(bad_request(format!(
                "query parameter '{key}' given more than once"
            )));
        }
    }
    Ok(())
}

fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn int_param(
    query: &[(String, String)],
    name: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let Some(text) = param(query, name) else {
        return Ok(default);
    };
    match text.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(bad_param(
            name,
            format!("{name} must be an integer from {min} to {max}, got {text:?}"),
        )),
    }
}

fn href(base: &str, path: &str, params: &[(&str, String)]) -> Value {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    let sep = if query.is_empty() { "" } else { "?" };
    json!({"href": format!("{base}{path}{sep}{}", query.join("&"))})
}

/// Parsed `/admin/jobs` parameters.
pub(crate) struct JobsQuery {
    pub(crate) limit: usize,
    key: SortKey,
    descending: bool,
    after: Option<Cursor>,
    before: Option<Cursor>,
    clauses: Vec<Clause>,
}

pub(crate) const JOBS_MAX_LIMIT: i64 = 100;

fn jobs_query(query: &[(String, String)]) -> Result<JobsQuery, ApiError> {
    check_params(
        query,
        &["page[limit]", "page[after]", "page[before]", "sort", "filter"],
    )?;
    let limit = int_param(query, "page[limit]", 10, 0, JOBS_MAX_LIMIT)? as usize;
    let (key, descending) = match param(query, "sort") {
        None => (SortKey::StartTime, true),
        Some(s) => {
            let (name, descending) = s.strip_prefix('-').map_or((s, false), |n| (n, true));
            let key = SortKey::parse(name).ok_or_else(|| {
                bad_param(
                    "sort",
                    format!("unsupported sort '{s}' (the simulator sorts on jobId, startTime, endTime, lastUpdateTime)"),
                )
            })?;
            (key, descending)
        }
    };
    let cursor = |name: &'static str| -> Result<Option<Cursor>, ApiError> {
        match param(query, name) {
            None | Some("") => Ok(None),
            Some(text) => Cursor::parse(text, key, name).map(Some),
        }
    };
    let (after, before) = (cursor("page[after]")?, cursor("page[before]")?);
    if after.is_some() && before.is_some() {
        return Err(bad_request(
            "page[after] together with page[before] is not supported by the simulator",
        ));
    }
    let clauses = match param(query, "filter") {
        None => Vec::new(),
        Some(f) => parse_filter(f).map_err(|m| bad_param("filter", format!("unsupported filter: {m}")))?,
    };
    Ok(JobsQuery {
        limit,
        key,
        descending,
        after,
        before,
        clauses,
    })
}

/// One page of jobs: indices into `data.jobs` in response order.
struct JobsPage {
    items: Vec<usize>,
    more_after: bool,
    more_before: bool,
}

fn select_jobs(served: &Served, q: &JobsQuery, now: UnixMillis) -> JobsPage {
    let jobs = &served.data.jobs;
    let order = served.order(q.key);
    let n = order.len();
    let point = |i: usize| (q.key.value(&jobs[i]), jobs[i].job_id);
    // Position p in response order holds `order[at(p)]`.
    let at = |p: usize| if q.descending { order[n - 1 - p] } else { order[p] };
    let wanted = |i: usize| q.clauses.iter().all(|c| c.matches(&jobs[i], now));

    if let Some(before) = q.before {
        // Items strictly before the cursor in response order: positions 0..end.
        let end = if q.descending {
            n - order.partition_point(|&i| point(i) <= before.point)
        } else {
            order.partition_point(|&i| point(i) < before.point)
        };
        let mut items = Vec::new();
        let mut p = end;
        while p > 0 && items.len() < q.limit {
            p -= 1;
            if wanted(at(p)) {
                items.push(at(p));
            }
        }
        let more_before = (0..p).rev().any(|p| wanted(at(p)));
        items.reverse();
        return JobsPage {
            more_after: !items.is_empty(),
            items,
            more_before,
        };
    }
    let start = match q.after {
        None => 0,
        Some(after) if q.descending => n - order.partition_point(|&i| point(i) < after.point),
        Some(after) => order.partition_point(|&i| point(i) <= after.point),
    };
    let mut items = Vec::new();
    let mut p = start;
    while p < n && items.len() < q.limit {
        if wanted(at(p)) {
            items.push(at(p));
        }
        p += 1;
    }
    let more_after = q.limit > 0 && (p..n).any(|p| wanted(at(p)));
    JobsPage {
        more_before: q.after.is_some() && !items.is_empty(),
        items,
        more_after,
    }
}

/// `GET /admin/jobs`.
pub(crate) fn jobs_page(
    served: &Served,
    query: &[(String, String)],
    now: UnixMillis,
    base: &str,
) -> Result<String, ApiError> {
    let q = jobs_query(query)?;
    let page = select_jobs(served, &q, now);
    let jobs = &served.data.jobs;
    let cursor_of = |i: usize| Cursor::of(q.key, &jobs[i]).text();
    let next = page
        .more_after
        .then(|| page.items.last().map(|&i| cursor_of(i)))
        .flatten();
    let prev = page
        .more_before
        .then(|| page.items.first().map(|&i| cursor_of(i)))
        .flatten();

    let mut fixed: Vec<(&str, String)> = vec![("page[limit]", q.limit.to_string())];
    for name in ["sort", "filter"] {
        if let Some(v) = param(query, name) {
            fixed.push((name, v.to_string()));
        }
    }
    let with = |extra: Option<(&'static str, &str)>| {
        let mut params = fixed.clone();
        if let Some((k, v)) = extra {
            params.push((k, v.to_string()));
        }
        href(base, "/admin/jobs", &params)
    };
    let current = param(query, "page[after]")
        .map(|c| ("page[after]", c))
        .or_else(|| param(query, "page[before]").map(|c| ("page[before]", c)));
    let mut links = Map::new();
    links.insert("self".into(), with(current));
    links.insert("first".into(), with(None));
    let mut pagination = Map::new();
    pagination.insert("limit".into(), json!(q.limit));
    if let Some(next) = &next {
        links.insert("next".into(), with(Some(("page[after]", next))));
        pagination.insert("next".into(), json!(next));
    }
    if let Some(prev) = &prev {
        links.insert("prev".into(), with(Some(("page[before]", prev))));
        pagination.insert("prev".into(), json!(prev));
    }
    let meta = json!({ "pagination": pagination });
    Ok(page_json(
        page.items.len(),
        meta,
        Value::Object(links),
        |out, n| {
            let i = page.items[n];
            data::write_job(out, &jobs[i], &cursor_of(i), now, base);
        },
    ))
}

/// `{"data":[...],"meta":...,"links":...}` with `count` records written by `item`.
pub(crate) fn page_json(
    count: usize,
    meta: Value,
    links: Value,
    mut item: impl FnMut(&mut String, usize),
) -> String {
    let mut out = String::with_capacity(count * 3_000 + 1_024);
    out.push_str("{\"data\":[");
    for n in 0..count {
        if n > 0 {
            out.push(',');
        }
        item(&mut out, n);
    }
    out.push_str("],\"meta\":");
    out.push_str(&meta.to_string());
    out.push_str(",\"links\":");
    out.push_str(&links.to_string());
    out.push('}');
    out
}

pub(crate) const STORAGE_MAX_LIMIT: i64 = 500;

/// Offset paging numbers for `count` items: `(offset, limit)` -> meta and link offsets.
pub(crate) struct OffsetPage {
    pub(crate) offset: i64,
    pub(crate) limit: i64,
}

pub(crate) fn storage_query(query: &[(String, String)]) -> Result<OffsetPage, ApiError> {
    check_params(query, &["page[offset]", "page[limit]"])?;
    Ok(OffsetPage {
        offset: int_param(query, "page[offset]", 0, 0, i64::MAX / 2)?,
        limit: int_param(query, "page[limit]", 10, 1, STORAGE_MAX_LIMIT)?,
    })
}

/// `meta.pagination` and `links` of an offset page over `count` items. `page` is
/// zero-based; `first`, `last`, `next` and `prev` are offsets; `next`/`prev` are omitted
/// when there is no such page.
pub(crate) fn offset_meta(page: &OffsetPage, count: i64, base: &str, path: &str) -> (Value, Value) {
    let OffsetPage { offset, limit } = *page;
    let pages = (count + limit - 1) / limit;
    let last = (pages - 1).max(0) * limit;
    let link = |o: i64| {
        href(
            base,
            path,
            &[
                ("page[offset]", o.to_string()),
                ("page[limit]", limit.to_string()),
            ],
        )
    };
    let mut meta = Map::new();
    let mut links = Map::new();
    for (k, v) in [
        ("count", count),
        ("pages", pages),
        ("page", offset / limit),
        ("offset", offset),
        ("limit", limit),
        ("first", 0),
        ("last", last),
    ] {
        meta.insert(k.into(), json!(v));
    }
    links.insert("self".into(), link(offset));
    links.insert("first".into(), link(0));
    links.insert("last".into(), link(last));
    if offset + limit < count {
        meta.insert("next".into(), json!(offset + limit));
        links.insert("next".into(), link(offset + limit));
    }
    if offset > 0 {
        let prev = (offset - limit).max(0);
        meta.insert("prev".into(), json!(prev));
        links.insert("prev".into(), link(prev));
    }
    (json!({"pagination": meta}), Value::Object(links))
}

/// `GET /storage/storage-units`.
fn storage_page(data: &SimData, query: &[(String, String)], base: &str) -> Result<String, ApiError> {
    let page = storage_query(query)?;
    let units = &data.storage_units;
    let start = usize::try_from(page.offset)
        .unwrap_or(usize::MAX)
        .min(units.len());
    let items = &units[start..units.len().min(start + page.limit as usize)];
    let (meta, links) = offset_meta(&page, units.len() as i64, base, "/storage/storage-units");
    Ok(page_json(items.len(), meta, links, |out, n| {
        data::write_storage_unit(out, &items[n], base)
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::data::DataSpec;

    pub(crate) const KEY: &str = "test-key-123";

    /// A response read off the wire by [`get`].
    #[derive(Debug)]
    pub(crate) struct Reply {
        pub(crate) status: u16,
        pub(crate) headers: Vec<(String, String)>,
        pub(crate) body: String,
    }

    impl Reply {
        pub(crate) fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        pub(crate) fn json(&self) -> Value {
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
        }
    }

    /// Sends raw bytes and reads the whole answer (the server closes after it).
    pub(crate) fn raw(addr: SocketAddr, request: &[u8]) -> io::Result<Reply> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(request)?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes)?;
        let end = head_end(&bytes).ok_or_else(|| io::Error::other("no response head"))?;
        let head = String::from_utf8_lossy(&bytes[..end]).to_string();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other("bad status line"))?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_string(), v.trim().to_string()))
            .collect();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes[end..]).to_string(),
        })
    }

    pub(crate) fn get_with(addr: SocketAddr, target: &str, key: Option<&str>, accept: Option<&str>) -> Reply {
        let mut req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if let Some(k) = key {
            req.push_str(&format!("Authorization: {k}\r\n"));
        }
        if let Some(a) = accept {
            req.push_str(&format!("Accept: {a}\r\n"));
        }
        req.push_str("\r\n");
        raw(addr, req.as_bytes()).expect("request")
    }

    /// An authorised 13.0 GET of `/netbackup{path_and_query}`.
    pub(crate) fn get(server: &SimServer, path_and_query: &str) -> Reply {
        get_with(
            server.addr(),
            &format!("/netbackup{path_and_query}"),
            Some(KEY),
            Some("application/vnd.netbackup+json;version=13.0"),
        )
    }

    pub(crate) fn start(data: SimData) -> SimServer {
        SimServer::start(SimOptions::new(KEY, data)).expect("start simulator")
    }

    fn enc(s: &str) -> String {
        percent_encode(s)
    }

    /// Follows `meta.pagination.next` (bounded) and returns every job id in order.
    fn all_job_ids(server: &SimServer, params: &str) -> (Vec<i64>, usize) {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        for pages in 1..=10_000 {
            let cursor = after
                .as_ref()
                .map_or(String::new(), |c| format!("&page%5Bafter%5D={}", enc(c)));
            let reply = get(server, &format!("/admin/jobs?{params}{cursor}"));
            assert_eq!(reply.status, 200, "{}", reply.body);
            let body = reply.json();
            for item in body["data"].as_array().unwrap() {
                ids.push(item["attributes"]["jobId"].as_i64().unwrap());
            }
            match body["meta"]["pagination"]["next"].as_str() {
                Some(next) if !next.is_empty() => after = Some(next.to_string()),
                _ => return (ids, pages),
            }
        }
        panic!("pagination did not end");
    }

    #[test]
    fn wrong_or_missing_key_is_401_with_the_error_body() {
        let server = start(SimData::known(now_millis()));
        let accept = Some("application/vnd.netbackup+json;version=13.0");
        for key in [Some("wrong"), Some("Bearer test-key-123"), None] {
            let reply = get_with(server.addr(), "/netbackup/admin/jobs", key, accept);
            assert_eq!(reply.status, 401, "{key:?}");
            let body = reply.json();
            assert!(body["errorCode"].is_i64());
            assert!(body["errorMessage"].is_string());
            assert!(body["errorDetails"].is_array() && body["attributeErrors"].is_object());
        }
        // Auth is checked before the version.
        let reply = get_with(
            server.addr(),
            "/netbackup/admin/jobs",
            Some("wrong"),
            Some("text/html"),
        );
        assert_eq!(reply.status, 401);
        server.handle().set_api_key("new-key");
        let reply = get_with(server.addr(), "/netbackup/admin/jobs", Some("new-key"), accept);
        assert_eq!(reply.status, 200);
    }

    #[test]
    fn version_negotiation() {
        let server = start(SimData::known(now_millis()));
        server
            .handle()
            .set_versions(vec![ApiVersion::V12_0, ApiVersion::V10_0]);
        let check = |accept: Option<&str>, want: u16| {
            let reply = get_with(server.addr(), "/netbackup/admin/jobs", Some(KEY), accept);
            assert_eq!(reply.status, want, "{accept:?}: {}", reply.body);
            reply
        };
        let reply = check(Some("application/vnd.netbackup+json;version=14.0"), 406);
        assert!(reply.json()["errorMessage"].is_string());
        check(Some("application/vnd.netbackup+json;version=3.0"), 406);
        check(Some("application/vnd.netbackup+json"), 406);
        check(Some("application/json"), 406);
        check(Some("*/*"), 406);
        check(None, 406);
        let reply = check(Some("application/vnd.netbackup+json;version=12.0"), 200);
        assert_eq!(
            reply.header("content-type"),
            Some("application/vnd.netbackup+json;version=12.0")
        );
        assert_eq!(reply.header("connection"), Some("close"));
        let reply = check(
            Some("text/plain, Application/VND.netbackup+json ; version = \"10.0\""),
            200,
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/vnd.netbackup+json;version=10.0")
        );
    }

    #[test]
    fn ping_needs_no_auth_and_routing_errors() {
        let server = start(SimData::default());
        let reply = get_with(server.addr(), "/netbackup/ping", None, None);
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some("text/vnd.netbackup+plain;version=14.0")
        );
        let ms: i64 = reply.body.parse().unwrap();
        assert!((ms - now_millis()).abs() < 60_000);
        let reply = get_with(
            server.addr(),
            "/netbackup/ping",
            None,
            Some("text/vnd.netbackup+plain;version=9.0"),
        );
        assert_eq!(reply.status, 406);
        let reply = get(&server, "/admin/nope");
        assert_eq!(reply.status, 404);
        assert!(reply.json()["errorCode"].is_i64());
        let reply = raw(
            server.addr(),
            b"POST /netbackup/admin/jobs HTTP/1.1\r\nAuthorization: test-key-123\r\n\r\n",
        )
        .unwrap();
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some("GET"));
    }

    #[test]
    fn jobs_cursor_paging_collects_every_id_once() {
        let data = SimData::generate(
            &DataSpec {
                jobs: 230,
                active_jobs: 5,
                queued_jobs: 3,
                ..DataSpec::default()
            },
            now_millis(),
        );
        let mut want: Vec<i64> = data.jobs.iter().map(|j| j.job_id).collect();
        want.sort_unstable();
        let server = start(data);
        for (params, min_pages) in [
            ("page%5Blimit%5D=100&sort=jobId", 3),
            ("page%5Blimit%5D=7&sort=-jobId", 34),
            ("page%5Blimit%5D=50", 5),
            ("page%5Blimit%5D=100&sort=startTime", 3),
            ("page%5Blimit%5D=100&sort=-lastUpdateTime", 3),
            ("page%5Blimit%5D=100&sort=endTime", 3),
        ] {
            let (ids, pages) = all_job_ids(&server, params);
            assert!(pages >= min_pages, "{params}: {pages} pages");
            let unique: HashSet<_> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "{params}: duplicates");
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, want, "{params}");
            if params.ends_with("sort=jobId") {
                assert_eq!(ids, want);
            }
        }
    }

    #[test]
    fn jobs_page_shape() {
        let server = start(SimData::known(now_millis()));
        let body = get(&server, "/admin/jobs?page%5Blimit%5D=5&sort=jobId").json();
        assert_eq!(body["data"].as_array().unwrap().len(), 5);
        let first = &body["data"][0];
        assert_eq!(first["type"], "job");
        assert_eq!(first["id"], "101");
        let cursor = first["meta"]["page"]["cursor"].as_str().unwrap();
        assert!(cursor.parse::<i64>().is_err(), "cursor {cursor} must be opaque");
        let next = body["meta"]["pagination"]["next"].as_str().unwrap();
        assert_eq!(next, body["data"][4]["meta"]["page"]["cursor"].as_str().unwrap());
        assert_eq!(body["meta"]["pagination"]["limit"], 5);
        assert!(body["links"]["next"]["href"]
            .as_str()
            .unwrap()
            .contains("page%5Bafter%5D="));
        assert!(body["links"]["self"]["href"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1/netbackup/admin/jobs?"));
        assert!(body["meta"]["pagination"].get("prev").is_none());

        let second = get(
            &server,
            &format!("/admin/jobs?page%5Blimit%5D=5&sort=jobId&page%5Bafter%5D={next}"),
        )
        .json();
        assert_eq!(second["data"][0]["id"], "106");
        let prev = second["meta"]["pagination"]["prev"].as_str().unwrap();
        let back = get(
            &server,
            &format!("/admin/jobs?page%5Blimit%5D=5&sort=jobId&page%5Bbefore%5D={prev}"),
        )
        .json();
        let ids: Vec<_> = back["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].clone())
            .collect();
        assert_eq!(ids, ["101", "102", "103", "104", "105"]);

        // Default: 10 jobs, newest start first.
        let body = get(&server, "/admin/jobs").json();
        assert_eq!(body["data"].as_array().unwrap().len(), 10);
        assert_eq!(body["data"][0]["id"], "112");

        let reply = get(&server, "/admin/jobs?page%5Blimit%5D=101");
        assert_eq!(reply.status, 400);
        let reply = get(&server, "/admin/jobs?page%5Boffset%5D=0");
        assert_eq!(reply.status, 400);
        assert!(reply.body.contains("page[offset]"), "{}", reply.body);
        let reply = get(&server, "/admin/jobs?sort=jobId&page%5Bafter%5D=12345");
        assert_eq!(reply.status, 400);
        let reply = get(
            &server,
            &format!("/admin/jobs?sort=-startTime&page%5Bafter%5D={next}"),
        );
        assert_eq!(reply.status, 400, "cursor from another sort order");
        let empty = get(&server, "/admin/jobs?filter=jobId%20eq%2099999").json();
        assert_eq!(empty["data"].as_array().unwrap().len(), 0);
        assert!(empty["meta"]["pagination"].get("next").is_none());
    }

    fn filtered_ids(server: &SimServer, filter: &str) -> Vec<i64> {
        let (mut ids, _) = all_job_ids(
            server,
            &format!("page%5Blimit%5D=100&sort=jobId&filter={}", enc(filter)),
        );
        ids.sort_unstable();
        ids
    }

    #[test]
    fn filters() {
        let now = now_millis();
        let server = start(SimData::known(now));
        let hour_ago = crate::time::format_rfc3339_millis(now - 3_600_000);
        let ended = vec![101, 102, 103, 104, 105, 106, 107, 108];
        assert_eq!(filtered_ids(&server, &format!("endTime ge {hour_ago}")), ended);
        assert_eq!(filtered_ids(&server, &format!("endTime gt '{hour_ago}'")), ended);
        assert_eq!(
            filtered_ids(&server, &format!("endTime lt {hour_ago}")),
            vec![109]
        );
        assert_eq!(filtered_ids(&server, "state ne 'DONE'"), vec![110, 111, 112, 113]);
        assert_eq!(
            filtered_ids(&server, "state eq 'QUEUED' and jobType eq 'DUPLICATE'"),
            vec![113]
        );
        assert_eq!(filtered_ids(&server, "status gt 1"), vec![105]);
        assert_eq!(filtered_ids(&server, "policyType eq ''"), vec![107]);
        assert_eq!(filtered_ids(&server, "jobId ge 112"), vec![112, 113]);
        let lut = filtered_ids(&server, &format!("lastUpdateTime ge {hour_ago}"));
        assert_eq!(
            lut,
            vec![101, 102, 103, 104, 105, 106, 107, 108, 110, 111, 112, 113]
        );
        let start = filtered_ids(&server, &format!("startTime ge {hour_ago} and state eq 'DONE'"));
        assert_eq!(start, vec![101, 102, 103, 104, 105, 106, 107]);
        let offset = crate::time::format_rfc3339_millis(now - 7_200_000).replace('Z', "+00:00");
        assert_eq!(
            filtered_ids(&server, &format!("endTime ge {offset} and jobType ne 'BACKUP'")),
            vec![106, 107]
        );
    }

    #[test]
    fn unsupported_filters_are_400_saying_what() {
        let server = start(SimData::known(now_millis()));
        for (filter, says) in [
            ("clientName eq 'x'", "clientName"),
            ("state ge 'DONE'", "ge"),
            ("state eq DONE", "quoted"),
            ("status eq '0'", "unquoted"),
            ("endTime ge yesterday", "yesterday"),
            ("state eq 'A' or state eq 'B'", "'or'"),
            ("contains(policyName,'x')", "contains()"),
            ("endTime", "incomplete"),
            ("state eq 'A' and", "expected 'and'"),
            ("jobId eqq 5", "eqq"),
            ("", "empty"),
            ("state eq 'unterminated", "unterminated"),
        ] {
            let reply = get(&server, &format!("/admin/jobs?filter={}", enc(filter)));
            assert_eq!(reply.status, 400, "{filter}");
            let body = reply.json();
            let message = body["errorMessage"].as_str().unwrap();
            assert!(message.contains(says), "{filter}: {message}");
            assert_eq!(body["attributeErrors"]["filter"], message);
        }
        // A '+' in a time offset that was not percent-encoded decodes to a space: 400.
        let reply = get(
            &server,
            "/admin/jobs?filter=endTime%20ge%202025-01-01T00:00:00+02:00",
        );
        assert_eq!(reply.status, 400);
    }

    #[test]
    fn storage_offset_paging_over_250_units() {
        let data = SimData::generate(
            &DataSpec {
                storage_units: 250,
                tape_units: 10,
                ..DataSpec::default()
            },
            now_millis(),
        );
        let server = start(data);
        let mut names = Vec::new();
        let mut offset = 0;
        for _ in 0..100 {
            let body = get(
                &server,
                &format!("/storage/storage-units?page%5Boffset%5D={offset}&page%5Blimit%5D=100"),
            )
            .json();
            let items = body["data"].as_array().unwrap();
            let meta = &body["meta"]["pagination"];
            assert_eq!(meta["count"], 250);
            assert_eq!(meta["pages"], 3);
            assert_eq!(meta["offset"], offset);
            assert_eq!(meta["limit"], 100);
            assert_eq!(meta["last"], 200);
            for item in items {
                assert_eq!(item["type"], "storageUnit");
                assert_eq!(item["id"], item["attributes"]["name"]);
                names.push(item["id"].as_str().unwrap().to_string());
            }
            if items.is_empty() || meta.get("next").is_none() {
                break;
            }
            assert_eq!(meta["next"], offset + 100);
            offset += items.len();
        }
        let want: Vec<String> = (1..=250).map(|i| format!("stu-{i:04}")).collect();
        assert_eq!(names, want);

        let body = get(&server, "/storage/storage-units").json();
        assert_eq!(body["data"].as_array().unwrap().len(), 10);
        assert_eq!(body["meta"]["pagination"]["page"], 0);
        for bad in [
            "page%5Blimit%5D=501",
            "page%5Blimit%5D=0",
            "page%5Boffset%5D=-1",
            "page%5Blimit%5D=x",
            "filter=x",
            "page%5Bafter%5D=1",
        ] {
            assert_eq!(
                get(&server, &format!("/storage/storage-units?{bad}")).status,
                400,
                "{bad}"
            );
        }
        let beyond = get(&server, "/storage/storage-units?page%5Boffset%5D=1000").json();
        assert_eq!(beyond["data"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn garbage_requests_get_400_and_the_server_keeps_serving() {
        let server = start(SimData::known(now_millis()));
        let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(64 * 1024));
        let cases: Vec<Vec<u8>> = vec![
            b"garbage\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs HTTP/9.9\r\n\r\n".to_vec(),
            b"GET  /netbackup/admin/jobs HTTP/1.1\r\n\r\n".to_vec(),
            b"GET netbackup HTTP/1.1\r\n\r\n".to_vec(),
            b"G(T / HTTP/1.1\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs HTTP/1.1\r\nno colon here\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs HTTP/1.1\r\nBad Name: x\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs HTTP/1.1\r\nA: b\r\n folded\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs?filter=%zz HTTP/1.1\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs?filter=%ff HTTP/1.1\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/%4 HTTP/1.1\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs?a=%+1 HTTP/1.1\r\n\r\n".to_vec(),
            b"GET /netbackup/\xff HTTP/1.1\r\n\r\n".to_vec(),
            b"GET /netbackup/admin/jobs HTTP/1.1\r\nX: \xc3\x28\r\n\r\n".to_vec(),
            b"\x00\x01\x02\x03\r\n\r\n".to_vec(),
            huge.into_bytes(),
            b"GET /netbackup/admin/jobs HTTP/1.1\r\nHost: x\r\n".to_vec(), // never ends; client half-closes
        ];
        for case in &cases {
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = stream.write_all(case);
            let _ = stream.shutdown(Shutdown::Write);
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            let text = String::from_utf8_lossy(&answer);
            assert!(
                text.starts_with("HTTP/1.1 400 "),
                "{:?} -> {text}",
                String::from_utf8_lossy(&case[..case.len().min(60)])
            );
        }
        // A connection that sends nothing and closes is not a request.
        drop(TcpStream::connect(server.addr()).unwrap());
        assert_eq!(get(&server, "/admin/jobs").status, 200);
        let records = server.handle().requests();
        assert_eq!(records.iter().filter(|r| r.status == 400).count(), cases.len());
        assert_eq!(records.last().unwrap().status, 200);
    }

    #[test]
    fn absolute_form_targets_and_bare_newlines_parse() {
        let server = start(SimData::known(now_millis()));
        let request = "GET http://nbu:1556/netbackup/admin/jobs?page%5Blimit%5D=2 HTTP/1.1\n\
                       Authorization: test-key-123\nAccept: application/vnd.netbackup+json;version=10.0\n\n";
        let reply = raw(server.addr(), request.as_bytes()).unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json()["data"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn requests_are_recorded_decoded() {
        let server = start(SimData::known(now_millis()));
        let handle = server.handle();
        let filter = "state eq 'ACTIVE'";
        get(
            &server,
            &format!("/admin/jobs?filter={}&page%5Blimit%5D=3", enc(filter)),
        );
        get_with(server.addr(), "/netbackup/admin/jobs", Some("nope"), None);
        let records = handle.requests();
        assert_eq!(handle.request_count(), 2);
        assert_eq!(records[0].path, "/netbackup/admin/jobs");
        assert_eq!(
            records[0].query,
            vec![
                ("filter".to_string(), filter.to_string()),
                ("page[limit]".to_string(), "3".to_string())
            ]
        );
        assert_eq!(records[0].api_key.as_deref(), Some(KEY));
        assert_eq!(
            records[0].accept.as_deref(),
            Some("application/vnd.netbackup+json;version=13.0")
        );
        assert_eq!((records[0].status, records[1].status), (200, 401));
        assert!(records[0].at <= records[1].at);
        handle.clear_requests();
        assert_eq!(handle.request_count(), 0);
        assert!(handle.requests().is_empty());
    }

    #[test]
    fn set_data_replaces_what_is_served() {
        let server = start(SimData::known(now_millis()));
        server.handle().set_data(SimData::default());
        let body = get(&server, "/admin/jobs").json();
        assert_eq!(body["data"].as_array().unwrap().len(), 0);
        let body = get(&server, "/storage/storage-units").json();
        assert_eq!(body["meta"]["pagination"]["count"], 0);
        assert_eq!(body["meta"]["pagination"]["pages"], 0);
    }

    #[test]
    fn paging_100k_jobs_with_a_window_filter_stays_fast() {
        let now = now_millis();
        let data = SimData::generate(
            &DataSpec {
                jobs: 100_000,
                active_jobs: 50,
                queued_jobs: 50,
                ..DataSpec::default()
            },
            now,
        );
        let served = Served::new(data);
        let filter = format!(
            "endTime ge {}",
            crate::time::format_rfc3339_millis(now - 30 * 60_000)
        );
        let mut query = vec![
            ("page[limit]".to_string(), "100".to_string()),
            ("sort".to_string(), "jobId".to_string()),
            ("filter".to_string(), filter),
        ];
        let started = Instant::now();
        let mut seen = 0;
        for _ in 0..2_000 {
            let page: Value = serde_json::from_str(&jobs_page(&served, &query, now, "").unwrap()).unwrap();
            seen += page["data"].as_array().unwrap().len();
            let Some(next) = page["meta"]["pagination"]["next"].as_str() else {
                break;
            };
            query.retain(|(k, _)| k != "page[after]");
            query.push(("page[after]".to_string(), next.to_string()));
        }
        let want = served
            .data
            .jobs
            .iter()
            .filter(|j| j.end_time.is_some_and(|e| e >= now - 30 * 60_000))
            .count();
        assert_eq!(seen, want);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn connections_beyond_the_cap_are_closed_and_shutdown_is_prompt() {
        let server = start(SimData::known(now_millis()));
        // Idle connections that never send a request hold a slot until shutdown.
        let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(server.addr()).unwrap())
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.shared.active.load(Ordering::SeqCst) < MAX_CONNECTIONS {
            assert!(Instant::now() < deadline, "connections not accepted");
            thread::sleep(POLL);
        }
        let mut extra = TcpStream::connect(server.addr()).unwrap();
        extra.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            extra.read(&mut buf).unwrap_or(0),
            0,
            "over-cap connection is closed"
        );
        let started = Instant::now();
        server.shutdown();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        drop(idle);
    }

    /// Mutates a valid request at random (seeded): every mutant gets an HTTP answer and
    /// the server keeps serving.
    #[test]
    fn mutated_requests_always_get_an_answer() {
        use crate::data::XorShift;
        let server = start(SimData::known(now_millis()));
        let valid = format!(
            "GET /netbackup/admin/jobs?filter={}&page%5Blimit%5D=5&sort=-jobId&page%5Bafter%5D=i.110.110 HTTP/1.1\r\n\
             Host: 127.0.0.1\r\nAuthorization: {KEY}\r\nAccept: application/vnd.netbackup+json;version=13.0\r\n\r\n",
            enc("endTime ge 2025-01-01T00:00:00.000Z and state eq 'DONE' and status lt 2")
        );
        assert_eq!(raw(server.addr(), valid.as_bytes()).unwrap().status, 200);
        let mut rng = XorShift::new(99);
        for round in 0..300 {
            let mut bytes = valid.clone().into_bytes();
            for _ in 0..1 + rng.next_u64() % 4 {
                let at = (rng.next_u64() % bytes.len() as u64) as usize;
                match rng.next_u64() % 3 {
                    0 => bytes[at] = rng.next_u64() as u8,
                    1 => {
                        bytes.remove(at);
                    }
                    _ => {
                        let specials = b"%'() +\\\r\n\x00\xff";
                        bytes.insert(at, specials[(rng.next_u64() % specials.len() as u64) as usize]);
                    }
                }
            }
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = stream.write_all(&bytes);
            let _ = stream.shutdown(Shutdown::Write);
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            assert!(
                answer.starts_with(b"HTTP/1.1 "),
                "round {round}: {:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        assert_eq!(get(&server, "/admin/jobs").status, 200);
    }

    #[test]
    fn filter_parser_survives_random_token_soup() {
        use crate::data::XorShift;
        let words = [
            "endTime",
            "state",
            "status",
            "jobId",
            "eq",
            "ne",
            "ge",
            "lt",
            "and",
            "or",
            "not",
            "'DONE'",
            "''",
            "'",
            "5",
            "-1",
            "2025-01-01T00:00:00Z",
            "'2025-01-01T00:00:00Z'",
            "(",
            ")",
            "contains(x,'y')",
            "9999999999999999999999",
        ];
        let mut rng = XorShift::new(7);
        for _ in 0..5_000 {
            let n = 1 + rng.next_u64() % 8;
            let text: Vec<&str> = (0..n)
                .map(|_| words[(rng.next_u64() % words.len() as u64) as usize])
                .collect();
            let _ = parse_filter(&text.join(" "));
        }
        assert_eq!(parse_filter("status lt 2 and state eq 'it''s'").unwrap().len(), 2);
    }
}
