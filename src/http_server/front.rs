//! The accept front of the exporter's HTTP port: it owns the public socket and hands
//! tiny_http only complete, bounded requests.
//!
//! tiny_http reads a request head with no time or size limit, gives every connection a
//! thread of its own without limit, and its accept thread stops for good on the first
//! accept error (`EMFILE` when file descriptors run out). So the public socket is served
//! here instead: one accept thread that survives accept errors; a cap on live
//! connections, past which the connection that has waited longest for its request head is
//! closed; a deadline and size limits on the head and the body. A complete request is
//! then forwarded, with `Connection: close`, to tiny_http on a private loopback socket,
//! and its answer is relayed to the client through one buffer under a deadline. A client
//! that reads slower than tiny_http writes gets the rest of its answer from memory (up to
//! a budget shared by all connections; past it the connection is closed), so slow readers
//! never hold the few tiny_http workers. One request per connection.
//!
//! With a web config, the front is also the edge (`edge`): it runs the TLS handshake
//! (`tls`) under a deadline inside the head deadline, and refuses a request that is
//! cross-site or lacks credentials (`auth`) before tiny_http sees it. tiny_http listens on
//! a Unix socket in a directory only the exporter's user can enter (`backend`), so no
//! local process can go around any of this.
//!
//! It knows HTTP framing only (the head, `Content-Length`, `Expect`); it must not know
//! routes or what a handler does (the probes that need no credentials are `auth`'s).

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::auth::RequestFacts;
use super::edge::{Edge, EdgeCell};
use super::tls::{self, Conn, HANDSHAKE_TIMEOUT};

/// Time a client has to send its whole request head (and body) after connecting.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Most connections served at once (fewer when the file descriptor limit is low).
pub const MAX_CONNECTIONS: usize = 256;
/// Longest request line (method, target, version).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Largest request head, request line included.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// Most header fields in one request.
pub const MAX_HEADERS: usize = 100;
/// Largest request body (nothing here needs one; `POST /-/reload` is empty).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long writing the answer to a client may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After the answer, how long and how much of what the client still sends is read and
/// dropped, so that closing does not reset the connection before the answer is read.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 2 * 1024 * 1024;
/// Reads and the accept wait are cut into slices this long to watch the stop flag.
const SLICE: Duration = Duration::from_millis(100);
/// Once the listener stops, a head still being read gets at most this long.
const STOP_GRACE: Duration = Duration::from_secs(1);
/// Pause after a failed accept (out of file descriptors, say) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Descriptors left for everything else when the cap is derived from the limit; each
/// connection uses at most four (client, its watch clone or the backend socket, and
/// tiny_http's two ends of the Unix socket it accepted).
const RESERVED_FDS: u64 = 256;
const FDS_PER_CONNECTION: u64 = 4;

/// The accept front of one listener.
pub(super) struct Front {
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
    /// Written to by `stop` to wake the accept thread, which blocks without a timeout.
    wake: Option<std::os::unix::net::UnixStream>,
}

struct State {
    /// tiny_http's Unix socket.
    backend: PathBuf,
    /// What new connections are held to (TLS, authentication, headers).
    edge: EdgeCell,
    /// How long a forwarded request may take to be answered.
    answer_timeout: Duration,
    cap: usize,
    stop: AtomicBool,
    stopped_at: Mutex<Option<Instant>>,
    /// Connections being served; shared with the workers, which wait for it to reach 0
    /// when draining.
    live: Arc<AtomicUsize>,
    /// Connections still reading their request head, oldest first, with a handle to
    /// close them: the ones given up when the cap is reached or the listener stops.
    waiting: Mutex<VecDeque<(u64, TcpStream)>>,
    next_id: AtomicU64,
    /// Bytes of answers held for slow clients now (see `absorb`).
    slow_client_bytes: AtomicUsize,
}

