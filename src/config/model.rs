//! The checked, high-level configuration the daemon runs on. Every value here has passed
//! validation: ports are in range, durations are positive, secrets are resolved.
//!
//! Plain data with no I/O. It must not know YAML (that is `config::raw`) nor how a value
//! is applied at run time (that is the reload worker's business).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::api_version::ApiVersion;

/// A whole, valid configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub reload: ReloadSettings,
    /// At least one site; names are unique.
    pub sites: Vec<SiteConfig>,
    /// `collectors.*`: the opt-in collectors, the same for every site.
    pub collectors: CollectorsConfig,
}

impl Config {
    /// Files the config refers to and whose content is part of its hash (`apiKeyFile`,
    /// `caFile`, the web config file and the files it names): a change to any of them is a
    /// config change.
    pub fn referenced_files(&self) -> Vec<PathBuf> {
        let sites = self
            .sites
            .iter()
            .flat_map(|s| s.api_key_file.iter().chain(s.ca_file.iter()))
            .cloned();
        let web = self.server.web.iter().flat_map(|w| w.files());
        sites.chain(web).collect()
    }
}

/// `server.*`: the exporter's own listener, logging and collection cadence.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// The metrics path, always starting with `/`.
    pub uri: String,
    /// The jobs look-back window (`scrapingInterval`, Go exporter name kept).
    pub scraping_interval: Duration,
    /// Time between full jobs downloads (`jobsResyncInterval`); in between, sweeps ask only
    /// for jobs that changed. Zero: every sweep downloads everything.
    pub jobs_resync_interval: Duration,
    /// How often each site is swept.
    pub collection_interval: Duration,
    /// Hard deadline for one sweep of one site.
    pub collection_timeout: Duration,
    /// Log file; `None` means standard error only.
    pub log_name: Option<PathBuf>,
    pub log_level: log::LevelFilter,
    /// `logfmt` (the default) or `json`.
    pub log_format: crate::logging::LogFormat,
    /// Whether `POST /-/reload` is served.
    pub enable_lifecycle: bool,
    /// `webConfigFile` as written (resolved), before `--web.config.file` overrides it.
    pub web_config_file: Option<PathBuf>,
    /// The web config in force (TLS, basic auth, headers), loaded after validation from
    /// `--web.config.file` or `webConfigFile`; `None`: plain HTTP, no authentication.
    pub web: Option<std::sync::Arc<super::web::WebConfig>>,
}

/// `reload.*`: how file changes are noticed.
#[derive(Clone, Debug, PartialEq)]
pub struct ReloadSettings {
    /// Quiet period after the last file event before a reload.
    pub debounce: Duration,
    /// Content-hash poll as a safety net; `None` disables it.
    pub poll_interval: Option<Duration>,
}

/// A `collectors.<name>` section of the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CollectorKey {
    Alerts,
    Malware,
    Catalog,
    Slo,
    Tape,
    PerClient,
}

impl CollectorKey {
    pub const ALL: [CollectorKey; 6] = [
        CollectorKey::Alerts,
        CollectorKey::Malware,
        CollectorKey::Catalog,
        CollectorKey::Slo,
        CollectorKey::Tape,
        CollectorKey::PerClient,
    ];

    /// The section name as written in the file (`perClient`).
    pub fn name(self) -> &'static str {
        match self {
            CollectorKey::Alerts => "alerts",
            CollectorKey::Malware => "malware",
            CollectorKey::Catalog => "catalog",
            CollectorKey::Slo => "slo",
            CollectorKey::Tape => "tape",
            CollectorKey::PerClient => "perClient",
        }
    }

    pub fn from_name(name: &str) -> Option<CollectorKey> {
        CollectorKey::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The default look-back window of `malware` and `catalog` (what `/catalog/images`
/// applies when given none).
pub const DEFAULT_COLLECTOR_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// One `collectors.<name>` section.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectorSettings {
    pub enabled: bool,
    /// How often it runs per site; `None` means `server.collectionInterval`.
    pub interval: Option<Duration>,
    /// Look-back window (`malware`, `catalog`; the others never read it).
    pub window: Duration,
}

impl Default for CollectorSettings {
    fn default() -> CollectorSettings {
        CollectorSettings {
            enabled: false,
            interval: None,
            window: DEFAULT_COLLECTOR_WINDOW,
        }
    }
}

/// `collectors.*`. Every collector is disabled unless the file enables it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CollectorsConfig {
    pub alerts: CollectorSettings,
    pub malware: CollectorSettings,
    pub catalog: CollectorSettings,
    pub slo: CollectorSettings,
    pub tape: CollectorSettings,
    pub per_client: CollectorSettings,
    /// `perClient.allowlist`: exact client names, without duplicates, in file order. Empty
    /// means no per-client series.
    pub allowlist: Vec<String>,
}

