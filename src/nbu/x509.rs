//! Just enough X.509 to tell a person which certificate they are looking at: the subject
//! and issuer as text, the validity dates and the SHA-256 fingerprint of a DER certificate.
//!
//! A small hand-written DER walk over the fixed head of `tbsCertificate` (version, serial,
//! signature algorithm, issuer, validity, subject); extensions and signatures are not read,
//! and nothing here decides whether a certificate is trusted (that is rustls' job). Input
//! comes from servers not yet trusted, so every length is checked, nothing panics, and
//! text taken from a certificate is stripped of control characters before anyone prints
//! it. It must not know HTTP, NetBackup or the config.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::timefmt::{format_rfc3339_millis, parse_rfc3339};

/// What a certificate says about itself, decoded from its DER bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// The subject name, e.g. `CN=nbu-primary, O=Example`, attributes in certificate order.
    pub subject: String,
    pub issuer: String,
    /// `notBefore`, Unix seconds.
    pub not_before: i64,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
    /// SHA-256 of the whole DER certificate.
    pub sha256: [u8; 32],
}

impl CertSummary {
    /// Decodes `der`; an error says which part is malformed.
    pub fn from_der(der: &[u8]) -> Result<CertSummary, X509Error> {
        let mut outer = Reader::new(der);
        let cert = outer.expect(SEQUENCE, "certificate")?;
        let mut cert = Reader::new(cert);
        let tbs = cert.expect(SEQUENCE, "tbsCertificate")?;
        let mut tbs = Reader::new(tbs);
        if tbs.peek_tag() == Some(VERSION_TAG) {
            tbs.next("version")?;
        }
        tbs.expect(INTEGER, "serialNumber")?;
        tbs.expect(SEQUENCE, "signature algorithm")?;
        let issuer = name_text(tbs.expect(SEQUENCE, "issuer")?)?;
        let mut validity = Reader::new(tbs.expect(SEQUENCE, "validity")?);
        let not_before = time(validity.next("notBefore")?)?;
        let not_after = time(validity.next("notAfter")?)?;
        let subject = name_text(tbs.expect(SEQUENCE, "subject")?)?;
        Ok(CertSummary {
            subject,
            issuer,
            not_before,
            not_after,
            sha256: Sha256::digest(der).into(),
        })
    }

    /// `AB:CD:…` in upper case, as `openssl x509 -fingerprint -sha256` and
    /// `nbcertcmd -listCACertDetails` print it.
    pub fn fingerprint(&self) -> String {
        colon_hex(&self.sha256)
    }
}

/// Bytes as upper-case hex pairs joined by colons.
pub fn colon_hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}

/// Unix seconds as `2025-01-31 12:00:00 UTC`.
pub fn utc_text(unix_seconds: i64) -> String {
    let text = format_rfc3339_millis(unix_seconds.saturating_mul(1000));
    // `YYYY-MM-DDTHH:MM:SS.mmmZ` -> `YYYY-MM-DD HH:MM:SS UTC`
    match text.get(..19) {
        Some(head) => format!("{} UTC", head.replacen('T', " ", 1)),
        None => text,
    }
}

/// Why a certificate could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X509Error {
    /// The part being read, e.g. `validity`.
    pub part: &'static str,
    pub problem: &'static str,
}

impl fmt::Display for X509Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an X.509 certificate: {}: {}", self.part, self.problem)
    }
}

impl std::error::Error for X509Error {}

const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// `[0] EXPLICIT` around the version.
const VERSION_TAG: u8 = 0xa0;