/// A live connection; the count drops when it does, panics included.
struct Slot(Arc<State>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer the front gives itself, without bothering tiny_http.
#[derive(Clone, Copy)]
struct Refusal {
    status: u16,
    text: &'static str,
    /// A 401 that asks for basic-auth credentials.
    challenge: bool,
}

const fn refuse(status: u16, text: &'static str) -> Refusal {
    Refusal {
        status,
        text,
        challenge: false,
    }
}

impl Front {
    /// Starts accepting on `listener` and forwarding to `backend`.
    pub(super) fn start(
        listener: TcpListener,
        backend: PathBuf,
        edge: EdgeCell,
        answer_timeout: Duration,
        live: Arc<AtomicUsize>,
    ) -> std::io::Result<Front> {
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            backend,
            edge,
            answer_timeout,
            cap: connection_cap(),
            stop: AtomicBool::new(false),
            stopped_at: Mutex::new(None),
            live,
            waiting: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
            slow_client_bytes: AtomicUsize::new(0),
        });
        let thread_state = Arc::clone(&state);
        let (wake, woken) = std::os::unix::net::UnixStream::pair()?;
        let accept = std::thread::Builder::new()
            .name(format!("http-{port}-accept"))
            .spawn(move || accept_loop(&listener, &woken, &thread_state, port))?;
        Ok(Front {
            state,
            accept: Some(accept),
            wake: Some(wake),
        })
    }

    /// Stops accepting (the socket closes within a slice) and gives heads still being read
    /// `STOP_GRACE` to complete. Requests already read are still answered.
    pub(super) fn stop(&self) {
        if !self.state.stop.swap(true, Ordering::SeqCst) {
            *self.state.stopped_at.lock() = Some(Instant::now());
        }
        if let Some(mut wake) = self.wake.as_ref() {
            let _ = wake.write_all(b"x");
        }
    }

    /// Joins the accept thread once it has exited; true when it has.
    pub(super) fn try_finish(&mut self) -> bool {
        match self.accept.take() {
            Some(handle) if handle.is_finished() => {
                let _ = handle.join();
                true
            }
            Some(handle) => {
                self.accept = Some(handle);
                false
            }
            None => true,
        }
    }
}

/// The connection cap: `MAX_CONNECTIONS`, lowered so that the front cannot use up the
/// process's file descriptors by itself.
fn connection_cap() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let by_fds = limit.map_or(u64::MAX, |n| n.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION);
    usize::try_from(by_fds)
        .unwrap_or(usize::MAX)
        .clamp(8, MAX_CONNECTIONS)
}

fn accept_loop(
    listener: &TcpListener,
    woken: &std::os::unix::net::UnixStream,
    state: &Arc<State>,
    port: u16,
) {
    let mut warned_at: Option<Instant> = None;
    while !state.stop.load(Ordering::SeqCst) {
        if !readable(listener, woken) {
            continue;
        }
        match listener.accept() {
            Ok((stream, _)) => admit(stream, state, port),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => {
                // Out of descriptors, say: the connection waits in the backlog; try again.
                if warned_at.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    log::warn!(port = port, error:% = e; "http accept failed; retrying");
                    warned_at = Some(Instant::now());
                }
                std::thread::sleep(ACCEPT_BACKOFF);
            }
        }
    }
    // Connections the kernel completed before the stop are requests in flight for their
    // clients (a scraper that read the old address just before a move): serve them rather
    // than reset them when the socket closes. The socket is non-blocking, so this ends
    // with the backlog.
    for _ in 0..state.cap {
        match listener.accept() {
            Ok((stream, _)) => admit(stream, state, port),
            Err(_) => break,
        }
    }
}

/// Blocks until a connection can be accepted (true) or `stop` wrote to the wake socket
/// (false). No timeout: an idle exporter has no periodic wake-ups here.
fn readable(listener: &TcpListener, woken: &std::os::unix::net::UnixStream) -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds = [
        PollFd::new(listener, PollFlags::IN),
        PollFd::new(woken, PollFlags::IN),
    ];
    match poll(&mut fds, None) {
        Ok(_) => fds[0].revents().contains(PollFlags::IN),
        Err(_) => {
            std::thread::sleep(SLICE);
            false
        }
    }
}

