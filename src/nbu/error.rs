//! The errors of the NetBackup client: [`NbuError`] for a request, with the kinds a caller
//! branches on (authentication, refused API version), and [`SetupError`] for building a
//! client, with texts an operator can act on.
//!
//! Texts are lower case, name the endpoint and the URL without its query string, and never
//! hold the API key or the `Authorization` header. It must not know how errors are turned
//! into metrics or logs.

use std::fmt;
use std::time::Duration;

use super::tls::TlsFailure;
use crate::api_version::ApiVersion;

/// Everything that can go wrong talking to one NetBackup primary server.
///
/// `endpoint` is the request label (`jobs`, `storage-units`, `version-probe`); `url` is
/// `scheme://host:port/path` with no query string.
#[derive(Clone, Debug, PartialEq)]
pub enum NbuError {
    /// The sweep deadline passed before a request could be sent.
    Deadline { endpoint: &'static str },
    /// HTTP 401 or 403: never retried.
    Auth { endpoint: &'static str, status: u16 },
    /// HTTP 406 for the version sent in `Accept`: never retried.
    NotAcceptable {
        endpoint: &'static str,
        version: ApiVersion,
    },
    /// Version detection got 406 for every version it knows.
    NoSupportedVersion { tried: Vec<ApiVersion> },
    /// Any other non-2xx status, after retries when the status is retryable.
    Status {
        endpoint: &'static str,
        url: String,
        status: u16,
        /// `errorMessage` from a NetBackup error body, sanitised; absent when the body
        /// was not one.
        message: Option<String>,
        attempts: u32,
    },
    /// The request (including its body) did not finish within its timeout.
    Timeout {
        endpoint: &'static str,
        url: String,
        after: Duration,
        attempts: u32,
    },
    /// Connection refused, reset, DNS failure, TLS failure, protocol error.
    Transport {
        endpoint: &'static str,
        url: String,
        detail: String,
        attempts: u32,
    },
    /// The TLS handshake failed (an untrusted, expired or misnamed certificate, no common
    /// TLS version): never retried, since another attempt meets the same certificate.
    Tls {
        endpoint: &'static str,
        url: String,
        /// The site's base URL, for the `fetch-ca` advice.
        base_url: String,
        /// Boxed: it is the largest error and the rarest.
        failure: Box<TlsFailure>,
    },
    /// The response body exceeds `ClientOptions::max_response_bytes`: never retried.
    TooLarge {
        endpoint: &'static str,
        url: String,
        limit: u64,
    },
    /// A 2xx body that is not the JSON we expect (a proxy's HTML page, a bad shape).
    Decode {
        endpoint: &'static str,
        url: String,
        detail: String,
    },
    /// Pagination did not converge: a repeated cursor, an ignored offset, too many pages,
    /// or more records than a sweep may hold (`ClientOptions::max_jobs`,
    /// `ClientOptions::max_storage_units`).
    Pagination { endpoint: &'static str, detail: String },
}

impl NbuError {
    /// The server rejected the API key (401) or its permissions (403). Retrying or probing
    /// other versions cannot help.
    pub fn is_auth(&self) -> bool {
        matches!(self, NbuError::Auth { .. })
    }

    /// The server refused the API version sent (406), or refused every version detection
    /// tried. A caller holding a detected version should detect again.
    pub fn is_not_acceptable(&self) -> bool {
        matches!(
            self,
            NbuError::NotAcceptable { .. } | NbuError::NoSupportedVersion { .. }
        )
    }

    /// The TLS failure, when the handshake is what failed.
    pub fn tls_failure(&self) -> Option<&TlsFailure> {
        match self {
            NbuError::Tls { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// The request label the error belongs to, when it belongs to one.
    pub fn endpoint(&self) -> Option<&'static str> {
        match self {
            NbuError::NoSupportedVersion { .. } => Some("version-probe"),
            NbuError::Deadline { endpoint }
            | NbuError::Auth { endpoint, .. }
            | NbuError::NotAcceptable { endpoint, .. }
            | NbuError::Status { endpoint, .. }
            | NbuError::Timeout { endpoint, .. }
            | NbuError::Transport { endpoint, .. }
            | NbuError::Tls { endpoint, .. }
            | NbuError::TooLarge { endpoint, .. }
            | NbuError::Decode { endpoint, .. }
            | NbuError::Pagination { endpoint, .. } => Some(endpoint),
        }
    }
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl fmt::Display for NbuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NbuError::Deadline { endpoint } => {
                write!(
                    f,
                    "{endpoint}: sweep deadline reached before the request was sent"
                )
            }
            NbuError::Auth {
                endpoint,
                status: 403,
            } => write!(
                f,
                "{endpoint}: permission denied (HTTP 403): check the apiKey's role"
            ),
            NbuError::Auth { endpoint, status } => {
                write!(
                    f,
                    "{endpoint}: authentication failed (HTTP {status}): check apiKey"
                )
            }
            NbuError::NotAcceptable { endpoint, version } => write!(
                f,
                "{endpoint}: server does not accept API version {version} (HTTP 406)"
            ),
            NbuError::NoSupportedVersion { tried } => {
                let list: Vec<String> = tried.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "version-probe: server accepts none of the API versions {} (HTTP 406 to each)",
                    list.join(", ")
                )
            }
            NbuError::Status {
                endpoint,
                url,
                status,
                message,
                attempts,
            } => {
                write!(f, "{endpoint}: HTTP {status} from {url}")?;
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
                f.write_str(&attempts_suffix(*attempts))
            }
            NbuError::Timeout {
                endpoint,
                url,
                after,
                attempts,
            } => write!(
                f,
                "{endpoint}: request to {url} timed out after {}ms{}",
                after.as_millis(),
                attempts_suffix(*attempts)
            ),
            NbuError::Transport {
                endpoint,
                url,
                detail,
                attempts,
            } => write!(
                f,
                "{endpoint}: cannot reach {url}: {detail}{}",
                attempts_suffix(*attempts)
            ),
            NbuError::Tls {
                endpoint,
                url,
                base_url,
                failure,
            } => write!(
                f,
                "{endpoint}: TLS handshake with {url} failed: {} (rustls: {})",
                failure.problem.advice(base_url),
                failure.detail
            ),
            NbuError::TooLarge { endpoint, url, limit } => write!(
                f,
                "{endpoint}: response from {url} is larger than the {limit}-byte limit"
            ),
            NbuError::Decode {
                endpoint,
                url,
                detail,
            } => {
                write!(f, "{endpoint}: cannot decode the response from {url}: {detail}")
            }
            NbuError::Pagination { endpoint, detail } => {
                write!(f, "{endpoint}: pagination stopped: {detail}")
            }
        }
    }
}

impl std::error::Error for NbuError {}

/// Why `Client::new` could not build a client for a site: the config passed validation but
/// the HTTP stack cannot use it. Never holds the API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// `scheme://host:port/uri` does not parse as an absolute URL.
    BaseUrl { site: String, url: String },
    /// The API key holds bytes an HTTP header cannot carry (a newline, a control character).
    ApiKeyNotHeaderSafe { site: String },
    /// The `caFile` bundle cannot be used as trust roots.
    CaFile { site: String, problem: CaFileProblem },
}

impl SetupError {
    /// The site the client was for.
    pub fn site(&self) -> &str {
        match self {
            SetupError::BaseUrl { site, .. }
            | SetupError::ApiKeyNotHeaderSafe { site }
            | SetupError::CaFile { site, .. } => site,
        }
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "site {}: ", self.site())?;
        match self {
            SetupError::BaseUrl { url, .. } => write!(f, "invalid NetBackup base URL {url:?}"),
            SetupError::ApiKeyNotHeaderSafe { .. } => {
                f.write_str("apiKey holds characters that cannot be sent in an HTTP header")
            }
            SetupError::CaFile { problem, .. } => write!(f, "{problem}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// What is wrong with a `caFile` PEM bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaFileProblem {
    /// Not one `CERTIFICATE` section.
    NoCertificate,
    /// A PEM section is malformed.
    MalformedPem,
    /// Certificate number `index` (from 1) is not DER-encoded X.509.
    NotDer { index: usize },
}

impl fmt::Display for CaFileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaFileProblem::NoCertificate => f.write_str("caFile holds no PEM certificate"),
            CaFileProblem::MalformedPem => f.write_str("caFile is not valid PEM (a section is malformed)"),
            CaFileProblem::NotDer { index } => write!(f, "caFile: certificate {index} is not DER/X.509"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_texts() {
        let url = "https://nbu1:1556/netbackup/admin/jobs".to_string();
        let cases: Vec<(NbuError, &str)> = vec![
            (
                NbuError::Auth { endpoint: "jobs", status: 401 },
                "jobs: authentication failed (HTTP 401): check apiKey",
            ),
            (
                NbuError::Auth { endpoint: "storage-units", status: 403 },
                "storage-units: permission denied (HTTP 403): check the apiKey's role",
            ),
            (
                NbuError::NotAcceptable { endpoint: "jobs", version: ApiVersion::V14_0 },
                "jobs: server does not accept API version 14.0 (HTTP 406)",
            ),
            (
                NbuError::NoSupportedVersion { tried: ApiVersion::DETECTION_ORDER.to_vec() },
                "version-probe: server accepts none of the API versions 14.0, 13.0, 12.0, 10.0 (HTTP 406 to each)",
            ),
            (
                NbuError::Status {
                    endpoint: "jobs",
                    url: url.clone(),
                    status: 503,
                    message: Some("service unavailable".into()),
                    attempts: 3,
                },
                "jobs: HTTP 503 from https://nbu1:1556/netbackup/admin/jobs: service unavailable (after 3 attempts)",
            ),
            (
                NbuError::Status { endpoint: "jobs", url: url.clone(), status: 404, message: None, attempts: 1 },
                "jobs: HTTP 404 from https://nbu1:1556/netbackup/admin/jobs",
            ),
            (
                NbuError::Timeout {
                    endpoint: "jobs",
                    url: url.clone(),
                    after: Duration::from_millis(300),
                    attempts: 1,
                },
                "jobs: request to https://nbu1:1556/netbackup/admin/jobs timed out after 300ms",
            ),
            (
                NbuError::Transport {
                    endpoint: "jobs",
                    url: url.clone(),
                    detail: "connection refused".into(),
                    attempts: 2,
                },
                "jobs: cannot reach https://nbu1:1556/netbackup/admin/jobs: connection refused (after 2 attempts)",
            ),
            (
                NbuError::TooLarge { endpoint: "jobs", url: url.clone(), limit: 1024 },
                "jobs: response from https://nbu1:1556/netbackup/admin/jobs is larger than the 1024-byte limit",
            ),
            (
                NbuError::Decode { endpoint: "jobs", url, detail: "expected JSON".into() },
                "jobs: cannot decode the response from https://nbu1:1556/netbackup/admin/jobs: expected JSON",
            ),
            (
                NbuError::Pagination { endpoint: "jobs", detail: "cursor \"7\" repeated".into() },
                "jobs: pagination stopped: cursor \"7\" repeated",
            ),
            (NbuError::Deadline { endpoint: "jobs" }, "jobs: sweep deadline reached before the request was sent"),
            (
                NbuError::Tls {
                    endpoint: "version-probe",
                    url: "https://nbu1:1556/netbackup/admin/jobs".into(),
                    base_url: "https://nbu1:1556/netbackup".into(),
                    failure: Box::new(TlsFailure {
                        problem: crate::nbu::tls::TlsProblem::NotTls,
                        detail: "received corrupt message of type InvalidContentType".into(),
                    }),
                },
                "version-probe: TLS handshake with https://nbu1:1556/netbackup/admin/jobs failed: the server \
                 did not answer in TLS: check the scheme (http or https) and the port (rustls: received \
                 corrupt message of type InvalidContentType)",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn setup_texts() {
        let site = || "paris".to_string();
        let cases = [
            (
                SetupError::BaseUrl {
                    site: site(),
                    url: "http://bad host:1556/netbackup".into(),
                },
                "site paris: invalid NetBackup base URL \"http://bad host:1556/netbackup\"",
            ),
            (
                SetupError::ApiKeyNotHeaderSafe { site: site() },
                "site paris: apiKey holds characters that cannot be sent in an HTTP header",
            ),
            (
                SetupError::CaFile {
                    site: site(),
                    problem: CaFileProblem::NoCertificate,
                },
                "site paris: caFile holds no PEM certificate",
            ),
            (
                SetupError::CaFile {
                    site: site(),
                    problem: CaFileProblem::MalformedPem,
                },
                "site paris: caFile is not valid PEM (a section is malformed)",
            ),
            (
                SetupError::CaFile {
                    site: site(),
                    problem: CaFileProblem::NotDer { index: 2 },
                },
                "site paris: caFile: certificate 2 is not DER/X.509",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.site(), "paris");
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn kinds() {
        assert!(NbuError::Auth {
            endpoint: "jobs",
            status: 401
        }
        .is_auth());
        assert!(!NbuError::Auth {
            endpoint: "jobs",
            status: 401
        }
        .is_not_acceptable());
        assert!(NbuError::NotAcceptable {
            endpoint: "jobs",
            version: ApiVersion::V10_0
        }
        .is_not_acceptable());
        assert!(NbuError::NoSupportedVersion { tried: vec![] }.is_not_acceptable());
        assert!(!NbuError::Deadline { endpoint: "jobs" }.is_auth());
        assert_eq!(NbuError::Deadline { endpoint: "jobs" }.endpoint(), Some("jobs"));
    }
}
