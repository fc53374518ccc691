//! The NetBackup sites: the `nbuservers` list, or the Go exporter's single `nbuserver`
//! block (deprecated; its host doubles as the site name). One site is its address
//! (scheme, host, port, base path), its API key (inline or from `apiKeyFile`), API
//! version, TLS settings (`caFile`, `insecureSkipVerify`) and request timeout; site names
//! must be unique.
//!
//! It must not know how a site is polled or a client built; it only checks and fills in
//! [`SiteConfig`]. No message here may hold an API key.

use std::collections::HashMap;
use std::path::PathBuf;

use super::super::model::{Scheme, Secret, SiteConfig};
use super::super::raw::{RawConfig, RawSite, Section};
use super::{secs, Checker, Text};
use crate::nbu::ApiVersion;

const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

impl Checker<'_> {
    pub(super) fn sites(&mut self, raw: &RawConfig) -> Vec<SiteConfig> {
        let checked: Vec<(SiteConfig, Option<Text>, &str)> = match (&raw.nbuservers, &raw.nbuserver) {
            (Section::Present(list), legacy) if !list.is_empty() => {
                if !matches!(legacy, Section::Absent) {
                    self.warn("nbuserver", "ignored because nbuservers is set; remove it");
                }
                list.iter().map(|site| self.site(site, false)).collect()
            }
            (_, Section::Present(legacy)) => {
                self.warn(
                    "nbuserver",
                    "deprecated; move it into the nbuservers list (with a site name)",
                );
                vec![self.site(legacy, true)]
            }
            (Section::Invalid, _) | (_, Section::Invalid) => Vec::new(),
            _ => {
                self.problem(
                    "nbuservers",
                    "no NetBackup server configured; add at least one site under nbuservers",
                );
                Vec::new()
            }
        };
        let mut first_use: HashMap<String, String> = HashMap::new();
        let mut sites = Vec::with_capacity(checked.len());
        for (site, name_text, path) in checked {
            if let Some(name_text) = name_text {
                match first_use.get(&site.name) {
                    Some(first) => {
                        let message = format!(
                            "duplicate site name {} (already used by {first})",
                            name_text.shown()
                        );
                        self.problem(&format!("{path}.site"), message);
                    }
                    None => {
                        first_use.insert(site.name.clone(), path.to_owned());
                    }
                }
            }
            sites.push(site);
        }
        sites
    }

    /// One site. Also returns the name as written when it is valid (for duplicate checks).
    fn site<'r>(&mut self, raw: &'r RawSite, legacy: bool) -> (SiteConfig, Option<Text>, &'r str) {
        let p = raw.path.as_str();
        let key = |name: &str| format!("{p}.{name}");

        let host = match &raw.host {
            None => {
                self.problem(&key("host"), "is required");
                None
            }
            Some(leaf) => self.text(&key("host"), leaf, "a host name or address").and_then(|text| {
                let value = text.value.trim();
                if value.is_empty() {
                    self.problem(&key("host"), "is empty");
                    None
                } else if value.contains("://")
                    || value.contains('/')
                    || value.chars().any(char::is_whitespace)
                {
                    self.problem(
                        &key("host"),
                        format!(
                            "{} is not a host name or address (no scheme, path or whitespace: they go in scheme and uri)",
                            text.shown()
                        ),
                    );
                    None
                } else {
                    Some((value.to_owned(), text))
                }
            }),
        };

        let name = match (&raw.site, legacy) {
            (Some(leaf), _) => self.text(&key("site"), leaf, "a site name").and_then(|text| {
                if valid_site_name(&text.value) {
                    Some(text)
                } else {
                    self.problem(
                        &key("site"),
                        format!(
                            "{} is not a valid site name (1-64 characters from A-Z a-z 0-9 . _ : -)",
                            text.shown()
                        ),
                    );
                    None
                }
            }),
            (None, true) => match &host {
                Some((value, text)) if !valid_site_name(value) => {
                    self.problem(
                        &key("host"),
                        format!(
                            "{} cannot be the site name (1-64 characters from A-Z a-z 0-9 . _ : -); set {p}.site",
                            text.shown()
                        ),
                    );
                    None
                }
                Some((value, text)) => Some(Text {
                    original: text.original.clone(),
                    value: value.clone(),
                    quoted: text.quoted,
                }),
                None => None,
            },
            (None, false) => {
                self.problem(&key("site"), "is required (a unique name such as paris)");
                None
            }
        };

        let scheme = match self.opt_text(&key("scheme"), &raw.scheme, "http or https") {
            Some(Some(text)) => match text.value.trim() {
                "https" => Scheme::Https,
                "http" => Scheme::Http,
                _ => {
                    self.problem(
                        &key("scheme"),
                        format!("{} is not a scheme (expected http or https)", text.shown()),
                    );
                    Scheme::Https
                }
            },
            _ => Scheme::Https,
        };
        let port = self.port(&key("port"), &raw.port, 1556, false).unwrap_or(0);
        let uri = match self.opt_text(&key("uri"), &raw.uri, "a path like /netbackup") {
            Some(Some(text)) => match normalise_base_path(&text.value) {
                Some(uri) => uri,
                None => {
                    self.problem(
                        &key("uri"),
                        format!(
                            "{} is not a base path (expected a path like /netbackup)",
                            text.shown()
                        ),
                    );
                    String::new()
                }
            },
            _ => "/netbackup".to_owned(),
        };
        let (api_key, api_key_file) = self.api_key(raw);
        let api_version = match self.opt_text(&key("apiVersion"), &raw.api_version, "a version like 13.0") {
            Some(Some(text)) if !text.value.trim().is_empty() => match ApiVersion::parse(&text.value) {
                Some(v) if v.is_supported() => Some(v),
                Some(_) => {
                    self.problem(
                        &key("apiVersion"),
                        format!(
                            "{} is not supported (expected 14.0, 13.0, 12.0 or 10.0, or leave it empty to detect)",
                            text.shown()
                        ),
                    );
                    None
                }
                None => {
                    self.problem(
                        &key("apiVersion"),
                        format!("{} is not an API version (expected X.Y, e.g. 13.0)", text.shown()),
                    );
                    None
                }
            },
            _ => None,
        };
        let insecure_skip_verify = self
            .boolean(&key("insecureSkipVerify"), &raw.insecure_skip_verify, false)
            .unwrap_or_default();
        let (ca_file, ca_pem) = match self.opt_text(&key("caFile"), &raw.ca_file, "a file path") {
            Some(Some(text)) if !text.value.trim().is_empty() => {
                let file = self.resolve(text.value.trim());
                let pem = self.read(&key("caFile"), &file).map(|data| data.bytes);
                if let Some(pem) = &pem {
                    if !pem.windows(PEM_CERTIFICATE.len()).any(|w| w == PEM_CERTIFICATE) {
                        self.problem(
                            &key("caFile"),
                            format!(
                                "{} holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)",
                                file.display()
                            ),
                        );
                    }
                }
                (Some(file), pem)
            }
            _ => (None, None),
        };
        let timeout = self
            .positive_duration(&key("timeout"), &raw.timeout, secs(30))
            .unwrap_or_default();
        for (name, field) in [
            ("domain", &raw.domain),
            ("domainType", &raw.domain_type),
            ("contentType", &raw.content_type),
        ] {
            if field.is_some() {
                self.opt_text(&key(name), field, "a string");
                self.warn(
                    &key(name),
                    "deprecated and ignored (the Go exporter never used it either); remove it",
                );
            }
        }

        let site = SiteConfig {
            name: name.as_ref().map(|t| t.value.clone()).unwrap_or_default(),
            scheme,
            host: host.map(|(value, _)| value).unwrap_or_default(),
            port,
            uri,
            api_key,
            api_key_file,
            api_version,
            insecure_skip_verify,
            ca_file,
            ca_pem,
            timeout,
        };
        (site, name, p)
    }

    /// `apiKey` or `apiKeyFile`, exactly one. No message here may hold the key.
    fn api_key(&mut self, raw: &RawSite) -> (Secret, Option<PathBuf>) {
        let p = raw.path.as_str();
        match (&raw.api_key, &raw.api_key_file) {
            (Some(_), Some(_)) => {
                self.problem(p, "set either apiKey or apiKeyFile, not both");
                (Secret::default(), None)
            }
            (None, None) => {
                self.problem(&format!("{p}.apiKey"), "is required (or set apiKeyFile)");
                (Secret::default(), None)
            }
            (Some(leaf), None) => {
                let key = format!("{p}.apiKey");
                match self.text(&key, leaf, "a string") {
                    Some(text) if text.value.trim().is_empty() => {
                        self.problem(&key, "is empty");
                        (Secret::default(), None)
                    }
                    Some(text) => (Secret::new(text.value.trim()), None),
                    None => (Secret::default(), None),
                }
            }
            (None, Some(leaf)) => {
                let key = format!("{p}.apiKeyFile");
                let Some(text) = self.text(&key, leaf, "a file path") else {
                    return (Secret::default(), None);
                };
                if text.value.trim().is_empty() {
                    self.problem(&key, "is empty");
                    return (Secret::default(), None);
                }
                let file = self.resolve(text.value.trim());
                let Some(data) = self.read(&key, &file) else {
                    return (Secret::default(), Some(file));
                };
                if let Some(mode) = data.mode.filter(|m| m & 0o004 != 0) {
                    self.warn(
                        &key,
                        &format!(
                            "{} is readable by other users (mode {:04o}); chmod o-r it (0640 with the service's group, or 0600)",
                            file.display(),
                            mode & 0o7777
                        ),
                    );
                }
                match std::str::from_utf8(&data.bytes) {
                    Ok(content) if content.trim().is_empty() => {
                        self.problem(&key, format!("{} is empty", file.display()));
                        (Secret::default(), Some(file))
                    }
                    Ok(content) => (Secret::new(content.trim()), Some(file)),
                    Err(_) => {
                        self.problem(&key, format!("{} is not UTF-8 text", file.display()));
                        (Secret::default(), Some(file))
                    }
                }
            }
        }
    }
}

/// `netbackup/` -> `/netbackup`. `None` for a path that is empty or not plain.
fn normalise_base_path(uri: &str) -> Option<String> {
    let trimmed = uri.trim().trim_matches('/');
    if trimmed.is_empty() || trimmed.chars().any(|c| c.is_whitespace() || c == '?' || c == '#') {
        return None;
    }
    Some(format!("/{trimmed}"))
}

fn valid_site_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}