fn admit(stream: TcpStream, state: &Arc<State>, port: u16) {
    // The answer goes out in one write, but the 503 below and small answers must not wait
    // on a delayed ACK either.
    let _ = stream.set_nodelay(true);
    if state.live.load(Ordering::SeqCst) >= state.cap && !state.evict_oldest() {
        // Every slot is busy with a complete request: turn this one away, without waiting
        // on it.
        let _ = stream.set_nonblocking(true);
        let _ = (&stream).write_all(&plain(503, "too many connections; retry", ""));
        return;
    }
    state.live.fetch_add(1, Ordering::SeqCst);
    let slot = Slot(Arc::clone(state));
    let spawned = std::thread::Builder::new()
        .name(format!("http-{port}-conn"))
        .spawn(move || serve(stream, &slot.0));
    if let Err(e) = spawned {
        log::warn!(port = port, error:% = e; "cannot start an http connection thread");
    }
}

impl State {
    /// Closes the connection that has waited longest for its request head.
    fn evict_oldest(&self) -> bool {
        match self.waiting.lock().pop_front() {
            Some((_, stream)) => {
                let _ = stream.shutdown(Shutdown::Both);
                true
            }
            None => false,
        }
    }

    fn watch(&self, stream: &TcpStream) -> Option<u64> {
        let clone = stream.try_clone().ok()?;
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.waiting.lock().push_back((id, clone));
        Some(id)
    }

    fn unwatch(&self, id: Option<u64>) {
        if let Some(id) = id {
            self.waiting.lock().retain(|(i, _)| *i != id);
        }
    }

    /// The deadline of a head started at `started`, shortened once the listener stops.
    fn head_deadline(&self, started: Instant) -> Instant {
        let deadline = started + HEAD_TIMEOUT;
        match *self.stopped_at.lock() {
            Some(at) => deadline.min(at + STOP_GRACE),
            None => deadline,
        }
    }
}

fn serve(client: TcpStream, state: &State) {
    let started = Instant::now();
    let _ = client.set_nonblocking(false);
    // The edge current now serves this connection to its end, whatever a reload swaps in.
    let edge = Arc::clone(&state.edge.read());
    let watched = state.watch(&client);
    let mut client = match edge.tls() {
        None => Conn::Plain(client),
        Some(config) => {
            let deadline = || state.head_deadline(started).min(started + HANDSHAKE_TIMEOUT);
            match tls::accept(client, config, deadline) {
                Ok(conn) => conn,
                Err(e) => {
                    state.unwatch(watched);
                    log::debug!(error:? = e; "tls handshake not completed");
                    return;
                }
            }
        }
    };
    let request = read_request(&mut client, state, &edge, started);
    state.unwatch(watched);
    let answer = match request {
        Ok(Some(request)) => match relay(&request, &mut client, state, edge.headers()) {
            Ok(complete) => {
                if complete {
                    linger(&mut client);
                }
                return;
            }
            Err(refusal) => {
                log::debug!(status = refusal.status; "http request not answered by the server");
                plain(refusal.status, refusal.text, edge.headers())
            }
        },
        // Closed, evicted or idle before sending a request: nothing to answer.
        Ok(None) => return,
        Err(refusal) => {
            log::debug!(status = refusal.status, reason = refusal.text; "http request refused");
            let mut extra = edge.headers().to_string();
            if refusal.challenge {
                extra.push_str(&super::auth::Denial::www_authenticate());
            }
            plain(refusal.status, refusal.text, &extra)
        }
    };
    if write_all_by(&mut client, &answer, Instant::now() + WRITE_TIMEOUT) {
        linger(&mut client);
    }
}

