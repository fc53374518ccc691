//! `GET /security/cacert`: the CA certificates a NetBackup primary publishes (its web
//! service CA and the NetBackup CA list), fetched before anything about the server is
//! trusted, and decoded into DER certificates with what the server says about them.
//!
//! This is the one request made without verifying the server's certificate, and it carries
//! no API key (the endpoint needs none). Whether to trust what comes back is the caller's
//! decision, made by a person comparing fingerprints; nothing here trusts or stores it. It
//! must not know the config file, printing or files.

use std::time::{Duration, Instant};

use serde::Deserialize;
use ureq::tls::{PemItem, TlsConfig};
use ureq::Agent;

use super::error::NbuError;
use super::http::{self as h, Failure};
use crate::api_version::ApiVersion;

/// The request label of the CA fetch.
pub const CACERT_ENDPOINT: &str = "cacert";
const PATH: &str = "/security/cacert";
/// Largest answer accepted: a handful of PEM certificates.
const MAX_BYTES: u64 = 1024 * 1024;

/// Where a certificate of the answer comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaSource {
    /// `webRootCertificateData`: the CA of the web service certificate on port 1556.
    WebService,
    /// `caCertificateData`: the NetBackup CA list, with the action NetBackup hosts are told
    /// to take (`ADD` or `REMOVE`).
    NetBackup { action: String },
}

/// One certificate of the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaEntry {
    pub source: CaSource,
    /// The certificate, when the server sent one (it does not for `REMOVE`).
    pub der: Option<Vec<u8>>,
    /// `caCertDetails.sha-256Fingerprint` as the server states it.
    pub stated_sha256: Option<String>,
    /// `caCertDetails.subjectName` as the server states it.
    pub stated_subject: Option<String>,
}

/// The decoded answer of `GET /security/cacert`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaBundle {
    pub trust_version: Option<String>,
    pub entries: Vec<CaEntry>,
}

#[derive(Deserialize)]
struct RawAnswer {
    #[serde(rename = "trustVersion", default)]
    trust_version: Option<serde_json::Value>,
    #[serde(rename = "webRootCertificateData", default)]
    web_root: Vec<RawCert>,
    #[serde(rename = "caCertificateData", default)]
    netbackup: Vec<RawCert>,
}

#[derive(Deserialize)]
struct RawCert {
    #[serde(rename = "caCertAction", default)]
    action: Option<String>,
    #[serde(rename = "caCertDetails", default)]
    details: Option<RawDetails>,
    #[serde(rename = "caCert", default)]
    pem: Option<String>,
}

#[derive(Deserialize)]
struct RawDetails {
    #[serde(rename = "sha-256Fingerprint", default)]
    sha256: Option<String>,
    #[serde(rename = "subjectName", default)]
    subject: Option<String>,
}

/// Decodes the JSON answer. Every certificate is checked to be one PEM certificate.
pub fn decode_ca_bundle(body: &[u8]) -> Result<CaBundle, String> {
    let raw: RawAnswer =
        serde_json::from_slice(body).map_err(|e| format!("not the JSON of /security/cacert: {e}"))?;
    let mut entries = Vec::new();
    let sources =
        raw.web_root
            .into_iter()
            .map(|c| (CaSource::WebService, c))
            .chain(raw.netbackup.into_iter().map(|c| {
                let action = c.action.clone().unwrap_or_else(|| "ADD".into());
                (CaSource::NetBackup { action }, c)
            }));
    for (index, (source, cert)) in sources.enumerate() {
        let der = match cert.pem.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(pem) => Some(one_certificate(pem).map_err(|e| format!("certificate {}: {e}", index + 1))?),
            None => None,
        };
        let details = cert.details;
        entries.push(CaEntry {
            source,
            der,
            stated_sha256: details.as_ref().and_then(|d| d.sha256.clone()),
            stated_subject: details.and_then(|d| d.subject),
        });
    }
    let trust_version = raw.trust_version.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    Ok(CaBundle {
        trust_version,
        entries,
    })
}

