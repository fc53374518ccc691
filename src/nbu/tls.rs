//! What a failed TLS handshake with a NetBackup primary means, in words a person can act
//! on: [`TlsProblem`] classifies the rustls error that `ureq` carries inside its I/O error
//! (unknown issuer, CA used as end entity, name mismatch, expired, not yet valid, no common
//! TLS version, not TLS at all) and [`TlsProblem::advice`] says what to do about it.
//!
//! Certificate problems are final for a sweep: retrying cannot change the certificate, so
//! the client sends one attempt and reports. It owns no connection and must not know the
//! config file or metrics; the rustls text is kept to follow the advice, never to lead it.

use rustls::{AlertDescription, CertificateError, PeerIncompatible};

use super::x509::utc_text;

/// Why the TLS handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsProblem {
    /// The chain does not lead to a CA in the trust roots (caFile, or the system's).
    UnknownIssuer,
    /// The server presents a CA certificate (basicConstraints CA:TRUE) as its own.
    CaUsedAsEndEntity,
    /// The certificate is not valid for the host name the exporter connected to.
    NameMismatch {
        expected: String,
        /// The DNS names and IP addresses in the certificate's subjectAltName.
        presented: Vec<String>,
    },
    /// Past `notAfter` (Unix seconds).
    Expired { now: i64, not_after: i64 },
    /// Before `notBefore` (Unix seconds).
    NotYetValid { now: i64, not_before: i64 },
    /// No TLS version (or cipher suite) in common: an old primary, or one restricted to
    /// versions the exporter does not speak.
    NoCommonVersion,
    /// The server answered something that is not TLS (a plain HTTP port, most likely).
    NotTls,
    /// Anything else rustls refused (bad signature, unsupported algorithm, …).
    Other,
}

/// A classified TLS failure: the problem, and rustls' own words for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFailure {
    pub problem: TlsProblem,
    /// rustls' text, shown after the advice.
    pub detail: String,
}

impl TlsFailure {
    /// The rustls error inside an I/O error, as `ureq` reports a failed handshake; `None`
    /// when the I/O error is not a TLS one.
    pub fn from_io(err: &std::io::Error) -> Option<TlsFailure> {
        let inner = err.get_ref()?;
        inner.downcast_ref::<rustls::Error>().map(TlsFailure::from_rustls)
    }

    pub fn from_rustls(err: &rustls::Error) -> TlsFailure {
        TlsFailure {
            problem: TlsProblem::of(err),
            detail: err.to_string(),
        }
    }
}

impl TlsProblem {
    pub fn of(err: &rustls::Error) -> TlsProblem {
        use rustls::Error as E;
        match err {
            E::InvalidCertificate(cert) => certificate_problem(cert),
            E::AlertReceived(AlertDescription::ProtocolVersion | AlertDescription::HandshakeFailure)
            | E::PeerIncompatible(
                PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | PeerIncompatible::NoCipherSuitesInCommon
                | PeerIncompatible::Tls12NotOffered
                | PeerIncompatible::Tls12NotOfferedOrEnabled,
            ) => TlsProblem::NoCommonVersion,
            E::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType | rustls::InvalidMessage::UnknownProtocolVersion,
            ) => TlsProblem::NotTls,
            _ => TlsProblem::Other,
        }
    }

    /// The `code` label and error kind name: every certificate problem counts as
    /// `tls_certificate`, the others as `tls`.
    pub fn kind(&self) -> &'static str {
        match self {
            TlsProblem::NoCommonVersion | TlsProblem::NotTls | TlsProblem::Other => "tls",
            _ => "tls_certificate",
        }
    }

    /// What is wrong and what to do, for the server at `base_url`. Lower case, no period.
    pub fn advice(&self, base_url: &str) -> String {
        match self {
            TlsProblem::UnknownIssuer => format!(
                "the server's certificate is not signed by a CA you trust: run \
                 `nbu-exporter fetch-ca {base_url}`, compare the fingerprint with \
                 `nbcertcmd -listCACertDetails` on the primary, then save it with --out and set caFile"
            ),
            TlsProblem::CaUsedAsEndEntity => {
                "the server presents a CA certificate (basicConstraints CA:TRUE) as its \
                 own, as `openssl req -x509` makes by default; no caFile can make that acceptable: give the \
                 server a certificate signed by a CA and put that CA in caFile"
                    .to_string()
            }
            TlsProblem::NameMismatch { expected, presented } => {
                if presented.is_empty() {
                    format!(
                        "the server's certificate is not valid for {expected}: it names no host in its \
                         subjectAltName (a common name alone does not count); reissue it with {expected} \
                         as a subjectAltName"
                    )
                } else {
                    format!(
                        "the server's certificate is not valid for {expected}: it is valid for {}; set host \
                         to one of those names or reissue the certificate with {expected}",
                        presented.join(", ")
                    )
                }
            }
            TlsProblem::Expired { now, not_after } => format!(
                "the server's certificate expired on {} (now {}): renew it on the primary",
                utc_text(*not_after),
                utc_text(*now)
            ),
            TlsProblem::NotYetValid { now, not_before } => format!(
                "the server's certificate is not valid before {} (now {}): check the clocks of this \
                 host and the primary",
                utc_text(*not_before),
                utc_text(*now)
            ),
            TlsProblem::NoCommonVersion => "the server and the exporter have no TLS version in common: the \
                 exporter speaks TLS 1.2 and 1.3 only; enable TLS 1.2 or later on the primary"
                .to_string(),
            TlsProblem::NotTls => "the server did not answer in TLS: check the scheme (http or https) and \
                 the port"
                .to_string(),
            TlsProblem::Other => "the TLS handshake failed".to_string(),
        }
    }
}