/// Reads one request head and its body, and asks the edge whether it may go on.
/// `Ok(None)` when the client sent nothing usable and deserves no answer (it closed, or was
/// closed to make room).
fn read_request(
    client: &mut Conn,
    state: &State,
    edge: &Edge,
    started: Instant,
) -> Result<Option<Vec<u8>>, Refusal> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let mut searched: usize = 0;
    let head_end = loop {
        if let Some(i) = find(&buf[searched.saturating_sub(3)..], b"\r\n\r\n") {
            break searched.saturating_sub(3) + i + 4;
        }
        searched = buf.len();
        if find(&buf, b"\r\n").is_none() && buf.len() > MAX_REQUEST_LINE {
            return Err(refuse(414, "request line too long"));
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(refuse(431, "request head too large"));
        }
        match read_some(client, &mut chunk, state.head_deadline(started)) {
            Got::Data(n) => buf.extend_from_slice(&chunk[..n]),
            Got::Closed => return Ok(None),
            Got::TimedOut if buf.is_empty() => return Ok(None),
            Got::TimedOut => return Err(refuse(408, "request head not received in time")),
        }
    };
    let head = Head::parse(&buf[..head_end])?;
    edge.admit(&head.facts, state.head_deadline(started))
        .map_err(|denial| Refusal {
            status: denial.status,
            text: denial.text,
            challenge: denial.challenge,
        })?;
    let mut body = buf[head_end..].to_vec();
    if body.len() < head.content_length && head.expects_continue {
        let _ = client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    while body.len() < head.content_length {
        match read_some(client, &mut chunk, state.head_deadline(started)) {
            Got::Data(n) => body.extend_from_slice(&chunk[..n]),
            Got::Closed => return Ok(None),
            Got::TimedOut => return Err(refuse(408, "request body not received in time")),
        }
    }
    body.truncate(head.content_length);
    let mut request = head.forwarded;
    request.extend_from_slice(&body);
    Ok(Some(request))
}

enum Got {
    Data(usize),
    Closed,
    TimedOut,
}