/// A cursor over DER tag-length-value items.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next item's tag and content.
    fn next(&mut self, part: &'static str) -> Result<(u8, &'a [u8]), X509Error> {
        let bad = |problem| X509Error { part, problem };
        let (&tag, rest) = self.rest.split_first().ok_or(bad("truncated"))?;
        if tag & 0x1f == 0x1f {
            return Err(bad("multi-byte tags are not used in certificates"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(bad("truncated"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(bad("unsupported length encoding"));
            }
            let (bytes, after) = rest.split_at_checked(count).ok_or(bad("truncated"))?;
            rest = after;
            bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
        };
        let (content, after) = rest.split_at_checked(len).ok_or(bad("truncated"))?;
        self.rest = after;
        Ok((tag, content))
    }

    /// The next item's content, which must carry `tag`.
    fn expect(&mut self, tag: u8, part: &'static str) -> Result<&'a [u8], X509Error> {
        match self.next(part)? {
            (t, content) if t == tag => Ok(content),
            _ => Err(X509Error {
                part,
                problem: "unexpected element",
            }),
        }
    }
}

/// A UTCTime or GeneralizedTime in Unix seconds. DER requires the `Z` form with seconds.
fn time((tag, content): (u8, &[u8])) -> Result<i64, X509Error> {
    let bad = |problem| X509Error {
        part: "validity",
        problem,
    };
    let text = std::str::from_utf8(content).map_err(|_| bad("time is not text"))?;
    let full = match (tag, text.len()) {
        // YYMMDDHHMMSSZ; RFC 5280: YY >= 50 means 19YY.
        (UTC_TIME, 13) => {
            let yy: u32 = text[..2].parse().map_err(|_| bad("bad year"))?;
            let century = if yy >= 50 { "19" } else { "20" };
            format!("{century}{text}")
        }
        (GENERALIZED_TIME, 15) => text.to_string(),
        _ => return Err(bad("time is not in the DER form")),
    };
    let b = full.as_bytes();
    if b[14] != b'Z' || !b[..14].iter().all(u8::is_ascii_digit) {
        return Err(bad("time is not in the DER form"));
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &full[0..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    );
    parse_rfc3339(&rfc3339)
        .map(|millis| millis.div_euclid(1000))
        .ok_or(bad("time out of range"))
}

/// A `Name` as `SHORT=value, …` in certificate order (not RFC 4514's reversed order: this is
/// the order `nbcertcmd` and most tools show).
fn name_text(name: &[u8]) -> Result<String, X509Error> {
    let mut parts = Vec::new();
    let mut rdns = Reader::new(name);
    while !rdns.is_empty() {
        let mut set = Reader::new(rdns.expect(SET, "name")?);
        while !set.is_empty() {
            let mut pair = Reader::new(set.expect(SEQUENCE, "name")?);
            let oid = pair.expect(OID, "name")?;
            let value = pair.next("name")?;
            parts.push(format!("{}={}", attribute_name(oid), string_value(value)));
        }
    }
    Ok(parts.join(", "))
}

/// The usual short name of an attribute type, else its dotted OID.
fn attribute_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x05] => "serialNumber".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress".into(),
        _ => dotted_oid(oid),
    }
}

fn dotted_oid(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = value.saturating_mul(128) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    let text: Vec<String> = arcs.iter().map(u64::to_string).collect();
    text.join(".")
}

/// A directory string as printable text: control characters become `?`, so a hostile
/// certificate cannot drive the terminal it is shown on.
fn string_value((tag, content): (u8, &[u8])) -> String {
    let text: String = match tag {
        // UTF8String, PrintableString, IA5String, VisibleString, NumericString
        0x0c | 0x13 | 0x16 | 0x1a | 0x12 => String::from_utf8_lossy(content).into_owned(),
        // TeletexString: treated as Latin-1, as most software does
        0x14 => content.iter().map(|&b| char::from(b)).collect(),
        // BMPString: UTF-16BE
        0x1e => {
            let units: Vec<u16> = content
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => format!("#{}", colon_hex(content).replace(':', "")),
    };
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA made by rcgen with a known subject and validity.
    fn generated(not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> (Vec<u8>, i64, i64) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CountryName, "FR");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Exemple SA");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "NetBackup CA é");
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let secs =
            |y: i32, m: u8, d: u8| parse_rfc3339(&format!("{y:04}-{m:02}-{d:02}T00:00:00Z")).unwrap() / 1000;
        (
            cert.der().to_vec(),
            secs(not_before.0, not_before.1, not_before.2),
            secs(not_after.0, not_after.1, not_after.2),
        )
    }

    #[test]
    fn a_generated_certificate_reads_back() {
        // 2049 is UTCTime, 2051 GeneralizedTime: both forms are covered.
        for (from, until) in [((2024, 1, 2), (2049, 12, 31)), ((1999, 3, 4), (2051, 6, 7))] {
            let (der, not_before, not_after) = generated(from, until);
            let summary = CertSummary::from_der(&der).unwrap();
            assert_eq!(summary.subject, "C=FR, O=Exemple SA, CN=NetBackup CA é");
            assert_eq!(summary.issuer, summary.subject);
            assert_eq!((summary.not_before, summary.not_after), (not_before, not_after));
            let want: [u8; 32] = Sha256::digest(&der).into();
            assert_eq!(summary.sha256, want);
            assert_eq!(summary.fingerprint().len(), 32 * 3 - 1);
        }
    }

    #[test]
    fn broken_input_is_an_error_never_a_panic() {
        let (der, _, _) = generated((2024, 1, 1), (2030, 1, 1));
        for len in 0..der.len() {
            assert!(CertSummary::from_der(&der[..len]).is_err(), "prefix {len}");
        }
        for i in 0..der.len().min(400) {
            let mut bent = der.clone();
            bent[i] ^= 0xff;
            let _ = CertSummary::from_der(&bent);
        }
        assert_eq!(
            CertSummary::from_der(b"\x30\x85\x00\x00\x00\x00\x01").unwrap_err(),
            X509Error {
                part: "certificate",
                problem: "unsupported length encoding"
            }
        );
        assert_eq!(
            CertSummary::from_der(b"\x02\x01\x00").unwrap_err().to_string(),
            "not an X.509 certificate: certificate: unexpected element"
        );
    }

    #[test]
    fn text_helpers() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(1_767_225_600), "2026-01-01 00:00:00 UTC");
        assert_eq!(colon_hex(&[0x0a, 0xbc, 0xff]), "0A:BC:FF");
        assert_eq!(
            dotted_oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
        assert_eq!(attribute_name(&[0x55, 0x04, 0x2a]), "2.5.4.42");
        assert_eq!(string_value((0x0c, b"a\x1b[31mb\n")), "a?[31mb?");
        assert_eq!(string_value((0x1e, &[0x00, 0x41, 0x00, 0xe9])), "Aé");
        assert_eq!(string_value((0x14, &[0x41, 0xe9])), "Aé");
        assert_eq!(string_value((0x04, &[0x01, 0xab])), "#01AB");
    }
}
