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
use super::super::raw::{Leaf, RawConfig, RawSite, Section};
use super::{secs, Checker, Text};
use crate::api_version::ApiVersion;

const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// A checked site, its name as written when valid (for the duplicate check) and its path.
type Checked<'r> = (SiteConfig, Option<Text>, &'r str);

impl Checker<'_> {
    pub(super) fn sites(&mut self, raw: &RawConfig) -> Vec<SiteConfig> {
        let checked = self.site_list(raw);
        self.reject_duplicate_names(checked)
    }

    /// The `nbuservers` list when it has a site, else the legacy `nbuserver` block.
    fn site_list<'r>(&mut self, raw: &'r RawConfig) -> Vec<Checked<'r>> {
        match (&raw.nbuservers, &raw.nbuserver) {
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
        }
    }

    fn reject_duplicate_names(&mut self, checked: Vec<Checked<'_>>) -> Vec<SiteConfig> {
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

    /// One site, its keys checked in a fixed order (problems come out in that order).
    fn site<'r>(&mut self, raw: &'r RawSite, legacy: bool) -> Checked<'r> {
        let host = self.site_host(raw);
        let name = self.site_name(raw, legacy, host.as_ref());
        let scheme = self.scheme(raw);
        let port = self.port(&key(raw, "port"), &raw.port, 1556, false).unwrap_or(0);
        let uri = self.base_path(raw);
        let (api_key, api_key_file) = self.api_key(raw);
        let api_version = self.api_version(raw);
        let insecure_skip_verify = self
            .boolean(&key(raw, "insecureSkipVerify"), &raw.insecure_skip_verify, false)
            .unwrap_or_default();
        let (ca_file, ca_pem) = self.ca_file(raw);
        let timeout = self
            .positive_duration(&key(raw, "timeout"), &raw.timeout, secs(30))
            .unwrap_or_default();
        self.ignored_keys(raw);

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
        (site, name, raw.path.as_str())
    }

    /// The host, trimmed, and as written; a host name or address only, no URL.
    fn site_host(&mut self, raw: &RawSite) -> Option<(String, Text)> {
        let key = key(raw, "host");
        let Some(leaf) = &raw.host else {
            self.problem(&key, "is required");
            return None;
        };
        let text = self.text(&key, leaf, "a host name or address")?;
        let value = text.value.trim();
        if value.is_empty() {
            self.problem(&key, "is empty");
            None
        } else if value.contains("://") || value.contains('/') || value.chars().any(char::is_whitespace) {
            self.problem(
                &key,
                format!(
                    "{} is not a host name or address (no scheme, path or whitespace: they go in scheme and uri)",
                    text.shown()
                ),
            );
            None
        } else {
            Some((value.to_owned(), text))
        }
    }

    /// `site`, required in the list; the legacy block falls back to its host.
    fn site_name(&mut self, raw: &RawSite, legacy: bool, host: Option<&(String, Text)>) -> Option<Text> {
        match (&raw.site, legacy) {
            (Some(leaf), _) => {
                let text = self.text(&key(raw, "site"), leaf, "a site name")?;
                if valid_site_name(&text.value) {
                    return Some(text);
                }
                self.problem(
                    &key(raw, "site"),
                    format!(
                        "{} is not a valid site name (1-64 characters from A-Z a-z 0-9 . _ : -)",
                        text.shown()
                    ),
                );
                None
            }
            (None, true) => {
                let (value, text) = host?;
                if valid_site_name(value) {
                    return Some(Text {
                        original: text.original.clone(),
                        value: value.clone(),
                        quoted: text.quoted,
                    });
                }
                self.problem(
                    &key(raw, "host"),
                    format!(
                        "{} cannot be the site name (1-64 characters from A-Z a-z 0-9 . _ : -); set {}.site",
                        text.shown(),
                        raw.path
                    ),
                );
                None
            }
            (None, false) => {
                self.problem(&key(raw, "site"), "is required (a unique name such as paris)");
                None
            }
        }
    }

    fn scheme(&mut self, raw: &RawSite) -> Scheme {
        let key = key(raw, "scheme");
        match self.opt_text(&key, &raw.scheme, "http or https") {
            Some(Some(text)) => match text.value.trim() {
                "https" => Scheme::Https,
                "http" => Scheme::Http,
                _ => {
                    self.problem(
                        &key,
                        format!("{} is not a scheme (expected http or https)", text.shown()),
                    );
                    Scheme::Https
                }
            },
            _ => Scheme::Https,
        }
    }

    /// `uri`, the API's base path, normalised to one leading slash and none trailing.
    fn base_path(&mut self, raw: &RawSite) -> String {
        let key = key(raw, "uri");
        match self.opt_text(&key, &raw.uri, "a path like /netbackup") {
            Some(Some(text)) => match normalise_base_path(&text.value) {
                Some(uri) => uri,
                None => {
                    self.problem(
                        &key,
                        format!(
                            "{} is not a base path (expected a path like /netbackup)",
                            text.shown()
                        ),
                    );
                    String::new()
                }
            },
            _ => "/netbackup".to_owned(),
        }
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
                self.problem(&key(raw, "apiKey"), "is required (or set apiKeyFile)");
                (Secret::default(), None)
            }
            (Some(leaf), None) => (self.inline_api_key(&key(raw, "apiKey"), leaf), None),
            (None, Some(leaf)) => self.api_key_file(&key(raw, "apiKeyFile"), leaf),
        }
    }

    fn inline_api_key(&mut self, key: &str, leaf: &Leaf) -> Secret {
        match self.text(key, leaf, "a string") {
            Some(text) if text.value.trim().is_empty() => {
                self.problem(key, "is empty");
                Secret::default()
            }
            Some(text) => Secret::new(text.value.trim()),
            None => Secret::default(),
        }
    }

    /// The key read from `apiKeyFile`, trimmed; a file other users can read is a warning.
    fn api_key_file(&mut self, key: &str, leaf: &Leaf) -> (Secret, Option<PathBuf>) {
        let Some(text) = self.text(key, leaf, "a file path") else {
            return (Secret::default(), None);
        };
        if text.value.trim().is_empty() {
            self.problem(key, "is empty");
            return (Secret::default(), None);
        }
        let file = self.resolve(text.value.trim());
        let Some(data) = self.read(key, &file) else {
            return (Secret::default(), Some(file));
        };
        if let Some(mode) = data.mode.filter(|m| m & 0o004 != 0) {
            self.warn(
                key,
                &format!(
                    "{} is readable by other users (mode {:04o}); chmod o-r it (0640 with the service's group, or 0600)",
                    file.display(),
                    mode & 0o7777
                ),
            );
        }
        match std::str::from_utf8(&data.bytes) {
            Ok(content) if content.trim().is_empty() => {
                self.problem(key, format!("{} is empty", file.display()));
                (Secret::default(), Some(file))
            }
            Ok(content) => (Secret::new(content.trim()), Some(file)),
            Err(_) => {
                self.problem(key, format!("{} is not UTF-8 text", file.display()));
                (Secret::default(), Some(file))
            }
        }
    }

    /// A supported version, or `None` (unset or empty) to detect it at run time.
    fn api_version(&mut self, raw: &RawSite) -> Option<ApiVersion> {
        let key = key(raw, "apiVersion");
        let text = match self.opt_text(&key, &raw.api_version, "a version like 13.0") {
            Some(Some(text)) if !text.value.trim().is_empty() => text,
            _ => return None,
        };
        match ApiVersion::parse(&text.value) {
            Some(v) if v.is_supported() => Some(v),
            Some(_) => {
                self.problem(
                    &key,
                    format!(
                        "{} is not supported (expected 14.0, 13.0, 12.0 or 10.0, or leave it empty to detect)",
                        text.shown()
                    ),
                );
                None
            }
            None => {
                self.problem(
                    &key,
                    format!("{} is not an API version (expected X.Y, e.g. 13.0)", text.shown()),
                );
                None
            }
        }
    }

    /// `caFile`'s path and content, which must hold at least one PEM certificate.
    fn ca_file(&mut self, raw: &RawSite) -> (Option<PathBuf>, Option<Vec<u8>>) {
        let key = key(raw, "caFile");
        let text = match self.opt_text(&key, &raw.ca_file, "a file path") {
            Some(Some(text)) if !text.value.trim().is_empty() => text,
            _ => return (None, None),
        };
        let file = self.resolve(text.value.trim());
        let pem = self.read(&key, &file).map(|data| data.bytes);
        if let Some(pem) = &pem {
            if !pem.windows(PEM_CERTIFICATE.len()).any(|w| w == PEM_CERTIFICATE) {
                self.problem(
                    &key,
                    format!(
                        "{} holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)",
                        file.display()
                    ),
                );
            }
        }
        (Some(file), pem)
    }

    /// Keys the Go exporter accepted and never used: shape-checked, then warned about.
    fn ignored_keys(&mut self, raw: &RawSite) {
        for (name, field) in [
            ("domain", &raw.domain),
            ("domainType", &raw.domain_type),
            ("contentType", &raw.content_type),
        ] {
            if field.is_some() {
                self.opt_text(&key(raw, name), field, "a string");
                self.warn(
                    &key(raw, name),
                    "deprecated and ignored (the Go exporter never used it either); remove it",
                );
            }
        }
    }
}