fn certificate_problem(err: &CertificateError) -> TlsProblem {
    match err {
        CertificateError::UnknownIssuer => TlsProblem::UnknownIssuer,
        CertificateError::NotValidForNameContext { expected, presented } => TlsProblem::NameMismatch {
            expected: server_name_text(expected),
            presented: presented.iter().map(|name| presented_name(name)).collect(),
        },
        CertificateError::NotValidForName => TlsProblem::NameMismatch {
            expected: "the configured host".into(),
            presented: Vec::new(),
        },
        CertificateError::ExpiredContext { time, not_after } => TlsProblem::Expired {
            now: unix(time),
            not_after: unix(not_after),
        },
        CertificateError::NotValidYetContext { time, not_before } => TlsProblem::NotYetValid {
            now: unix(time),
            not_before: unix(not_before),
        },
        CertificateError::Other(other) => {
            let is_ca_as_leaf = other
                .0
                .downcast_ref::<webpki::Error>()
                .is_some_and(|e| matches!(e, webpki::Error::CaUsedAsEndEntity));
            if is_ca_as_leaf {
                TlsProblem::CaUsedAsEndEntity
            } else {
                TlsProblem::Other
            }
        }
        _ => TlsProblem::Other,
    }
}

/// webpki shows a subjectAltName in its `Debug` form (`DnsName("a.example")`,
/// `IpAddress(10.0.0.1)`); a person wants the name itself.
fn presented_name(debug: &str) -> String {
    let bare = debug
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            debug
                .strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(debug);
    clean(bare)
}

fn unix(time: &rustls::pki_types::UnixTime) -> i64 {
    i64::try_from(time.as_secs()).unwrap_or(i64::MAX)
}

fn server_name_text(name: &rustls::pki_types::ServerName<'_>) -> String {
    use rustls::pki_types::ServerName;
    match name {
        ServerName::DnsName(dns) => clean(dns.as_ref()),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "the configured host".into(),
    }
}

