//! The certificate a NetBackup primary presents (the leaf), read by one extra TLS
//! handshake, because ureq does not expose the peer certificate of its connections. The
//! poller turns its `notAfter` into the expiry metric, so an alert can warn weeks ahead.
//!
//! The handshake records the leaf whatever it is and does not judge it: an untrusted or
//! expired certificate is exactly the one whose date matters, and the API requests already
//! judge trust (and report it). The connection carries no request and no API key; it is
//! closed right after the handshake. It must not know metrics or the config file.

use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use super::x509::CertSummary;

/// Connects to `host:port`, completes a TLS handshake within `timeout`, and returns the
/// presented leaf certificate (DER). An error says which step failed.
pub fn presented_leaf(host: &str, port: u16, timeout: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string())
        .map_err(|_| format!("{host:?} is not a valid TLS server name"))?;
    let mut tcp = connect(bare, port, deadline)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(LeafRecorder {
        leaf: Mutex::new(None),
        provider: Arc::clone(&provider),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let mut conn = ClientConnection::new(Arc::new(config), name).map_err(|e| format!("tls setup: {e}"))?;
    while conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("tls handshake timed out".into());
        }
        let _ = tcp.set_read_timeout(Some(left));
        let _ = tcp.set_write_timeout(Some(left));
        match conn.complete_io(&mut tcp) {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err("tls handshake timed out".into())
            }
            Err(e) => return Err(format!("tls handshake: {e}")),
        }
    }
    conn.send_close_notify();
    let _ = conn.write_tls(&mut tcp);
    let _ = tcp.flush();
    let leaf = recorder.leaf.lock().take();
    leaf.ok_or_else(|| "the server presented no certificate".into())
}

/// `notAfter` (Unix seconds) of the leaf `host:port` presents.
pub fn presented_leaf_not_after(host: &str, port: u16, timeout: Duration) -> Result<i64, String> {
    let der = presented_leaf(host, port, timeout)?;
    CertSummary::from_der(&der)
        .map(|summary| summary.not_after)
        .map_err(|e| e.to_string())
}

fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, String> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host} resolves to no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("connect timed out".into());
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// Accepts any certificate after keeping the leaf; the handshake signatures are still
/// checked against it, so the leaf is the one the server holds the key of.
#[derive(Debug)]
struct LeafRecorder {
    leaf: Mutex<Option<Vec<u8>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for LeafRecorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.leaf.lock() = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_and_bad_names_are_errors() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let err = presented_leaf("127.0.0.1", port, Duration::from_secs(2)).unwrap_err();
        assert!(err.starts_with("cannot connect to 127.0.0.1:"), "{err}");
        let err = presented_leaf("bad name!", 1, Duration::from_secs(2)).unwrap_err();
        assert_eq!(err, "\"bad name!\" is not a valid TLS server name");
    }

    /// A server that accepts and never answers cannot hold the probe past its timeout.
    #[test]
    fn a_silent_server_is_cut_at_the_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = Instant::now();
        let err = presented_leaf("127.0.0.1", port, Duration::from_millis(300)).unwrap_err();
        assert_eq!(err, "tls handshake timed out");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(listener);
    }
}
