//! Test support: a tiny scripted HTTP/1.1 server on `127.0.0.1:0` that records every
//! request (line, decoded query, headers, arrival time) and answers from a script, plus a
//! test `SiteConfig` and fast `ClientOptions`.
//!
//! One thread accepts; one thread per connection answers and closes (`Connection: close`).
//! Every wait is bounded; dropping the `Stub` stops it. Only the client's tests use it; it
//! must not know NetBackup beyond what a test scripts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Scheme, Secret, SiteConfig};
use crate::nbu::{ClientOptions, RequestObserver, RequestOutcome};

/// Longest a connection thread waits for anything (a request head, a hanging client).
const MAX_WAIT: Duration = Duration::from_secs(10);

/// A throwaway self-signed CA certificate (no key kept), for the caFile checks.
pub(crate) const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUSpM1WSEfZeL1F5XKKnjfDw8c2pkwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUbmJ1LWV4cG9ydGVyIHRlc3QgQ0EwIBcNMjYxMTI1MjI1NDU1
WhgPMjEyNjExMDEyMjU0NTVaMB8xHTAbBgNVBAMMFG5idS1leHBvcnRlciB0ZXN0
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgrAYUe+sEINKTzxcjMKlW7+i
b8gNeQEvtnTVg5LlDTIm5Qr6HGzRKYV2d6FGn6bXXCn0PAy+rr3OOmXC91K4lKNT
MFEwHQYDVR0OBBYEFH1BnWruzq/NBw2m7pNoPiumePglMB8GA1UdIwQYMBaAFH1B
nWruzq/NBw2m7pNoPiumePglMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIhALgIWy6gazW4jekUFIjclW2cQyEh4tiKl1FgzBf3byYvAiA1tIO4T6pk
gFqnSHA0v/QjuFVZSi/kA1XA284E4ZgXMg==
-----END CERTIFICATE-----
";

/// A site pointing at a stub on `port`, with API key `key` and a 2 s request timeout.
/// The API key the client tests send; it must never show in an error or a log line.
pub(crate) const KEY: &str = "SENTINEL-KEY-3f9a1c";
/// A jobs page with one job and a next cursor.
pub(crate) const ONE_JOB: &str =
    r#"{"data": [{"id": "1", "attributes": {"jobId": 1}}], "meta": {"pagination": {"next": "1"}}}"#;

/// A client for `stub` with a recording observer.
pub(crate) fn client_for(stub: &Stub, options: ClientOptions) -> (crate::nbu::Client, Seen) {
    let (observer, seen) = recording_observer();
    let client = crate::nbu::Client::new(&site(stub.port(), KEY), options, Some(observer))
        .expect("a client for the stub");
    (client, seen)
}

pub(crate) fn site(port: u16, key: &str) -> SiteConfig {
    SiteConfig {
        name: "paris".into(),
        scheme: Scheme::Http,
        host: "127.0.0.1".into(),
        port,
        uri: "/netbackup".into(),
        api_key: Secret::new(key),
        api_key_file: None,
        api_version: None,
        insecure_skip_verify: false,
        ca_file: None,
        ca_pem: None,
        timeout: Duration::from_secs(2),
    }
}

/// Default limits with millisecond backoffs, so retry tests are quick.
pub(crate) fn fast_options() -> ClientOptions {
    ClientOptions {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        ..ClientOptions::default()
    }
}

/// A deadline `ms` from now.
pub(crate) fn deadline_in(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

/// `(endpoint, code)` of every attempt, as a recording observer saw them.
pub(crate) type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// An observer that records every attempt into the returned list.
pub(crate) fn recording_observer() -> (RequestObserver, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let observer: RequestObserver = Arc::new(move |o: &RequestOutcome| {
        sink.lock()
            .expect("observer log")
            .push((o.endpoint.to_string(), o.code.to_string()));
    });
    (observer, seen)
}

/// The codes recorded so far.
pub(crate) fn codes(seen: &Seen) -> Vec<String> {
    seen.lock()
        .expect("observer log")
        .iter()
        .map(|(_, c)| c.clone())
        .collect()
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    /// The raw request target (path and query as sent).
    pub target: String,
    /// Query parameters, names and values percent-decoded, in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The version in `Accept: application/vnd.netbackup+json;version=X`.
    pub fn accept_version(&self) -> &str {
        self.header("accept")
            .and_then(|a| a.split("version=").nth(1))
            .unwrap_or("")
    }
}

/// What the server does with one request.
pub(crate) enum Reply {
    /// A complete response with `Content-Length`.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// These bytes as they are, then close (for responses without a length).
    Raw(Vec<u8>),
    /// Send nothing; wait (bounded) until the client goes away.
    Hang,
    /// Send a head announcing `len` body bytes and `prefix` of them, then wait (bounded).
    Stall { len: usize, prefix: Vec<u8> },
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply::Respond {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/vnd.netbackup+json;version=13.0".into(),
            )],
            body: body.into().into_bytes(),
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply::json(status, r#"{"errorCode": 1, "errorMessage": "scripted"}"#)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Script = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// The running server. Dropping it stops the accept thread.
pub(crate) struct Stub {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Stub {
    /// Starts a server answering each request with `script(request, n)`, where `n` counts
    /// the earlier requests with the same target and `Accept` (0 on the first).
    pub fn start(script: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub");
        let addr = listener.local_addr().expect("stub address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let acceptor = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::Builder::new()
                .name("nbu-stub-accept".into())
                .spawn(move || {
                    for conn in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(conn) = conn else { continue };
                        let (log, stop, script) = (log.clone(), stop.clone(), script.clone());
                        let _ = std::thread::Builder::new()
                            .name("nbu-stub-conn".into())
                            .spawn(move || serve(conn, &log, &stop, &*script));
                    }
                })
                .expect("spawn the stub")
        };
        Stub {
            addr,
            log,
            stop,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("stub log").clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)); // wake accept
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve(mut conn: TcpStream, log: &Mutex<Vec<Recorded>>, stop: &AtomicBool, script: &Script) {
    let _ = conn.set_read_timeout(Some(MAX_WAIT));
    let Some(request) = read_head(&mut conn) else {
        return;
    };
    let n = {
        let mut log = log.lock().expect("stub log");
        let same =
            |r: &&Recorded| r.target == request.target && r.header("accept") == request.header("accept");
        let n = log.iter().filter(same).count();
        log.push(request.clone());
        n
    };
    match script(&request, n) {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Stub\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body);
        }
        Reply::Raw(bytes) => {
            let _ = conn.write_all(&bytes);
        }
        Reply::Hang => wait_for_close(&mut conn, stop),
        Reply::Stall { len, prefix } => {
            let head = format!(
                "HTTP/1.1 200 Stub\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&prefix);
            let _ = conn.flush();
            wait_for_close(&mut conn, stop);
        }
    }
    let _ = conn.flush();
}

/// Blocks until the peer closes the connection, the stub stops, or `MAX_WAIT` passes.
fn wait_for_close(conn: &mut TcpStream, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_millis(50)));
    let until = Instant::now() + MAX_WAIT;
    let mut buf = [0u8; 256];
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// Reads and parses a request head (GET requests carry no body).
fn read_head(conn: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 64 * 1024 {
            return None;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let query = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(n).unwrap_or_default(),
                percent_decode(v).unwrap_or_default(),
            )
        })
        .collect();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Recorded {
        method,
        path: percent_decode(raw_path)?,
        target: target.clone(),
        query,
        headers,
        at: Instant::now(),
    })
}

/// Decodes `%XX` escapes as a plain server does. `None` on a malformed escape or bad UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