/// One read, waiting in slices until `deadline` (re-evaluated each slice, since a stop
/// shortens it).
fn read_some(client: &mut Conn, chunk: &mut [u8], deadline: Instant) -> Got {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Got::TimedOut;
        }
        if client.socket().set_read_timeout(Some(left.min(SLICE))).is_err() {
            return Got::Closed;
        }
        match client.read(chunk) {
            Ok(0) => return Got::Closed,
            Ok(n) => return Got::Data(n),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(_) => return Got::Closed,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A checked request head, rewritten for tiny_http.
struct Head {
    forwarded: Vec<u8>,
    content_length: usize,
    expects_continue: bool,
    /// What the edge checks.
    facts: RequestFacts,
}

impl Head {
    /// `raw` ends with the blank line. Refuses what tiny_http would buffer without limit
    /// (too many fields) or what needs framing the front does not do (chunked bodies).
    fn parse(raw: &[u8]) -> Result<Head, Refusal> {
        let text = &raw[..raw.len() - 4];
        let mut lines = text
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let request_line = lines.next().unwrap_or_default();
        if request_line.len() > MAX_REQUEST_LINE {
            return Err(refuse(414, "request line too long"));
        }
        let mut words = request_line.split(|b| *b == b' ');
        let mut facts = RequestFacts {
            method: words.next().unwrap_or_default().to_vec(),
            target: words.next().unwrap_or_default().to_vec(),
            ..RequestFacts::default()
        };
        let mut forwarded = Vec::with_capacity(raw.len() + 20);
        forwarded.extend_from_slice(request_line);
        forwarded.extend_from_slice(b"\r\n");
        let mut content_length: Option<usize> = None;
        let mut expects_continue = false;
        let mut fields = 0;
        for line in lines {
            fields += 1;
            if fields > MAX_HEADERS {
                return Err(refuse(431, "too many header fields"));
            }
            let (name, value) = match line.iter().position(|b| *b == b':') {
                Some(i) => (&line[..i], line[i + 1..].trim_ascii()),
                // Not a field: tiny_http answers it with 400.
                None => (line, &b""[..]),
            };
            let name = name.trim_ascii();
            let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            if is("transfer-encoding") {
                return Err(refuse(
                    411,
                    "chunked request bodies are not supported: send Content-Length",
                ));
            }
            if is("content-length") {
                let n = std::str::from_utf8(value)
                    .ok()
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .ok_or(refuse(400, "invalid Content-Length"))?;
                if content_length.is_some_and(|c| c != n) {
                    return Err(refuse(400, "conflicting Content-Length fields"));
                }
                if n > MAX_BODY_BYTES {
                    return Err(refuse(413, "request body too large"));
                }
                content_length = Some(n);
            }
            if is("expect") {
                expects_continue = value.eq_ignore_ascii_case(b"100-continue");
                continue;
            }
            if is("connection") || is("keep-alive") || is("proxy-connection") {
                continue;
            }
            if is("authorization") {
                facts.authorization.push(value.to_vec());
            } else if is("origin") {
                facts.origin = Some(value.to_vec());
            } else if is("sec-fetch-site") {
                facts.sec_fetch_site = Some(value.to_vec());
            } else if is("host") {
                facts.host = Some(value.to_vec());
            }
            forwarded.extend_from_slice(line);
            forwarded.extend_from_slice(b"\r\n");
        }
        forwarded.extend_from_slice(b"Connection: close\r\n\r\n");
        Ok(Head {
            forwarded,
            content_length: content_length.unwrap_or(0),
            expects_continue,
            facts,
        })
    }
}

/// Sends a complete request to tiny_http and streams its answer to the client through one
/// fixed buffer, adding `Connection: close` to the head. Nothing grows with the answer,
/// so a 10 MiB `/metrics` costs no memory here (buffering whole answers on these
/// short-lived threads left glibc arenas holding tens of MiB). A client that reads slowly
/// holds a tiny_http worker for at most `WRITE_TIMEOUT`.
///
/// `Err` when nothing was sent to the client yet (the caller answers plainly); `Ok(true)`
/// when the whole answer was delivered, `Ok(false)` when the client stopped taking it.
/// `extra_headers` (the web config's) go into the answer's head.
fn relay(request: &[u8], client: &mut Conn, state: &State, extra_headers: &str) -> Result<bool, Refusal> {
    let unavailable = refuse(
        503,
        "the exporter is not accepting requests on this listener now; retry",
    );
    let mut backend = UnixStream::connect(&state.backend).map_err(|e| {
        log::debug!(error:% = e; "http backend unreachable");
        unavailable
    })?;
    let _ = backend.set_write_timeout(Some(Duration::from_secs(5)));
    backend.write_all(request).map_err(|_| unavailable)?;
    let answer_deadline = Instant::now() + state.answer_timeout;
    let mut buf = vec![0u8; RELAY_BUFFER];
    // The status line first, to put `Connection: close` after it.
    let mut head = Vec::new();
    while find(&head, b"\r\n").is_none() && head.len() < MAX_REQUEST_LINE {
        match read_backend(&mut backend, &mut buf, answer_deadline) {
            Relayed::Data(n) => head.extend_from_slice(&buf[..n]),
            Relayed::End if !head.is_empty() => break,
            // tiny_http closes on a request it cannot parse: so does the front.
            Relayed::End => return Ok(false),
            Relayed::TimedOut => return Err(refuse(504, "no answer in time")),
        }
    }
    let write_deadline = Instant::now() + WRITE_TIMEOUT;
    if !write_all_by(client, &closing(head, extra_headers), write_deadline) {
        return Ok(false);
    }
    loop {
        match read_backend(&mut backend, &mut buf, answer_deadline) {
            Relayed::Data(n) => {
                let patience = (Instant::now() + SLOW_CLIENT).min(write_deadline);
                match write_within(client, &buf[..n], patience) {
                    Wrote::All => {}
                    Wrote::Failed => return Ok(false),
                    Wrote::Partly(done) => {
                        // The client reads slower than the server answers: take the rest
                        // of the answer off the tiny_http worker, so that slow readers
                        // cannot hold every worker, and write it out at the client's pace.
                        let Some(rest) = absorb(&mut buf, done..n, &mut backend, answer_deadline, state)
                        else {
                            return Ok(false);
                        };
                        drop(backend);
                        return Ok(write_all_by(client, &rest.bytes, write_deadline));
                    }
                }
            }
            Relayed::End => return Ok(true),
            Relayed::TimedOut => return Ok(false),
        }
    }
}

/// How long one relayed chunk may take to be written before its client counts as slow.
const SLOW_CLIENT: Duration = Duration::from_millis(200);
/// Most bytes of answers held in memory, across connections, for slow clients. A slow
/// client past it is closed rather than allowed to hold a worker.
pub const SLOW_CLIENT_BUDGET: usize = 64 << 20;

/// The rest of an answer held for a slow client, counted against `SLOW_CLIENT_BUDGET`
/// until dropped.
struct Absorbed<'a> {
    bytes: Vec<u8>,
    reserved: usize,
    held: &'a AtomicUsize,
}

