//! HTTPS for the simulator, the way a NetBackup primary serves it: a certificate from the
//! primary's own CA, generated at start, plus the certificates administrators meet when
//! something is wrong (a lab CA used as the server's own certificate, an expired or
//! misnamed one, a server that refuses every TLS version the client offers), and the
//! unauthenticated `GET /security/cacert` that publishes the CA.
//!
//! [`SimTls`] says what to serve; `TlsMaterial` is what was generated from it; `SimStream`
//! is a connection, plain or TLS, for `http`'s time-sliced reads and writes. It knows
//! nothing of NetBackup's other endpoints.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{json, Map};
use sha2::{Digest, Sha256};

use crate::http::{Request, Response};
use crate::routes::{negotiate, JSON_MEDIA};
use crate::server::Shared;
use crate::time::now_millis;

const DAY: i64 = 86_400;
/// The subject of the generated CA.
pub const SIM_CA_NAME: &str = "nbu-sim NetBackup CA";

/// What the server's certificate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafKind {
    /// A leaf (CA:FALSE) signed by the generated CA: what a healthy primary presents.
    SignedByCa,
    /// One self-signed certificate with CA:TRUE serving as the server's own, as
    /// `openssl req -x509` makes by default.
    CaAsLeaf,
    /// No certificate at all: every ClientHello is answered with a `protocol_version` alert,
    /// as a primary restricted to TLS versions the client does not offer answers.
    RefuseEveryVersion,
}

/// How a simulated primary serves HTTPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimTls {
    pub leaf: LeafKind,
    /// The leaf's subjectAltNames (DNS names or IP addresses).
    pub names: Vec<String>,
    /// The leaf's `notBefore`, Unix seconds.
    pub not_before: i64,
    /// The leaf's `notAfter`, Unix seconds.
    pub not_after: i64,
}

impl SimTls {
    /// A CA-signed leaf for `localhost` and `127.0.0.1`, valid from a day ago for a year.
    pub fn ca_signed() -> SimTls {
        let now = now_millis().div_euclid(1000);
        SimTls {
            leaf: LeafKind::SignedByCa,
            names: vec!["localhost".into(), "127.0.0.1".into()],
            not_before: now - DAY,
            not_after: now + 365 * DAY,
        }
    }

    /// The lab-style certificate: a CA used as the server's own.
    pub fn ca_as_leaf() -> SimTls {
        SimTls {
            leaf: LeafKind::CaAsLeaf,
            ..SimTls::ca_signed()
        }
    }

    /// A server that completes no handshake: no TLS version in common.
    pub fn refusing_every_version() -> SimTls {
        SimTls {
            leaf: LeafKind::RefuseEveryVersion,
            ..SimTls::ca_signed()
        }
    }

    /// The same, with these subjectAltNames.
    pub fn with_names(mut self, names: &[&str]) -> SimTls {
        self.names = names.iter().map(|n| n.to_string()).collect();
        self
    }

    /// The same, valid from `not_before` to `not_after` (Unix seconds, not before 1970).
    pub fn with_validity(mut self, not_before: i64, not_after: i64) -> SimTls {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }
}

/// The certificates and server settings generated from a [`SimTls`].
pub(crate) struct TlsMaterial {
    /// `None` for `RefuseEveryVersion`.
    config: Option<Arc<ServerConfig>>,
    /// The CA `/security/cacert` publishes (for `CaAsLeaf`, the certificate itself).
    pub(crate) ca_pem: String,
    ca_der: Vec<u8>,
    pub(crate) leaf_pem: String,
    pub(crate) leaf_not_after: i64,
}

fn tls_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("simulator TLS setup: {e}"))
}

/// Sets a certificate's validity from Unix seconds (times before 1970 become 1970).
fn set_validity(params: &mut CertificateParams, not_before: i64, not_after: i64) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let since = |secs: i64| Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    params.not_before = epoch + since(not_before);
    params.not_after = epoch + since(not_after);
}

impl TlsMaterial {
    pub(crate) fn generate(spec: &SimTls) -> io::Result<TlsMaterial> {
        let ca_key = KeyPair::generate().map_err(tls_error)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
        ca_params.distinguished_name = DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "nbu-sim");
        ca_params.distinguished_name.push(DnType::CommonName, SIM_CA_NAME);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let now = now_millis().div_euclid(1000);
        set_validity(&mut ca_params, now - 30 * DAY, now + 3650 * DAY);

