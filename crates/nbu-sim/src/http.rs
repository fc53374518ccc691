//! The simulator's HTTP/1.1, on plain `std::net`: the accept thread, one thread per
//! connection (capped), request heads parsed by hand, and responses written with
//! `Connection: close`. Parsing is strict and bounded (head size, header count, time), so
//! malformed or hostile input gets a 400 and never a panic or a stuck thread.
//!
//! A connection is plain or TLS (`tls::SimStream`, when the server was started with
//! HTTPS); everything above the byte stream is the same for both.
//!
//! Threads: one accept thread polls a non-blocking listener and a stop flag every 10 ms and
//! owns the connection threads, joining them all on shutdown. Every blocking step of a
//! connection (read, write, fault wait) works in small slices that check the stop flag
//! and an absolute per-connection bound, so shutdown is prompt whatever a client does.
//!
//! It knows nothing of NetBackup's endpoints: a parsed request goes to `faults` when a
//! fault is set for its path, else to `routes`, and a malformed one gets the 400 error body
//! `routes` defines.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Map;

use crate::faults::{self, Faulty, Scope};
use crate::routes::route;
use crate::server::{RequestRecord, Shared};
use crate::tls::SimStream;

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

pub(crate) fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
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
    stream: SimStream,
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
        let stream = SimStream::accept(stream, shared.tls())?;
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
        self.stream.shutdown_write();
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
        let _ = self.stream.tcp().shutdown(Shutdown::Both);
    }
}

/// Index just past the blank line ending the head (`\r\n\r\n`, or a bare `\n\n`).
pub(crate) fn head_end(buf: &[u8]) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SimData;
    use crate::testing::*;
    use crate::time::now_millis;

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
}