/// The DER bytes of a PEM text holding exactly one certificate.
fn one_certificate(pem: &str) -> Result<Vec<u8>, String> {
    let mut found = Vec::new();
    for item in ureq::tls::parse_pem(pem.as_bytes()) {
        match item {
            Ok(PemItem::Certificate(cert)) => found.push(cert.der().to_vec()),
            Ok(_) => return Err("caCert holds something other than a certificate".into()),
            Err(_) => return Err("caCert is not valid PEM".into()),
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err("caCert holds no PEM certificate".into()),
        n => Err(format!("caCert holds {n} certificates, expected one")),
    }
}

/// Fetches `base_url` + `/security/cacert` without verifying the server's certificate,
/// trying each API version newest first (406 moves to the next). One attempt per version,
/// all within `timeout`.
pub fn fetch_ca_bundle(base_url: &str, timeout: Duration) -> Result<(ApiVersion, CaBundle), NbuError> {
    let deadline = Instant::now() + timeout;
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(TlsConfig::builder().disable_verification(true).build())
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_global(Some(timeout))
        .build();
    let agent = Agent::new_with_config(config);
    let url = format!("{base_url}{PATH}");
    for version in ApiVersion::DETECTION_ORDER {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(NbuError::Deadline {
                endpoint: CACERT_ENDPOINT,
            });
        }
        let media = version.media_type();
        let result = agent
            .get(&url)
            .header("Accept", &media)
            .header("X-Client-ID", "nbu-exporter")
            .config()
            .timeout_global(Some(left))
            .build()
            .call();
        let mut response = match result {
            Ok(response) => response,
            Err(e) => return Err(failure_error(h::classify(&e), &url, base_url, left)),
        };
        let status = response.status().as_u16();
        if status == 406 {
            continue;
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BYTES)
            .read_to_vec()
            .map_err(|e| failure_error(h::classify(&e), &url, base_url, left))?;
        if !(200..300).contains(&status) {
            return Err(NbuError::Status {
                endpoint: CACERT_ENDPOINT,
                url,
                status,
                message: h::error_message(&body, ""),
                attempts: 1,
            });
        }
        let bundle = decode_ca_bundle(&body).map_err(|detail| NbuError::Decode {
            endpoint: CACERT_ENDPOINT,
            url: url.clone(),
            detail,
        })?;
        return Ok((version, bundle));
    }
    Err(NbuError::NoSupportedVersion {
        tried: ApiVersion::DETECTION_ORDER.to_vec(),
    })
}

fn failure_error(failure: Failure, url: &str, base_url: &str, after: Duration) -> NbuError {
    let endpoint = CACERT_ENDPOINT;
    let url = url.to_string();
    match failure {
        Failure::Timeout => NbuError::Timeout {
            endpoint,
            url,
            after,
            attempts: 1,
        },
        Failure::TooLarge => NbuError::TooLarge {
            endpoint,
            url,
            limit: MAX_BYTES,
        },
        Failure::Tls(failure) => NbuError::Tls {
            endpoint,
            url,
            base_url: base_url.to_string(),
            failure: Box::new(failure),
        },
        Failure::Transport { detail, .. } => NbuError::Transport {
            endpoint,
            url,
            detail,
            attempts: 1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nbu::stub::TEST_CA_PEM;

    #[test]
    fn the_documented_shape_decodes() {
        let pem = TEST_CA_PEM.replace('\n', "\\n");
        let body = format!(
            r#"{{"trustVersion": "3",
                "webRootCertificateData": [{{"caCertDetails": {{"subjectName": "CN=web", "sha-256Fingerprint": "AA:BB"}}, "caCert": "{pem}"}}],
                "caCertificateData": [
                    {{"caCertAction": "ADD", "caCertDetails": {{"subjectName": "CN=nbca"}}, "caCert": "{pem}"}},
                    {{"caCertAction": "REMOVE", "caCertDetails": {{"sha-256Fingerprint": "CC"}}}}
                ]}}"#
        );
        let bundle = decode_ca_bundle(body.as_bytes()).unwrap();
        assert_eq!(bundle.trust_version.as_deref(), Some("3"));
        let der = one_certificate(TEST_CA_PEM).unwrap();
        assert_eq!(
            bundle.entries,
            vec![
                CaEntry {
                    source: CaSource::WebService,
                    der: Some(der.clone()),
                    stated_sha256: Some("AA:BB".into()),
                    stated_subject: Some("CN=web".into()),
                },
                CaEntry {
                    source: CaSource::NetBackup { action: "ADD".into() },
                    der: Some(der),
                    stated_sha256: None,
                    stated_subject: Some("CN=nbca".into()),
                },
                CaEntry {
                    source: CaSource::NetBackup {
                        action: "REMOVE".into()
                    },
                    der: None,
                    stated_sha256: Some("CC".into()),
                    stated_subject: None,
                },
            ]
        );
        let numeric = decode_ca_bundle(br#"{"trustVersion": 7}"#).unwrap();
        assert_eq!(numeric.trust_version.as_deref(), Some("7"));
        assert!(numeric.entries.is_empty());
    }

    #[test]
    fn bad_answers_say_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            (
                "<html>",
                "not the JSON of /security/cacert: expected value at line 1 column 1",
            ),
            (
                r#"{"webRootCertificateData": [{"caCert": "hello"}]}"#,
                "certificate 1: caCert holds no PEM certificate",
            ),
            (
                r#"{"webRootCertificateData": [{"caCert": "-----BEGIN CERTIFICATE-----\nAAAA\n"}]}"#,
                "certificate 1: caCert is not valid PEM",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(decode_ca_bundle(body.as_bytes()).unwrap_err(), *want, "{body}");
        }
        let two = format!("{TEST_CA_PEM}{TEST_CA_PEM}").replace('\n', "\\n");
        let body = format!(r#"{{"caCertificateData": [{{"caCertAction": "ADD", "caCert": "{two}"}}]}}"#);
        assert_eq!(
            decode_ca_bundle(body.as_bytes()).unwrap_err(),
            "certificate 1: caCert holds 2 certificates, expected one"
        );
    }
}
