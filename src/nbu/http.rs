//! HTTP plumbing for the NetBackup client, as plain functions: query-string encoding, the
//! retry policy (which failures retry, how long to wait), `Retry-After`, the loose
//! Content-Type check, safe body previews, the TLS settings and the mapping of `ureq`
//! errors to short texts.
//!
//! It owns no connection and no loop; `nbu::client` drives requests with it. It must not
//! know NetBackup resources, pagination or the config file format.

use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::error::CaFileProblem;
use super::tls::TlsFailure;

/// Bytes kept of a body shown in an error.
pub(crate) const PREVIEW_CHARS: usize = 200;

/// Percent-encodes a query component: everything but RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) is encoded, so a space is `%20`, `'` is `%27`, `:` is `%3A`,
/// `[` is `%5B`, `+` is `%2B`. Any server decodes this back to the original text.
pub(crate) fn encode_component(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() + 8);
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// `base` + `path` + `?k=v&…`, names and values percent-encoded.
pub(crate) fn build_url(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = String::with_capacity(base.len() + path.len() + 64);
    url.push_str(base);
    url.push_str(path);
    for (i, (name, value)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&encode_component(name));
        url.push('=');
        url.push_str(&encode_component(value));
    }
    url
}

/// What one failed attempt means for the retry loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Give up at once (401, 403, 404, 406, any other 4xx, TLS problems, body too large).
    Never,
    /// Retry after the exponential backoff.
    Backoff,
    /// Retry after this long (from `Retry-After`, already capped by `max_backoff`).
    After(Duration),
}

/// The retry decision for an HTTP status: 429 and 5xx retry, every other status does not.
/// `retry_after` is the raw `Retry-After` header, honoured on 429 and 503 only.
pub(crate) fn retry_for_status(status: u16, retry_after: Option<&str>, max_backoff: Duration) -> Retry {
    let retryable = status == 429 || (500..=599).contains(&status);
    if !retryable {
        return Retry::Never;
    }
    if status == 429 || status == 503 {
        if let Some(seconds) = retry_after.and_then(parse_retry_after) {
            return Retry::After(seconds.min(max_backoff));
        }
    }
    Retry::Backoff
}

/// `Retry-After` in its delay-seconds form. The HTTP-date form is ignored (the caller then
/// uses its own backoff).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// Exponential backoff before attempt `attempt + 1` (`attempt` starts at 1):
/// `base * 2^(attempt-1)`, capped at `cap`.
pub(crate) fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let shift = attempt.saturating_sub(1).min(20);
    base.saturating_mul(1u32 << shift).min(cap)
}

/// Loose Content-Type check: absent, or anything mentioning `json` (which covers
/// `application/json` and `application/vnd.netbackup+json; version=…`), is accepted.
pub(crate) fn is_json_content_type(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(ct) => {
            let ct = ct.trim();
            ct.is_empty() || ct.to_ascii_lowercase().contains("json")
        }
    }
}

/// At most `PREVIEW_CHARS` characters of `body` for an error text: invalid UTF-8 replaced,
/// control characters and runs of whitespace folded to one space, and `secret` (when
/// non-empty) replaced by `<redacted>` in case a server echoes it back.
pub(crate) fn preview(body: &[u8], secret: &str) -> String {
    // Look at a little more than we keep, so a multi-byte tail is not split badly.
    let head = &body[..body.len().min(PREVIEW_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let text = if secret.is_empty() {
        text.into_owned()
    } else {
        text.replace(secret, "<redacted>")
    };
    let mut out = String::with_capacity(PREVIEW_CHARS);
    let mut count = 0;
    let mut last_space = true;
    for c in text.chars() {
        if count == PREVIEW_CHARS {
            break;
        }
        let c = if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
        count += 1;
    }
    out.trim_end().to_string()
}

/// The `errorMessage` of a NetBackup error body, sanitised, if the body is one. Never fails.
pub(crate) fn error_message(body: &[u8], secret: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(rename = "errorMessage", default)]
        error_message: Option<serde_json::Value>,
    }
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let message = match parsed.error_message? {
        serde_json::Value::String(s) => s,
        _ => return None,
    };
    let message = preview(message.as_bytes(), secret);
    let message = message.trim_end_matches('.').to_string();
    (!message.is_empty()).then_some(message)
}

/// TLS settings for one site: verification on with Mozilla's roots by default; only the
/// certificates of `ca_pem` when given; no verification at all when `insecure`.
pub(crate) fn tls_config(ca_pem: Option<&[u8]>, insecure: bool) -> Result<TlsConfig, CaFileProblem> {
    let mut builder = TlsConfig::builder();
    if let Some(pem) = ca_pem {
        builder = builder.root_certs(RootCerts::new_with_certs(&parse_ca_pem(pem)?));
    }
    if insecure {
        builder = builder.disable_verification(true);
    }
    Ok(builder.build())
}