impl Absorbed<'_> {
    /// Appends `more` if the budget allows; false when it does not.
    fn push(&mut self, more: &[u8]) -> bool {
        let reserved = self
            .held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(more.len())
                    .filter(|total| *total <= SLOW_CLIENT_BUDGET)
            })
            .is_ok();
        if reserved {
            self.reserved += more.len();
            self.bytes.extend_from_slice(more);
        }
        reserved
    }
}

impl Drop for Absorbed<'_> {
    fn drop(&mut self) {
        self.held.fetch_sub(self.reserved, Ordering::SeqCst);
    }
}

/// Reads the rest of the answer into memory after `buf[untaken]`, the part of the last
/// chunk the client has not taken. `None` when the budget is spent or the answer does not
/// end in time: the connection is then given up.
fn absorb<'a>(
    buf: &mut [u8],
    untaken: std::ops::Range<usize>,
    backend: &mut UnixStream,
    deadline: Instant,
    state: &'a State,
) -> Option<Absorbed<'a>> {
    let mut rest = Absorbed {
        bytes: Vec::new(),
        reserved: 0,
        held: &state.slow_client_bytes,
    };
    let over_budget = || {
        log::debug!(
            budget_bytes = SLOW_CLIENT_BUDGET;
            "http client reads too slowly and the slow-client budget is spent; closing it"
        );
    };
    if !rest.push(&buf[untaken]) {
        over_budget();
        return None;
    }
    loop {
        match read_backend(backend, buf, deadline) {
            Relayed::Data(n) => {
                if !rest.push(&buf[..n]) {
                    over_budget();
                    return None;
                }
            }
            Relayed::End => return Some(rest),
            Relayed::TimedOut => return None,
        }
    }
}

/// Size of the one buffer an answer is relayed through.
const RELAY_BUFFER: usize = 64 * 1024;

enum Relayed {
    Data(usize),
    /// End of the answer (the server closes after it), or a reset: whatever arrived is all
    /// there will be.
    End,
    TimedOut,
}

fn read_backend(backend: &mut UnixStream, buf: &mut [u8], deadline: Instant) -> Relayed {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || backend.set_read_timeout(Some(left)).is_err() {
            return Relayed::TimedOut;
        }
        match backend.read(buf) {
            Ok(0) => return Relayed::End,
            Ok(n) => return Relayed::Data(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Relayed::TimedOut
            }
            Err(_) => return Relayed::End,
        }
    }
}

/// Adds `Connection: close` and `extra_headers` after the status line.
fn closing(answer: Vec<u8>, extra_headers: &str) -> Vec<u8> {
    match find(&answer, b"\r\n") {
        Some(i) if answer.starts_with(b"HTTP/") => {
            let mut out = Vec::with_capacity(answer.len() + 19 + extra_headers.len());
            out.extend_from_slice(&answer[..i + 2]);
            out.extend_from_slice(b"Connection: close\r\n");
            out.extend_from_slice(extra_headers.as_bytes());
            out.extend_from_slice(&answer[i + 2..]);
            out
        }
        _ => answer,
    }
}

/// How much of a chunk reached the client by a deadline.
enum Wrote {
    All,
    /// The deadline came after this many bytes.
    Partly(usize),
    /// The connection failed.
    Failed,
}

/// For TLS, `All` also means flushed out of rustls' buffer.
fn write_within(client: &mut Conn, bytes: &[u8], deadline: Instant) -> Wrote {
    let mut done = 0;
    while done < bytes.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Wrote::Partly(done);
        }
        if client.socket().set_write_timeout(Some(left)).is_err() {
            return Wrote::Failed;
        }
        match client.write(&bytes[done..]) {
            // rustls with its buffer full: the client is behind.
            Ok(0) if matches!(client, Conn::Tls(_)) => return Wrote::Partly(done),
            Ok(0) => return Wrote::Failed,
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Wrote::Partly(done)
            }
            Err(_) => return Wrote::Failed,
        }
    }
    if let Conn::Tls(_) = client {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Wrote::Partly(done);
            }
            if client.socket().set_write_timeout(Some(left)).is_err() {
                return Wrote::Failed;
            }
            match client.flush() {
                Ok(()) => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Wrote::Partly(done)
                }
                Err(_) => return Wrote::Failed,
            }
        }
    }
    Wrote::All
}