/// The key path of one of a site's keys, e.g. `nbuservers[1].port`.
fn key(site: &RawSite, name: &str) -> String {
    format!("{}.{name}", site.path)
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_table, load_ok, Fixture, SENTINEL, SITE};
    use crate::api_version::ApiVersion;

    #[test]
    fn bad_values_report_exact_problems() {
        let cases: &[(&str, &[&str])] = &[
            ("server: {}\nnbuserver: ~\n", &["nbuservers: no NetBackup server configured; add at least one site under nbuservers"]),
            ("nbuservers: []\n", &["nbuservers: no NetBackup server configured; add at least one site under nbuservers"]),
            (
                "nbuservers:\n- {site: paris, host: a, apiKey: SENTINEL-abc123}\n- {site: paris, host: b, apiKey: SENTINEL-abc123}\n",
                &["nbuservers[1].site: duplicate site name \"paris\" (already used by nbuservers[0])"],
            ),
            ("nbuservers: [{site: paris, apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].host: is required"]),
            ("nbuservers: [{site: paris, host: \"  \", apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].host: is empty"]),
            ("nbuservers: [{site: paris, host: \"https://nbu/netbackup\", apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].host: \"https://nbu/netbackup\" is not a host name or address (no scheme, path or whitespace: they go in scheme and uri)"]),
            ("nbuservers: [{host: nbu, apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].site: is required (a unique name such as paris)"]),
            ("nbuservers: [{site: paris france, host: nbu, apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].site: \"paris france\" is not a valid site name (1-64 characters from A-Z a-z 0-9 . _ : -)"]),
            ("nbuservers: [{site: paris, host: nbu}]\n", &["nbuservers[0].apiKey: is required (or set apiKeyFile)"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: \"${EMPTY}\"}]\n", &["nbuservers[0].apiKey: is empty"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: SENTINEL-abc123, apiKeyFile: key.txt}]\n", &["nbuservers[0]: set either apiKey or apiKeyFile, not both"]),
            ("nbuservers: [{site: paris, host: nbu, apiKeyFile: missing.key}]\n", &["nbuservers[0].apiKeyFile: cannot read {dir}/missing.key: No such file or directory (os error 2)"]),
            ("nbuservers: [{site: paris, host: nbu, apiKeyFile: /dev/zero}]\n", &["nbuservers[0].apiKeyFile: cannot read /dev/zero: larger than the 1048576-byte limit"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: SENTINEL-abc123, caFile: /dev/zero}]\n", &["nbuservers[0].caFile: cannot read /dev/zero: larger than the 1048576-byte limit"]),
            ("nbuservers: [{site: paris, host: nbu, apiKeyFile: empty.key}]\n", &["nbuservers[0].apiKeyFile: {dir}/empty.key is empty"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: SENTINEL-abc123, caFile: bad.pem}]\n", &["nbuservers[0].caFile: {dir}/bad.pem holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: SENTINEL-abc123, caFile: /nonexistent/ca.pem}]\n", &["nbuservers[0].caFile: cannot read /nonexistent/ca.pem: No such file or directory (os error 2)"]),
            ("nbuservers: [{site: paris, host: nbu, scheme: ftp, apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].scheme: \"ftp\" is not a scheme (expected http or https)"]),
            ("nbuservers: [{site: paris, host: nbu, uri: /, apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].uri: \"/\" is not a base path (expected a path like /netbackup)"]),
            (
                "nbuservers:\n- {site: paris, host: a, apiVersion: \"13.0\", apiKey: SENTINEL-abc123}\n- {site: london, host: b, apiVersion: \"3.0\", apiKey: SENTINEL-abc123}\n- {site: rome, host: c, apiVersion: latest, apiKey: SENTINEL-abc123}\n",
                &[
                    "nbuservers[1].apiVersion: \"3.0\" is not supported (expected 14.0, 13.0, 12.0 or 10.0, or leave it empty to detect)",
                    "nbuservers[2].apiVersion: \"latest\" is not an API version (expected X.Y, e.g. 13.0)",
                ],
            ),
            (
                "nbuservers: [{site: paris, host: \"https://nbu\", apiKey: k}]\n",
                &["nbuservers[0].host: \"https://nbu\" is not a host name or address (no scheme, path or whitespace: they go in scheme and uri)"],
            ),
            (
                "nbuservers: [{site: \"paris 1\", host: nbu, apiKey: k}]\n",
                &["nbuservers[0].site: \"paris 1\" is not a valid site name (1-64 characters from A-Z a-z 0-9 . _ : -)"],
            ),
            (
                "nbuserver: {host: \"nbu%1\", apiKey: k}\n",
                &["nbuserver.host: \"nbu%1\" cannot be the site name (1-64 characters from A-Z a-z 0-9 . _ : -); set nbuserver.site"],
            ),
            ("nbuserver: {apiKey: k}\n", &["nbuserver.host: is required"]),
            (
                "nbuservers: [{site: paris, host: nbu, uri: \"/\", apiKey: k}]\n",
                &["nbuservers[0].uri: \"/\" is not a base path (expected a path like /netbackup)"],
            ),
            (
                "nbuservers: [{site: paris, host: nbu, apiVersion: \"9.0\", apiKey: k}]\n",
                &["nbuservers[0].apiVersion: \"9.0\" is not supported (expected 14.0, 13.0, 12.0 or 10.0, or leave it empty to detect)"],
            ),
            ("nbuservers: [{site: paris, host: nbu, apiKeyFile: \" \"}]\n", &["nbuservers[0].apiKeyFile: is empty"]),
            (
                "nbuservers: [{site: paris, host: nbu, apiKeyFile: latin1.key}]\n",
                &["nbuservers[0].apiKeyFile: {dir}/latin1.key is not UTF-8 text"],
            ),
        ];
        check_table(cases);
    }

    #[test]
    fn multi_site_with_variables_everywhere() {
        let fx = Fixture::new();
        let yaml = r#"
server:
  port: "${NBU_PORT}"
nbuservers:
  - site: paris
    host: "${PARIS_HOST}"
    apiKey: "${PARIS_KEY}"
    insecureSkipVerify: "${SKIP}"
  - site: london
    host: "${LONDON_HOST}"
    port: "${NBU_PORT}"
    apiKey: "${LONDON_KEY}"
    uri: "netbackup/"
    apiVersion: 12.0
    scheme: "${EMPTY}http"
"#;
        let loaded = load_ok(&fx, yaml);
        assert_eq!(loaded.warnings, Vec::<String>::new());
        let c = &loaded.config;
        assert_eq!(c.server.port, 1556);
        let urls: Vec<String> = c.sites.iter().map(|s| s.base_url()).collect();
        assert_eq!(
            urls,
            [
                "https://paris.example.com:1556/netbackup",
                "http://london.example.com:1556/netbackup"
            ]
        );
        assert!(c.sites.iter().all(|s| s.api_key.expose() == SENTINEL));
        assert!(c.sites[0].insecure_skip_verify);
        assert_eq!(c.sites[1].api_version, Some(ApiVersion::V12_0));
    }

    #[test]
    fn relative_files_resolve_against_the_config_dir() {
        let fx = Fixture::new();
        let yaml = "server: {logName: logs/x.log}\nnbuservers:\n- {site: paris, host: nbu, apiKeyFile: key.txt, caFile: ca.pem}\n- {site: london, host: nbu, apiKeyFile: \"{dir}/key.txt\"}\n";
        let c = load_ok(&fx, yaml).config;
        assert_eq!(c.server.log_name, Some(fx.file("logs/x.log")));
        assert_eq!(c.sites[0].api_key_file, Some(fx.file("key.txt")));
        assert_eq!(c.sites[0].api_key.expose(), SENTINEL);
        assert_eq!(c.sites[0].ca_file, Some(fx.file("ca.pem")));
        assert!(c.sites[0]
            .ca_pem
            .as_deref()
            .is_some_and(|p| p.starts_with(b"-----BEGIN")));
        assert_eq!(c.sites[1].api_key_file, Some(fx.file("key.txt")));
    }

    #[test]
    fn legacy_block_is_ignored_when_the_list_is_set() {
        let fx = Fixture::new();
        let yaml = format!("nbuserver: {{host: old, apiKey: x}}\n{SITE}");
        let loaded = load_ok(&fx, &yaml);
        assert_eq!(
            loaded.warnings,
            ["nbuserver: ignored because nbuservers is set; remove it"]
        );
        assert_eq!(loaded.config.sites[0].name, "paris");
    }
}