/// The certificates of a PEM bundle; an error when it holds none or a broken one.
pub(crate) fn parse_ca_pem(pem: &[u8]) -> Result<Vec<Certificate<'static>>, CaFileProblem> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => {
                // A DER certificate is an ASN.1 SEQUENCE; anything else is not one.
                if cert.der().first() != Some(&0x30) {
                    return Err(CaFileProblem::NotDer {
                        index: certs.len() + 1,
                    });
                }
                certs.push(cert);
            }
            Ok(_) => {} // keys and other sections are skipped
            Err(_) => return Err(CaFileProblem::MalformedPem),
        }
    }
    if certs.is_empty() {
        return Err(CaFileProblem::NoCertificate);
    }
    Ok(certs)
}

/// How a `ureq` error counts: the label for the request observer, a short text, and
/// whether it is worth another attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    Timeout,
    TooLarge,
    /// A failed TLS handshake: never retried.
    Tls(TlsFailure),
    Transport {
        detail: String,
        retry: bool,
    },
}

pub(crate) fn classify(err: &ureq::Error) -> Failure {
    use std::io::ErrorKind;
    match err {
        ureq::Error::Timeout(_) => Failure::Timeout,
        ureq::Error::BodyExceedsLimit(_) => Failure::TooLarge,
        ureq::Error::Io(e) => {
            if let Some(failure) = TlsFailure::from_io(e) {
                return Failure::Tls(failure);
            }
            let detail = match e.kind() {
                ErrorKind::TimedOut => return Failure::Timeout,
                ErrorKind::ConnectionRefused => "connection refused".to_string(),
                ErrorKind::ConnectionReset => "connection reset".to_string(),
                ErrorKind::ConnectionAborted => "connection aborted".to_string(),
                ErrorKind::UnexpectedEof => "connection closed by the server".to_string(),
                ErrorKind::BrokenPipe => "broken pipe".to_string(),
                _ => format!("i/o error: {e}"),
            };
            Failure::Transport { detail, retry: true }
        }
        ureq::Error::HostNotFound => Failure::Transport {
            detail: "host not found".into(),
            retry: true,
        },
        ureq::Error::ConnectionFailed => Failure::Transport {
            detail: "connection failed".into(),
            retry: true,
        },
        ureq::Error::Protocol(e) => Failure::Transport {
            detail: format!("protocol error: {e}"),
            retry: true,
        },
        ureq::Error::Tls(e) => Failure::Transport {
            detail: format!("tls: {e}"),
            retry: false,
        },
        ureq::Error::Rustls(e) => Failure::Tls(TlsFailure::from_rustls(e)),
        ureq::Error::Pem(e) => Failure::Transport {
            detail: format!("tls: {e:?}"),
            retry: false,
        },
        ureq::Error::BadUri(_) => Failure::Transport {
            detail: "invalid URL".into(),
            retry: false,
        },
        ureq::Error::Http(_) => Failure::Transport {
            detail: "invalid request header value".into(),
            retry: false,
        },
        ureq::Error::LargeResponseHeader(..) => Failure::Transport {
            detail: "response headers too large".into(),
            retry: false,
        },
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => Failure::Transport {
            detail: "unexpected redirect".into(),
            retry: false,
        },
        other => Failure::Transport {
            detail: other.to_string(),
            retry: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nbu::stub::{percent_decode, TEST_CA_PEM};

    #[test]
    fn query_values_round_trip_through_a_plain_decoder() {
        let cases: &[(&str, &str)] = &[
            (
                "endTime ge 2025-01-01T10:00:00.000Z",
                "endTime%20ge%202025-01-01T10%3A00%3A00.000Z",
            ),
            ("state ne 'DONE'", "state%20ne%20%27DONE%27"),
            ("page[limit]", "page%5Blimit%5D"),
            ("a+b&c=d#e/f?g", "a%2Bb%26c%3Dd%23e%2Ff%3Fg"),
            ("jobId", "jobId"),
            ("é", "%C3%A9"),
        ];
        for (raw, encoded) in cases {
            assert_eq!(encode_component(raw), *encoded, "{raw}");
            assert_eq!(percent_decode(encoded).as_deref(), Some(*raw));
        }
        assert_eq!(
            build_url(
                "http://h:1/nb",
                "/admin/jobs",
                &[("page[limit]", "1"), ("sort", "jobId")]
            ),
            "http://h:1/nb/admin/jobs?page%5Blimit%5D=1&sort=jobId"
        );
        assert_eq!(build_url("http://h:1/nb", "/x", &[]), "http://h:1/nb/x");
        let url = build_url("http://h:1/nb", "/x", &[("filter", "state ne 'DONE'")]);
        assert!(url.parse::<ureq::http::Uri>().is_ok(), "{url}");
    }

    #[test]
    fn retry_policy_by_status() {
        let cap = Duration::from_secs(5);
        let cases: &[(u16, Option<&str>, Retry)] = &[
            (400, None, Retry::Never),
            (401, None, Retry::Never),
            (403, None, Retry::Never),
            (404, None, Retry::Never),
            (406, None, Retry::Never),
            (401, Some("1"), Retry::Never),
            (429, None, Retry::Backoff),
            (429, Some("2"), Retry::After(Duration::from_secs(2))),
            (429, Some("3600"), Retry::After(cap)),
            (503, Some(" 1 "), Retry::After(Duration::from_secs(1))),
            (503, Some("Wed, 21 Oct 2015 07:28:00 GMT"), Retry::Backoff),
            (500, Some("1"), Retry::Backoff),
            (502, None, Retry::Backoff),
            (599, None, Retry::Backoff),
        ];
        for (status, header, want) in cases {
            assert_eq!(
                retry_for_status(*status, *header, cap),
                *want,
                "{status} {header:?}"
            );
        }
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("99999999999999"), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_millis(250);
        let cap = Duration::from_secs(5);
        let got: Vec<u128> = (1..=8).map(|a| backoff(a, base, cap).as_millis()).collect();
        assert_eq!(got, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(backoff(u32::MAX, base, cap), cap);
        assert_eq!(backoff(0, base, cap), base);
    }

    #[test]
    fn content_types() {
        for ok in [
            None,
            Some("application/json"),
            Some("application/vnd.netbackup+json;version=13.0"),
            Some("application/vnd.netbackup+json; version=1.0; charset=UTF-8"),
            Some("APPLICATION/JSON"),
            Some(""),
        ] {
            assert!(is_json_content_type(ok), "{ok:?}");
        }
        for bad in [Some("text/html"), Some("text/plain; charset=utf-8")] {
            assert!(!is_json_content_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn previews_are_short_clean_and_secret_free() {
        let html = b"<html>\r\n  <head><title>502 Bad Gateway</title></head>\n\t<body>KEY-123</body></html>";
        assert_eq!(
            preview(html, "KEY-123"),
            "<html> <head><title>502 Bad Gateway</title></head> <body><redacted></body></html>"
        );
        let long = "x".repeat(10_000);
        assert_eq!(preview(long.as_bytes(), "").chars().count(), PREVIEW_CHARS);
        assert_eq!(preview(&[0xff, 0xfe, b'a'], ""), "\u{fffd}\u{fffd}a");
        assert_eq!(
            preview("é".repeat(500).as_bytes(), "").chars().count(),
            PREVIEW_CHARS
        );
    }

    #[test]
    fn error_messages_are_optional() {
        let body = br#"{"errorCode": 8961, "errorMessage": "An invalid API request is encountered.", "errorDetails": []}"#;
        assert_eq!(
            error_message(body, ""),
            Some("An invalid API request is encountered".into())
        );
        assert_eq!(error_message(b"<html>proxy</html>", ""), None);
        assert_eq!(error_message(b"", ""), None);
        assert_eq!(error_message(br#"{"errorCode": 1}"#, ""), None);
        assert_eq!(error_message(br#"{"errorMessage": 5}"#, ""), None);
        assert_eq!(
            error_message(br#"{"errorMessage": "bad key K1"}"#, "K1"),
            Some("bad key <redacted>".into())
        );
    }

    #[test]
    fn ca_pem_checks() {
        assert_eq!(parse_ca_pem(TEST_CA_PEM.as_bytes()).map(|c| c.len()), Ok(1));
        let two = format!("junk before\n{TEST_CA_PEM}{TEST_CA_PEM}");
        assert_eq!(parse_ca_pem(two.as_bytes()).map(|c| c.len()), Ok(2));
        assert_eq!(
            parse_ca_pem(b"not a pem").err(),
            Some(CaFileProblem::NoCertificate)
        );
        assert_eq!(parse_ca_pem(b"").err(), Some(CaFileProblem::NoCertificate));
        assert_eq!(
            parse_ca_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n").err(),
            Some(CaFileProblem::MalformedPem)
        );
        let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            parse_ca_pem(format!("{TEST_CA_PEM}{not_der}").as_bytes()).err(),
            Some(CaFileProblem::NotDer { index: 2 })
        );
        assert!(tls_config(Some(TEST_CA_PEM.as_bytes()), false).is_ok());
        assert!(tls_config(None, true).unwrap().disable_verification());
        assert!(!tls_config(None, false).unwrap().disable_verification());
    }
}
