//! One client connection of the front, plain or TLS (rustls), and the TLS handshake under
//! a deadline.
//!
//! The handshake runs on the connection's own thread before its request head is read, with
//! `HANDSHAKE_TIMEOUT` inside the head deadline: a client that starts a handshake and
//! stalls is cut like a slowloris. A client that speaks plain HTTP to a TLS port gets a
//! plain `400` saying so and the connection closes, rather than a hang or a bare reset.
//!
//! It knows sockets and rustls only; the server configuration comes from the web config
//! (built in `config::web`), the deadlines from the front.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// Longest a TLS handshake may take, counted from the connection's start; the head
/// deadline still applies on top.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Socket waits are cut into slices this long, so that a shortened deadline (a stopping
/// listener) is seen.
const SLICE: Duration = Duration::from_millis(100);
/// The first byte of a TLS record carrying a handshake message.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// A client connection, plain or TLS. Reads and writes are plaintext either way;
/// timeouts are set on the socket underneath.
pub(super) enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

/// Why a TLS connection never got to send a request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HandshakeError {
    /// Closed or timed out before a byte arrived, or closed mid-way.
    Gone,
    /// The client spoke plain HTTP; it has been told so.
    PlainHttp,
    /// The deadline passed mid-handshake.
    TimedOut,
    /// The handshake failed (no shared version, a refused client certificate, garbage).
    Failed(String),
}

impl Conn {
    /// The socket underneath, for timeouts and shutdown.
    pub(super) fn socket(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref(),
        }
    }

    /// Ends the sending side: a TLS `close_notify` (best effort) then a TCP FIN.
    pub(super) fn shutdown_write(&mut self) {
        if let Conn::Tls(stream) = self {
            stream.conn.send_close_notify();
            let _ = stream.sock.set_write_timeout(Some(Duration::from_millis(200)));
            let _ = stream.flush();
        }
        let _ = self.socket().shutdown(Shutdown::Write);
    }

    /// Reads from the socket underneath, bypassing TLS: for draining a closed connection.
    pub(super) fn read_raw(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.sock.read(buf),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

/// For TLS, `write` takes plaintext into rustls (at most its 64 KiB buffer) and `flush`
/// sends what is buffered; a timeout of the socket surfaces as `WouldBlock` or `TimedOut`
/// on the next call.
impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Runs the server side of a TLS handshake on `stream` until `deadline()` (evaluated at
/// every slice). The client's first byte is looked at first: plain HTTP gets its `400`.
pub(super) fn accept(
    stream: TcpStream,
    config: &Arc<ServerConfig>,
    deadline: impl Fn() -> Instant,
) -> Result<Conn, HandshakeError> {
    let first = peek_first_byte(&stream, &deadline)?;
    if first != TLS_HANDSHAKE_RECORD {
        if first.is_ascii_alphabetic() {
            refuse_plain_http(&stream);
            return Err(HandshakeError::PlainHttp);
        }
        return Err(HandshakeError::Failed(format!(
            "not a TLS handshake (first byte 0x{first:02x})"
        )));
    }
    let mut conn =
        ServerConnection::new(Arc::clone(config)).map_err(|e| HandshakeError::Failed(e.to_string()))?;
    let mut socket = stream;
    while conn.is_handshaking() {
        let left = deadline().saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HandshakeError::TimedOut);
        }
        let slice = Some(left.min(SLICE));
        if socket.set_read_timeout(slice).is_err() || socket.set_write_timeout(slice).is_err() {
            return Err(HandshakeError::Gone);
        }
        match conn.complete_io(&mut socket) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Err(HandshakeError::Gone),
            Err(e) => return Err(HandshakeError::Failed(e.to_string())),
        }
    }
    Ok(Conn::Tls(Box::new(StreamOwned::new(conn, socket))))
}

fn peek_first_byte(stream: &TcpStream, deadline: &impl Fn() -> Instant) -> Result<u8, HandshakeError> {
    let mut byte = [0u8; 1];
    loop {
        let left = deadline().saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HandshakeError::Gone);
        }
        if stream.set_read_timeout(Some(left.min(SLICE))).is_err() {
            return Err(HandshakeError::Gone);
        }
        match stream.peek(&mut byte) {
            Ok(0) => return Err(HandshakeError::Gone),
            Ok(_) => return Ok(byte[0]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return Err(HandshakeError::Gone),
        }
    }
}

/// What Go's servers answer too: plain HTTP on a TLS port is a client mistake worth naming.
fn refuse_plain_http(stream: &TcpStream) {
    let text = "client sent an HTTP request to an HTTPS server\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let mut writer = stream;
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    if writer.write_all(answer.as_bytes()).is_ok() {
        // Read what the client sent (briefly) so that closing does not reset the answer.
        let _ = stream.shutdown(Shutdown::Write);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut sink = [0u8; 4096];
        let mut reader = stream;
        for _ in 0..16 {
            match reader.read(&mut sink) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}