/// Writes `bytes` before `deadline`; false when the client did not take them.
fn write_all_by(client: &mut Conn, bytes: &[u8], deadline: Instant) -> bool {
    matches!(write_within(client, bytes, deadline), Wrote::All)
}

/// Half-closes (after a TLS `close_notify`) and drains what the client still sends,
/// briefly, then closes.
fn linger(client: &mut Conn) {
    client.shutdown_write();
    let deadline = Instant::now() + LINGER;
    let mut drained = 0;
    let mut chunk = [0u8; 16 * 1024];
    while drained < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || client.socket().set_read_timeout(Some(left)).is_err() {
            return;
        }
        match client.read_raw(&mut chunk) {
            Ok(0) => return,
            Ok(n) => drained += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// A complete `text/plain` answer that closes the connection, with `extra_headers`.
fn plain(status: u16, text: &str, extra_headers: &str) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{text}\n",
        text.len() + 1
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers held for slow clients share one budget: a push past it is refused, and
    /// what a connection held is given back when it is done.
    #[test]
    fn slow_client_answers_share_one_budget() {
        let held = AtomicUsize::new(0);
        let half = vec![0u8; SLOW_CLIENT_BUDGET / 2];
        let mut first = Absorbed {
            bytes: Vec::new(),
            reserved: 0,
            held: &held,
        };
        assert!(first.push(&half));
        let mut second = Absorbed {
            bytes: Vec::new(),
            reserved: 0,
            held: &held,
        };
        assert!(second.push(&half));
        assert!(!second.push(b"x"), "the budget is spent");
        assert_eq!(second.bytes.len(), half.len(), "a refused push adds nothing");
        assert_eq!(held.load(Ordering::SeqCst), SLOW_CLIENT_BUDGET);
        drop(first);
        assert_eq!(held.load(Ordering::SeqCst), SLOW_CLIENT_BUDGET / 2);
        assert!(second.push(b"x"), "room again once the first is done");
        drop(second);
        assert_eq!(held.load(Ordering::SeqCst), 0);
    }

    fn check(raw: &str, want: Result<(&str, usize), u16>) {
        let got = Head::parse(raw.as_bytes())
            .map(|h| (String::from_utf8(h.forwarded).unwrap(), h.content_length))
            .map_err(|r| r.status);
        let want = want.map(|(s, n)| (s.to_string(), n));
        assert_eq!(got, want, "{raw:?}");
    }

    #[test]
    fn heads_are_checked_and_rewritten() {
        check(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
            Ok(("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0)),
        );
        check(
            "POST /-/reload HTTP/1.1\r\ncontent-length: 2\r\nExpect: 100-continue\r\n\r\n",
            Ok((
                "POST /-/reload HTTP/1.1\r\ncontent-length: 2\r\nConnection: close\r\n\r\n",
                2,
            )),
        );
        check(
            "GET / HTTP/1.0\r\n\r\n",
            Ok(("GET / HTTP/1.0\r\nConnection: close\r\n\r\n", 0)),
        );
        check("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", Err(411));
        check("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", Err(400));
        check(
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            Err(400),
        );
        check("POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", Err(413));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        check(&format!("GET / HTTP/1.1\r\n{many}\r\n"), Err(431));
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
        check(&long, Err(414));
    }

    #[test]
    fn forwarded_answers_say_the_connection_closes() {
        let got = closing(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(), "");
        assert_eq!(
            got,
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
        );
        let got = closing(b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), "X-Frame-Options: deny\r\n");
        assert_eq!(
            got,
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nX-Frame-Options: deny\r\n\r\n"
        );
        assert_eq!(closing(Vec::new(), ""), b"");
        assert_eq!(closing(b"garbage".to_vec(), ""), b"garbage");
    }

    #[test]
    fn plain_answers_are_complete() {
        let answer = String::from_utf8(plain(414, "request line too long", "")).unwrap();
        assert!(answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nrequest line too long\n"), "{answer}");
        assert!(answer.contains("Content-Length: 22\r\n"), "{answer}");
    }
}