impl CollectorsConfig {
    /// Whether any opt-in collector is on.
    pub fn any_enabled(&self) -> bool {
        [
            &self.alerts,
            &self.malware,
            &self.catalog,
            &self.slo,
            &self.tape,
            &self.per_client,
        ]
        .iter()
        .any(|c| c.enabled)
    }

    pub fn get(&self, key: CollectorKey) -> &CollectorSettings {
        match key {
            CollectorKey::Alerts => &self.alerts,
            CollectorKey::Malware => &self.malware,
            CollectorKey::Catalog => &self.catalog,
            CollectorKey::Slo => &self.slo,
            CollectorKey::Tape => &self.tape,
            CollectorKey::PerClient => &self.per_client,
        }
    }

    pub fn get_mut(&mut self, key: CollectorKey) -> &mut CollectorSettings {
        match key {
            CollectorKey::Alerts => &mut self.alerts,
            CollectorKey::Malware => &mut self.malware,
            CollectorKey::Catalog => &mut self.catalog,
            CollectorKey::Slo => &mut self.slo,
            CollectorKey::Tape => &mut self.tape,
            CollectorKey::PerClient => &mut self.per_client,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One NetBackup primary server (`nbuservers[]`, or the legacy `nbuserver` block).
#[derive(Clone, Debug, PartialEq)]
pub struct SiteConfig {
    /// The `site` label; for the legacy block, the host.
    pub name: String,
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    /// Base path, starting with `/`, without a trailing `/` (default `/netbackup`).
    pub uri: String,
    /// The API key, from `apiKey` or read from `apiKeyFile`.
    pub api_key: Secret,
    /// Where the key came from, when it came from a file (re-read on every reload).
    pub api_key_file: Option<PathBuf>,
    /// `None` means detect.
    pub api_version: Option<ApiVersion>,
    pub insecure_skip_verify: bool,
    pub ca_file: Option<PathBuf>,
    /// The PEM bytes read from `ca_file` at load time, so a reload sees the file as hashed.
    pub ca_pem: Option<Vec<u8>>,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl SiteConfig {
    /// `scheme://host:port/uri`, no trailing slash. Holds no secret.
    pub fn base_url(&self) -> String {
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host) // a bare IPv6 address
        } else {
            self.host.clone()
        };
        format!("{}://{}:{}{}", self.scheme.as_str(), host, self.port, self.uri)
    }

    /// The fields that identify which NetBackup server this site talks to. When they
    /// change, data collected so far belongs to another server and must be flushed.
    pub fn address(&self) -> SiteAddress {
        SiteAddress {
            scheme: self.scheme,
            host: self.host.clone(),
            port: self.port,
            uri: self.uri.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SiteAddress {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    pub uri: String,
}

/// A secret string. `Debug` and `Display` never show it; only `expose` does, and only
/// the NetBackup client calls that.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_brackets_a_bare_ipv6_host() {
        let mut site = SiteConfig {
            name: "paris".into(),
            scheme: Scheme::Https,
            host: "::1".into(),
            port: 1556,
            uri: "/netbackup".into(),
            api_key: Secret::new("k"),
            api_key_file: None,
            api_version: None,
            insecure_skip_verify: false,
            ca_file: None,
            ca_pem: None,
            timeout: std::time::Duration::from_secs(30),
        };
        assert_eq!(site.base_url(), "https://[::1]:1556/netbackup");
        site.host = "[::1]".into();
        site.scheme = Scheme::Http;
        assert_eq!(site.base_url(), "http://[::1]:1556/netbackup");
    }

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("SENTINEL-KEY");
        assert_eq!(format!("{s} {s:?}"), "<secret> <secret>");
        assert_eq!(s.expose(), "SENTINEL-KEY");
    }
}