/// Certificate text is the server's: no control characters reach a log line or terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::{ServerName, UnixTime};

    use super::*;

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
    }

    /// Every kind of rustls error, wrapped in an I/O error as `ureq` delivers it, gives its
    /// own problem and its own advice.
    #[test]
    fn each_failure_has_its_own_advice() {
        let base = "https://nbu1:1556/netbackup";
        let cert = |e: CertificateError| rustls::Error::InvalidCertificate(e);
        let cases: Vec<(rustls::Error, TlsProblem, &str)> = vec![
            (
                cert(CertificateError::UnknownIssuer),
                TlsProblem::UnknownIssuer,
                "the server's certificate is not signed by a CA you trust: run `nbu-exporter fetch-ca \
                 https://nbu1:1556/netbackup`, compare the fingerprint with `nbcertcmd -listCACertDetails` \
                 on the primary, then save it with --out and set caFile",
            ),
            (
                cert(CertificateError::Other(rustls::OtherError(Arc::new(
                    webpki::Error::CaUsedAsEndEntity,
                )))),
                TlsProblem::CaUsedAsEndEntity,
                "the server presents a CA certificate (basicConstraints CA:TRUE) as its own, as `openssl \
                 req -x509` makes by default; no caFile can make that acceptable: give the server a \
                 certificate signed by a CA and put that CA in caFile",
            ),
            (
                cert(CertificateError::NotValidForNameContext {
                    expected: ServerName::try_from("nbu1").unwrap().to_owned(),
                    presented: vec!["DnsName(\"other\")".into(), "IpAddress(10.0.0.1)".into()],
                }),
                TlsProblem::NameMismatch {
                    expected: "nbu1".into(),
                    presented: vec!["other".into(), "10.0.0.1".into()],
                },
                "the server's certificate is not valid for nbu1: it is valid for other, 10.0.0.1; set \
                 host to one of those names or reissue the certificate with nbu1",
            ),
            (
                cert(CertificateError::NotValidForNameContext {
                    expected: ServerName::try_from("127.0.0.1").unwrap().to_owned(),
                    presented: vec![],
                }),
                TlsProblem::NameMismatch {
                    expected: "127.0.0.1".into(),
                    presented: vec![],
                },
                "the server's certificate is not valid for 127.0.0.1: it names no host in its \
                 subjectAltName (a common name alone does not count); reissue it with 127.0.0.1 as a \
                 subjectAltName",
            ),
            (
                cert(CertificateError::ExpiredContext {
                    time: at(1_767_225_600),
                    not_after: at(1_735_689_600),
                }),
                TlsProblem::Expired {
                    now: 1_767_225_600,
                    not_after: 1_735_689_600,
                },
                "the server's certificate expired on 2025-01-01 00:00:00 UTC (now 2026-01-01 00:00:00 \
                 UTC): renew it on the primary",
            ),
            (
                cert(CertificateError::NotValidYetContext {
                    time: at(1_735_689_600),
                    not_before: at(1_767_225_600),
                }),
                TlsProblem::NotYetValid {
                    now: 1_735_689_600,
                    not_before: 1_767_225_600,
                },
                "the server's certificate is not valid before 2026-01-01 00:00:00 UTC (now 2025-01-01 \
                 00:00:00 UTC): check the clocks of this host and the primary",
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::ProtocolVersion),
                TlsProblem::NoCommonVersion,
                "the server and the exporter have no TLS version in common: the exporter speaks TLS 1.2 \
                 and 1.3 only; enable TLS 1.2 or later on the primary",
            ),
            (
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                TlsProblem::NotTls,
                "the server did not answer in TLS: check the scheme (http or https) and the port",
            ),
            (
                cert(CertificateError::BadSignature),
                TlsProblem::Other,
                "the TLS handshake failed",
            ),
        ];
        for (err, problem, advice) in cases {
            let detail = err.to_string();
            let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err);
            let failure = TlsFailure::from_io(&io).expect("a rustls error inside");
            assert_eq!(failure.problem, problem, "{detail}");
            assert_eq!(failure.problem.advice(base), advice);
            assert_eq!(failure.detail, detail);
        }
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(TlsFailure::from_io(&plain), None);
    }

    #[test]
    fn kinds_and_clean_text() {
        assert_eq!(TlsProblem::UnknownIssuer.kind(), "tls_certificate");
        assert_eq!(
            TlsProblem::Expired { now: 0, not_after: 0 }.kind(),
            "tls_certificate"
        );
        assert_eq!(TlsProblem::NoCommonVersion.kind(), "tls");
        assert_eq!(TlsProblem::NotTls.kind(), "tls");
        assert_eq!(clean("a\x1b[2Jb"), "a?[2Jb");
        assert_eq!(presented_name("DnsName(\"*.example\")"), "*.example");
        assert_eq!(presented_name("IpAddress(::1)"), "::1");
        assert_eq!(
            presented_name("UniformResourceIdentifier(\"u\")"),
            "UniformResourceIdentifier(\"u\")"
        );
    }
}