        let mut leaf_params = CertificateParams::new(spec.names.clone()).map_err(tls_error)?;
        leaf_params.distinguished_name = DistinguishedName::new();
        let cn = spec.names.first().cloned().unwrap_or_else(|| "nbu-sim".into());
        leaf_params.distinguished_name.push(DnType::CommonName, cn);
        set_validity(&mut leaf_params, spec.not_before, spec.not_after);

        let (ca_der, ca_pem, leaf_der, leaf_pem, leaf_key) = match spec.leaf {
            LeafKind::CaAsLeaf => {
                // One key, one self-signed CA:TRUE certificate with the server's names.
                leaf_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                let cert = leaf_params.self_signed(&ca_key).map_err(tls_error)?;
                (
                    cert.der().to_vec(),
                    cert.pem(),
                    cert.der().to_vec(),
                    cert.pem(),
                    ca_key,
                )
            }
            LeafKind::SignedByCa | LeafKind::RefuseEveryVersion => {
                let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_error)?;
                let issuer = Issuer::new(ca_params, ca_key);
                let leaf_key = KeyPair::generate().map_err(tls_error)?;
                let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(tls_error)?;
                (
                    ca_cert.der().to_vec(),
                    ca_cert.pem(),
                    leaf.der().to_vec(),
                    leaf.pem(),
                    leaf_key,
                )
            }
        };
        let config = if spec.leaf == LeafKind::RefuseEveryVersion {
            None
        } else {
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
            let config =
                ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(tls_error)?
                    .with_no_client_auth()
                    .with_single_cert(vec![CertificateDer::from(leaf_der)], key)
                    .map_err(tls_error)?;
            Some(Arc::new(config))
        };
        Ok(TlsMaterial {
            config,
            ca_pem,
            ca_der,
            leaf_pem,
            leaf_not_after: spec.not_after,
        })
    }
}

/// One accepted connection, plain or TLS.
pub(crate) enum SimStream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl SimStream {
    /// Wraps `tcp` as the server is configured to. `None` when the connection ends here: a
    /// refused handshake (the alert has been sent) or a TLS setup failure.
    pub(crate) fn accept(tcp: TcpStream, tls: Option<&TlsMaterial>) -> Option<SimStream> {
        let Some(tls) = tls else {
            return Some(SimStream::Plain(tcp));
        };
        let Some(config) = &tls.config else {
            refuse_version(tcp);
            return None;
        };
        let conn = ServerConnection::new(Arc::clone(config)).ok()?;
        Some(SimStream::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            SimStream::Plain(tcp) => tcp,
            SimStream::Tls(tls) => tls.get_ref(),
        }
    }

    /// Ends the sending side: TLS `close_notify` first, then the TCP half-close.
    pub(crate) fn shutdown_write(&mut self) {
        if let SimStream::Tls(tls) = self {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Write);
    }
}

impl Read for SimStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            SimStream::Plain(tcp) => tcp.read(buf),
            SimStream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for SimStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            SimStream::Plain(tcp) => tcp.write(buf),
            SimStream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            SimStream::Plain(tcp) => tcp.flush(),
            SimStream::Tls(tls) => tls.flush(),
        }
    }
}

/// Reads the ClientHello (bounded) and answers a fatal `protocol_version` alert.
fn refuse_version(mut tcp: TcpStream) {
    let until = Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 4096];
    // A TLS record header is 5 bytes: wait for at least that much of the ClientHello.
    let mut got = 0;
    while got < 5 && Instant::now() < until {
        match tcp.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
    // Record: alert (21), TLS 1.2 (3,3), length 2; alert: fatal (2), protocol_version (70).
    let _ = tcp.write_all(&[21, 3, 3, 0, 2, 2, 70]);
    let _ = tcp.shutdown(Shutdown::Both);
}

