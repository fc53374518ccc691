//! `nbu-exporter fetch-ca URL [--out FILE]`: shows the CA certificates a NetBackup primary
//! publishes (`GET /security/cacert`) with subject, validity and SHA-256 fingerprint, so a
//! person can compare them with `nbcertcmd -listCACertDetails` on the primary, and writes
//! them as a PEM bundle for `caFile` only when `--out` asks for it.
//!
//! It says on screen that this one request is made without verifying the server, and it
//! never trusts anything itself: trust is the file a person chose to write and point
//! `caFile` at. It owns the URL shorthand, the report text and the file write; the request
//! and the decoding are `nbu::cacert`'s. It must not know the daemon or the config file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::nbu::cacert::{fetch_ca_bundle, CaBundle, CaSource};
use crate::nbu::x509::{utc_text, CertSummary};
use crate::timefmt::now_millis;

/// The NetBackup web service port, used when the URL names none.
const DEFAULT_PORT: u16 = 1556;

/// Runs the command: 0 when the certificates were shown (and written, with `--out`), 1 on
/// any failure, with the reason on standard error.
pub fn run(url: &str, out: Option<&Path>, timeout: Duration) -> ExitCode {
    let base = match base_url(url) {
        Ok(base) => base,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "note: fetching {base}/security/cacert WITHOUT verifying the server's certificate (nothing is \
         trusted yet); trust the certificates below only once their SHA-256 fingerprint matches what \
         `nbcertcmd -listCACertDetails` prints on the primary"
    );
    let bundle = match fetch_ca_bundle(&base, timeout) {
        Ok((_, bundle)) => bundle,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let report = match Report::new(&bundle, now_millis().div_euclid(1000)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    print!("{}", report.text);
    let Some(out) = out else {
        println!(
            "not written: run again with --out FILE to save the {} certificate(s) above as a PEM file for caFile",
            report.pem_certs
        );
        return ExitCode::SUCCESS;
    };
    match write_atomically(out, report.pem.as_bytes()) {
        Ok(()) => {
            println!(
                "wrote {} certificate(s) to {}; set `caFile: {}` for this site once the fingerprints match",
                report.pem_certs,
                out.display(),
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}

/// `https://host:port/netbackup` from what a person types: a full base URL, `host`,
/// `host:port` or `https://host`. The port defaults to 1556 and the path to `/netbackup`.
pub fn base_url(input: &str) -> Result<String, String> {
    let input = input.trim();
    let with_scheme = if input.contains("://") {
        input.to_string()
    } else {
        format!("https://{input}")
    };
    let uri: ureq::http::Uri = with_scheme
        .parse()
        .map_err(|_| format!("{input:?} is not a URL (expected e.g. https://nbu-primary:1556/netbackup)"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!(
            "{input:?}: fetch-ca needs an https URL (the CA only matters for TLS)"
        ));
    }
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{input:?} names no host"))?;
    if uri.query().is_some() {
        return Err(format!("{input:?}: expected a base URL without a query string"));
    }
    let port = uri.port_u16().unwrap_or(DEFAULT_PORT);
    let path = uri.path().trim_end_matches('/');
    let path = if path.is_empty() { "/netbackup" } else { path };
    Ok(format!("https://{host}:{port}{path}"))
}

/// The text shown and the PEM bundle written.
struct Report {
    text: String,
    pem: String,
    pem_certs: usize,
}

impl Report {
    fn new(bundle: &CaBundle, now: i64) -> Result<Report, String> {
        let mut text = String::new();
        let mut pem = String::new();
        let mut written: Vec<[u8; 32]> = Vec::new();
        if let Some(version) = &bundle.trust_version {
            let _ = writeln!(text, "trustVersion: {}", clean(version));
        }
        let total = bundle.entries.len();
        for (i, entry) in bundle.entries.iter().enumerate() {
            let (label, trusted_kind) = match &entry.source {
                CaSource::WebService => ("web service CA".to_string(), true),
                CaSource::NetBackup { action } => (
                    format!("NetBackup CA, action {}", clean(action)),
                    action.eq_ignore_ascii_case("ADD"),
                ),
            };
            let _ = writeln!(text, "\ncertificate {} of {total} ({label}):", i + 1);
            let Some(der) = &entry.der else {
                let stated = entry.stated_sha256.as_deref().map_or("none".into(), clean);
                let _ = writeln!(
                    text,
                    "  no certificate sent; SHA-256 as the server states it: {stated}"
                );
                continue;
            };
            let summary = CertSummary::from_der(der).map_err(|e| format!("certificate {}: {e}", i + 1))?;
            let days_left = (summary.not_after - now).div_euclid(86_400);
            let _ = writeln!(text, "  subject:  {}", summary.subject);
            let _ = writeln!(text, "  issuer:   {}", summary.issuer);
            let _ = writeln!(
                text,
                "  valid:    {} to {} ({})",
                utc_text(summary.not_before),
                utc_text(summary.not_after),
                if days_left < 0 {
                    "EXPIRED".to_string()
                } else {
                    format!("{days_left} days left")
                }
            );
            let _ = writeln!(text, "  SHA-256:  {}", summary.fingerprint());
            if let Some(stated) = &entry.stated_sha256 {
                if normalise_hex(stated) != normalise_hex(&summary.fingerprint()) {
                    let _ = writeln!(
                        text,
                        "  note: the server states a different SHA-256 ({}); the one above is computed \
                         from the certificate itself",
                        clean(stated)
                    );
                }
            }
            if trusted_kind && !written.contains(&summary.sha256) {
                written.push(summary.sha256);
                let _ = writeln!(pem, "# {label}: {}", summary.subject);
                let _ = writeln!(pem, "# SHA-256 {}", summary.fingerprint());
                pem.push_str(&pem_encode(der));
            }
        }
        if written.is_empty() {
            return Err("the server sent no CA certificate to trust".into());
        }
        Ok(Report {
            text,
            pem,
            pem_certs: written.len(),
        })
    }
}

fn normalise_hex(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Server text with control characters replaced, so it cannot drive the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A DER certificate as a PEM `CERTIFICATE` block, 64 base64 characters a line.
fn pem_encode(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so a
/// daemon watching `caFile` never reads half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nbu::cacert::CaEntry;

    #[test]
    fn urls_a_person_types() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("nbu1", Ok("https://nbu1:1556/netbackup")),
            ("nbu1:443", Ok("https://nbu1:443/netbackup")),
            ("https://nbu1", Ok("https://nbu1:1556/netbackup")),
            ("https://nbu1:1556/netbackup/", Ok("https://nbu1:1556/netbackup")),
            ("https://[::1]:9/nb", Ok("https://[::1]:9/nb")),
            (
                "http://nbu1",
                Err("\"http://nbu1\": fetch-ca needs an https URL (the CA only matters for TLS)"),
            ),
            (
                "https://nbu1/netbackup?x=1",
                Err("\"https://nbu1/netbackup?x=1\": expected a base URL without a query string"),
            ),
            (
                "bad host",
                Err("\"bad host\" is not a URL (expected e.g. https://nbu-primary:1556/netbackup)"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                base_url(input).as_deref(),
                want.map_err(str::to_string).as_deref(),
                "{input}"
            );
        }
    }

    #[test]
    fn pem_round_trips_through_the_pem_parser() {
        for len in [0usize, 1, 2, 3, 47, 48, 49, 100] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let pem = pem_encode(&der);
            assert!(pem.lines().all(|l| l.len() <= 64), "{pem}");
            let mut items = ureq::tls::parse_pem(pem.as_bytes());
            match items.next() {
                Some(Ok(ureq::tls::PemItem::Certificate(cert))) if len > 0 => {
                    assert_eq!(cert.der(), &der[..])
                }
                _ if len > 0 => panic!("{len}: not read back as one certificate"),
                _ => {}
            }
        }
        assert_eq!(
            pem_encode(b"Man"),
            "-----BEGIN CERTIFICATE-----\nTWFu\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(
            pem_encode(b"Ma"),
            "-----BEGIN CERTIFICATE-----\nTWE=\n-----END CERTIFICATE-----\n"
        );
    }

    #[test]
    fn the_report_shows_each_certificate_and_writes_only_trusted_kinds_once() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_der = params
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
            .der()
            .to_vec();
        let summary = CertSummary::from_der(&ca_der).unwrap();
        let entry = |source, der: Option<Vec<u8>>, stated: Option<&str>| CaEntry {
            source,
            der,
            stated_sha256: stated.map(str::to_string),
            stated_subject: None,
        };
        let bundle = CaBundle {
            trust_version: Some("2\x1b".into()),
            entries: vec![
                entry(
                    CaSource::WebService,
                    Some(ca_der.clone()),
                    Some(&summary.fingerprint()),
                ),
                entry(
                    CaSource::NetBackup { action: "ADD".into() },
                    Some(ca_der.clone()),
                    Some("00:11"),
                ),
                entry(
                    CaSource::NetBackup {
                        action: "REMOVE".into(),
                    },
                    None,
                    Some("22:33"),
                ),
            ],
        };
        let report = Report::new(&bundle, summary.not_before).unwrap();
        assert_eq!(report.pem_certs, 1);
        assert!(report.text.starts_with("trustVersion: 2?\n"), "{}", report.text);
        assert!(
            report.text.contains("certificate 1 of 3 (web service CA):"),
            "{}",
            report.text
        );
        assert!(report
            .text
            .contains(&format!("  SHA-256:  {}\n", summary.fingerprint())));
        assert!(report
            .text
            .contains("note: the server states a different SHA-256 (00:11)"));
        assert!(report
            .text
            .contains("certificate 3 of 3 (NetBackup CA, action REMOVE):\n  no certificate sent; SHA-256 as the server states it: 22:33"));
        assert_eq!(report.pem.matches("BEGIN CERTIFICATE").count(), 1);

        let removed_only = CaBundle {
            trust_version: None,
            entries: vec![entry(
                CaSource::NetBackup {
                    action: "REMOVE".into(),
                },
                Some(ca_der),
                None,
            )],
        };
        assert_eq!(
            Report::new(&removed_only, 0).err().as_deref(),
            Some("the server sent no CA certificate to trust")
        );
    }

    #[test]
    fn writing_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write_atomically(&dir.path().join("missing/ca.pem"), b"x").is_err());
    }
}