/// `GET /security/cacert`: no authentication, versioned like every JSON answer; 404 when
/// the simulator serves plain HTTP (it then has no CA).
pub(crate) fn cacert(shared: &Shared, req: &Request) -> Response {
    if req.method != "GET" {
        let mut response = Response::error(405, &format!("method {} is not allowed", req.method), Map::new());
        response.headers.push(("Allow", "GET".to_string()));
        return response;
    }
    let Some(tls) = shared.tls() else {
        return Response::error(
            404,
            "no CA certificate: this simulated primary serves plain HTTP",
            Map::new(),
        );
    };
    let (_, versions, _) = shared.answer_state();
    let Some(version) = negotiate(req.accept().as_deref(), JSON_MEDIA, &versions) else {
        return Response::error(
            406,
            "Invalid Accept type. Make sure your Accept header matches what this API produces.",
            Map::new(),
        );
    };
    let digest = Sha256::digest(&tls.ca_der);
    let fingerprint: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    let details = json!({
        "subjectCN": SIM_CA_NAME,
        "subjectName": format!("CN={SIM_CA_NAME},O=nbu-sim"),
        "sha-256Fingerprint": fingerprint.join(":"),
    });
    let body = json!({
        "trustVersion": "1",
        "webRootCertificateData": [{"caCertDetails": details, "caCert": tls.ca_pem}],
        "caCertificateData": [{"caCertAction": "ADD", "caCertDetails": details, "caCert": tls.ca_pem}],
    });
    Response::json(version, body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SimData;
    use crate::server::{SimOptions, SimServer};
    use crate::testing::KEY;

    fn start(tls: &SimTls) -> SimServer {
        SimServer::start_https(SimOptions::new(KEY, SimData::known(now_millis())), tls).expect("start")
    }

    /// A ureq agent that trusts `ca_pem` only.
    fn agent(ca_pem: &str) -> ureq::Agent {
        let certs: Vec<_> = ureq::tls::parse_pem(ca_pem.as_bytes())
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                _ => None,
            })
            .collect();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
            .build();
        ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .tls_config(tls)
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build(),
        )
    }

    fn get(agent: &ureq::Agent, url: &str, key: Option<&str>) -> Result<(u16, String), ureq::Error> {
        let mut request = agent
            .get(url)
            .header("Accept", "application/vnd.netbackup+json;version=13.0");
        if let Some(key) = key {
            request = request.header("Authorization", key);
        }
        let mut response = request.call()?;
        let status = response.status().as_u16();
        Ok((status, response.body_mut().read_to_string().unwrap_or_default()))
    }

    #[test]
    fn a_ca_signed_server_is_trusted_through_its_published_ca() {
        let server = start(&SimTls::ca_signed());
        let base = server.base_url();
        assert!(base.starts_with("https://127.0.0.1:"), "{base}");
        let ca = server.ca_pem().unwrap();
        let agent = agent(&ca);
        let (status, body) = get(&agent, &format!("{base}/admin/jobs?page%5Blimit%5D=1"), Some(KEY)).unwrap();
        assert_eq!(status, 200, "{body}");

        // The CA comes without a key, and is the one that signs the server.
        let (status, body) = get(&agent, &format!("{base}/security/cacert"), None).unwrap();
        assert_eq!(status, 200, "{body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["webRootCertificateData"][0]["caCert"], ca.as_str());
        assert_eq!(answer["caCertificateData"][0]["caCertAction"], "ADD");
        let der = ureq::tls::parse_pem(ca.as_bytes())
            .find_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.der().to_vec()),
                _ => None,
            })
            .unwrap();
        let want: Vec<String> = Sha256::digest(&der).iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(
            answer["webRootCertificateData"][0]["caCertDetails"]["sha-256Fingerprint"],
            want.join(":")
        );
        let (leaf, not_after) = server.leaf().unwrap();
        assert_ne!(leaf, ca);
        assert!(not_after > now_millis() / 1000);
    }

    #[test]
    fn the_trouble_certificates_are_refused_by_a_verifying_client() {
        let now = now_millis() / 1000;
        let cases = [
            (SimTls::ca_as_leaf(), "CaUsedAsEndEntity"),
            (
                SimTls::ca_signed().with_validity(now - 20 * DAY, now - DAY),
                "Expired",
            ),
            (
                SimTls::ca_signed().with_validity(now + DAY, now + 20 * DAY),
                "NotValidYet",
            ),
            (
                SimTls::ca_signed().with_names(&["nbu-elsewhere.example"]),
                "NotValidForName",
            ),
            (SimTls::refusing_every_version(), "ProtocolVersion"),
        ];
        for (tls, want) in cases {
            let server = start(&tls);
            let agent = agent(&server.ca_pem().unwrap());
            let err = get(&agent, &format!("{}/admin/jobs", server.base_url()), Some(KEY)).unwrap_err();
            let text = format!("{err:?}");
            assert!(text.contains(want), "{want}: {text}");
            // A failed handshake is not a request.
            assert_eq!(server.handle().request_count(), 0, "{want}");
        }
    }

    #[test]
    fn plain_http_has_no_ca_to_publish() {
        let server = crate::testing::start(SimData::default());
        let reply = crate::testing::get(&server, "/security/cacert");
        assert_eq!(reply.status, 404, "{}", reply.body);
        assert!(server.ca_pem().is_none() && server.leaf().is_none());
    }
}
