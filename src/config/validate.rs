//! Raw mirror -> checked [`Config`]: `${VAR}` expansion, type and range checks, defaults,
//! reading `apiKeyFile`/`caFile` through an injected reader, and warnings for accepted but
//! ignored keys. Collects every problem with its key path; never stops at the first.
//!
//! Pure: the environment and the file system come in as functions, so tests pass fakes.
//! It must not know YAML syntax (that is `raw`) nor how a config is applied.
//!
//! Secrets: no message ever holds an expanded value. Messages may quote a value as the
//! user wrote it (marked "(expanded)" when it held `${VAR}`), never for `apiKey`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use log::LevelFilter;

use super::env;
use super::model::{Config, ReloadSettings, Scheme, Secret, ServerConfig, SiteConfig};
use super::raw::{Field, InertKind, InertSetting, Leaf, RawConfig, RawReload, RawServer};
use super::raw::{RawSite, Section};
use super::{EnvLookup, Problem};
use crate::logging::LogFormat;
use crate::nbu::ApiVersion;
use crate::timefmt::parse_go_duration;

/// A file's content and, on Unix, its permission bits.
#[derive(Clone)]
pub struct FileData {
    pub bytes: Vec<u8>,
    pub mode: Option<u32>,
}

/// The content may be an API key: `Debug` shows only its length.
impl fmt::Debug for FileData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileData")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("mode", &self.mode)
            .finish()
    }
}

/// Reads a file; the error is the OS error text.
pub type ReadFile<'a> = &'a dyn Fn(&Path) -> Result<FileData, String>;

/// What validation found.
#[derive(Debug)]
pub struct Outcome {
    /// Set only when there is no problem.
    pub config: Option<Config>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Whether the file itself holds an API key (an `apiKey` that is not only `${VAR}`).
    pub inline_api_key: bool,
}

const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";
const DURATION_EXAMPLE: &str = "a duration like 30s, 5m or 1h30m";

/// Checks the raw mirror. `base_dir` resolves relative file paths (the config's directory).
pub fn validate(raw: &RawConfig, base_dir: &Path, env: EnvLookup, read_file: ReadFile) -> Outcome {
    let mut c = Checker {
        env,
        base_dir,
        read_file,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let server = c.server(&raw.server);
    let reload = c.reload(&raw.reload);
    let sites = c.sites(raw);
    for setting in &raw.inert {
        c.inert(setting);
    }
    let config = c.problems.is_empty().then_some(Config {
        server,
        reload,
        sites,
    });
    Outcome {
        config,
        problems: c.problems,
        warnings: c.warnings,
        inline_api_key: holds_inline_api_key(raw),
    }
}

fn holds_inline_api_key(raw: &RawConfig) -> bool {
    let inline = |site: &RawSite| match &site.api_key {
        Some(Leaf::Str(text)) => !text.trim().is_empty() && !env::references_only(text),
        Some(Leaf::Int(_) | Leaf::Float(_) | Leaf::Bool(_)) => true,
        _ => false,
    };
    let legacy = match &raw.nbuserver {
        Section::Present(site) => inline(site),
        _ => false,
    };
    let listed = match &raw.nbuservers {
        Section::Present(sites) => sites.iter().any(inline),
        _ => false,
    };
    legacy || listed
}

/// A scalar as written and as expanded.
struct Text {
    original: String,
    value: String,
    /// Written as a YAML string (shown quoted).
    quoted: bool,
}

impl Text {
    /// The value as the user wrote it, for messages. Never call it for a secret.
    fn shown(&self) -> String {
        let written = if self.quoted {
            quote(&self.original)
        } else {
            self.original.clone()
        };
        if self.value == self.original {
            written
        } else {
            format!("{written} (expanded)")
        }
    }
}

/// `"text"`, escaped and cut to a sane length.
fn quote(text: &str) -> String {
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{:?}", format!("{cut}..."))
    } else {
        format!("{text:?}")
    }
}

struct Checker<'a> {
    env: EnvLookup<'a>,
    base_dir: &'a Path,
    read_file: ReadFile<'a>,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Checker<'_> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    fn warn(&mut self, key: &str, message: &str) {
        self.warnings.push(format!("{key}: {message}"));
    }

    /// A scalar's text after expansion. `None` when a problem was recorded.
    fn text(&mut self, key: &str, leaf: &Leaf, expected: &str) -> Option<Text> {
        let plain = |s: String| Text {
            original: s.clone(),
            value: s,
            quoted: false,
        };
        match leaf {
            Leaf::Bool(b) => Some(plain(b.to_string())),
            Leaf::Int(i) => Some(plain(i.to_string())),
            Leaf::Float(f) => Some(plain(f.clone())),
            Leaf::Str(s) => match env::expand(s, self.env) {
                Ok(value) => Some(Text {
                    original: s.clone(),
                    value,
                    quoted: true,
                }),
                Err(missing) => {
                    self.problem(key, env::missing_message(&missing));
                    None
                }
            },
            Leaf::Null | Leaf::List(_) | Leaf::Map => {
                self.problem(key, format!("expected {expected}, got {}", leaf.kind()));
                None
            }
        }
    }

    /// An optional string: outer `None` on a problem, inner `None` when absent.
    fn opt_text(&mut self, key: &str, field: &Field, expected: &str) -> Option<Option<Text>> {
        match field {
            None => Some(None),
            Some(leaf) => self.text(key, leaf, expected).map(Some),
        }
    }

    /// A port number; `allow_zero` for the listener, where 0 asks the OS for a free port.
    fn port(&mut self, key: &str, field: &Field, default: u16, allow_zero: bool) -> Option<u16> {
        let Some(leaf) = field else {
            return Some(default);
        };
        let text = self.text(key, leaf, "a port number (integer or string)")?;
        let value = text.value.trim();
        let digits = value.strip_prefix('-').unwrap_or(value);
        if value.is_empty() {
            self.problem(key, "is empty (expected a port number)");
            return None;
        }
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            self.problem(key, format!("{} is not a port number", text.shown()));
            return None;
        }
        match value.parse::<i64>().ok().and_then(|n| u16::try_from(n).ok()) {
            Some(port) if port > 0 || allow_zero => Some(port),
            _ => {
                let low = if allow_zero { 0 } else { 1 };
                self.problem(key, format!("{} is out of range {low}-65535", text.shown()));
                None
            }
        }
    }

    /// Parses a Go duration; zero is allowed here, callers apply their own bounds.
    fn duration(&mut self, key: &str, leaf: &Leaf) -> Option<(Duration, Text)> {
        let text = self.text(key, leaf, DURATION_EXAMPLE)?;
        match parse_go_duration(&text.value) {
            Ok(d) => Some((d, text)),
            Err(message) => {
                // The message quotes the expanded text: show what the user wrote instead.
                let message = if text.value == text.original {
                    message
                } else {
                    message.replace(&format!("{:?}", text.value), &text.shown())
                };
                self.problem(key, message);
                None
            }
        }
    }

    fn positive_duration(&mut self, key: &str, field: &Field, default: Duration) -> Option<Duration> {
        let Some(leaf) = field else {
            return Some(default);
        };
        let (d, text) = self.duration(key, leaf)?;
        if d.is_zero() {
            self.problem(key, format!("{} must be greater than zero", text.shown()));
            return None;
        }
        Some(d)
    }

    fn boolean(&mut self, key: &str, field: &Field, default: bool) -> Option<bool> {
        match field {
            None => Some(default),
            Some(Leaf::Bool(b)) => Some(*b),
            Some(leaf) => {
                let text = self.text(key, leaf, "true or false")?;
                // Go's strconv.ParseBool, plus an empty `${VAR}` meaning false as in the
                // Go exporter.
                match text.value.trim() {
                    "" if text.quoted => Some(false),
                    "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
                    "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
                    _ => {
                        self.problem(
                            key,
                            format!("{} is not a boolean (expected true or false)", text.shown()),
                        );
                        None
                    }
                }
            }
        }
    }

    fn resolve(&self, file: &str) -> PathBuf {
        let path = Path::new(file);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    fn read(&mut self, key: &str, path: &Path) -> Option<FileData> {
        match (self.read_file)(path) {
            Ok(data) => Some(data),
            Err(e) => {
                self.problem(key, format!("cannot read {}: {e}", path.display()));
                None
            }
        }
    }

    fn server(&mut self, raw: &RawServer) -> ServerConfig {
        let host = match self.opt_text("server.host", &raw.host, "a host name or address") {
            Some(Some(text)) => {
                if text.value.trim().is_empty() {
                    self.problem("server.host", "is empty (use 0.0.0.0 to listen on every address)");
                } else if text.value.chars().any(char::is_whitespace) {
                    self.problem(
                        "server.host",
                        format!("{} must not contain whitespace", text.shown()),
                    );
                }
                text.value
            }
            _ => "0.0.0.0".to_owned(),
        };
        let port = self.port("server.port", &raw.port, 2112, true).unwrap_or(0);
        let uri = match self.opt_text("server.uri", &raw.uri, "a path like /metrics") {
            Some(Some(text)) => {
                if let Some(why) = metrics_path_problem(&text.value) {
                    self.problem("server.uri", format!("{} {why}", text.shown()));
                }
                text.value
            }
            _ => "/metrics".to_owned(),
        };
        let scraping_interval = self
            .positive_duration("server.scrapingInterval", &raw.scraping_interval, secs(3600))
            .unwrap_or_default();
        let collection_interval =
            self.positive_duration("server.collectionInterval", &raw.collection_interval, secs(300));
        let collection_timeout = match &raw.collection_timeout {
            None => collection_interval.map(|ci| ci.min(secs(120))),
            Some(_) => {
                let ct =
                    self.positive_duration("server.collectionTimeout", &raw.collection_timeout, secs(120));
                if let (Some(ct), Some(ci)) = (ct, collection_interval) {
                    if ct > ci {
                        self.problem(
                            "server.collectionTimeout",
                            "must not exceed server.collectionInterval (a sweep must end before the next one starts)",
                        );
                    }
                }
                ct
            }
        };
        let log_name = match self.opt_text("server.logName", &raw.log_name, "a file path") {
            Some(Some(text)) => match text.value.trim() {
                "" | "stdout" | "-" => None,
                file => Some(self.resolve(file)),
            },
            _ => None,
        };
        let log_level = match self.opt_text("server.logLevel", &raw.log_level, "a log level") {
            Some(Some(text)) => match text.value.trim().to_ascii_lowercase().as_str() {
                "error" => LevelFilter::Error,
                "warn" => LevelFilter::Warn,
                "info" => LevelFilter::Info,
                "debug" => LevelFilter::Debug,
                "trace" => LevelFilter::Trace,
                _ => {
                    self.problem(
                        "server.logLevel",
                        format!(
                            "{} is not a log level (expected error, warn, info, debug or trace)",
                            text.shown()
                        ),
                    );
                    LevelFilter::Info
                }
            },
            _ => LevelFilter::Info,
        };
        let log_format = match self.opt_text("server.logFormat", &raw.log_format, "a log format") {
            Some(Some(text)) => LogFormat::parse(&text.value).unwrap_or_else(|| {
                let shown = text.shown();
                self.problem(
                    "server.logFormat",
                    format!("{shown} is not a log format (expected logfmt or json)"),
                );
                LogFormat::Logfmt
            }),
            _ => LogFormat::Logfmt,
        };
        let enable_lifecycle = self
            .boolean("server.enableLifecycle", &raw.enable_lifecycle, false)
            .unwrap_or_default();
        if raw.cache_ttl.is_some() {
            self.positive_duration("server.cacheTTL", &raw.cache_ttl, secs(300));
            self.warn(
                "server.cacheTTL",
                "has no effect in this exporter (it sized the Go exporter's storage cache); remove it",
            );
        }
        ServerConfig {
            host,
            port,
            uri,
            scraping_interval,
            collection_interval: collection_interval.unwrap_or_default(),
            collection_timeout: collection_timeout.unwrap_or_default(),
            log_name,
            log_level,
            log_format,
            enable_lifecycle,
        }
    }

    fn reload(&mut self, raw: &RawReload) -> ReloadSettings {
        let debounce = match &raw.debounce {
            None => Some(Duration::from_millis(200)),
            Some(leaf) => match self.duration("reload.debounce", leaf) {
                Some((d, text)) if d.is_zero() => {
                    self.problem(
                        "reload.debounce",
                        format!("{} must be greater than zero", text.shown()),
                    );
                    None
                }
                Some((d, text)) if d > secs(10) => {
                    self.problem(
                        "reload.debounce",
                        format!("{} is too long (at most 10s)", text.shown()),
                    );
                    None
                }
                other => other.map(|(d, _)| d),
            },
        };
        let poll_interval = match &raw.poll_interval {
            None => Some(secs(30)),
            Some(leaf) => match self.duration("reload.pollInterval", leaf) {
                Some((d, _)) if d.is_zero() => None,
                Some((d, text)) if d < secs(1) => {
                    self.problem(
                        "reload.pollInterval",
                        format!("{} is too short (at least 1s, or 0 to disable)", text.shown()),
                    );
                    None
                }
                other => other.map(|(d, _)| d),
            },
        };
        ReloadSettings {
            debounce: debounce.unwrap_or_default(),
            poll_interval,
        }
    }

    fn sites(&mut self, raw: &RawConfig) -> Vec<SiteConfig> {
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

    /// A `collectors.*` / `opentelemetry.*` setting: shape-checked, then a warning.
    fn inert(&mut self, setting: &InertSetting) {
        let key = setting.path.as_str();
        let field = Some(setting.value.clone());
        match setting.kind {
            InertKind::Bool => {
                self.boolean(key, &field, false);
            }
            InertKind::Text => {
                self.opt_text(key, &field, "a string");
            }
            InertKind::Number => {
                if let Some(text) = self.text(key, &setting.value, "a number between 0.0 and 1.0") {
                    match text.value.trim().parse::<f64>() {
                        Ok(rate) if (0.0..=1.0).contains(&rate) => {}
                        Ok(_) => self.problem(key, format!("{} is out of range 0.0-1.0", text.shown())),
                        Err(_) => self.problem(key, format!("{} is not a number", text.shown())),
                    }
                }
            }
            InertKind::TextList => match &setting.value {
                Leaf::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.text(&format!("{key}[{i}]"), item, "a string");
                    }
                }
                other => {
                    self.problem(key, format!("expected a list of strings, got {}", other.kind()));
                }
            },
        }
        self.warn(
            key,
            "accepted for compatibility with the Go exporter, but this build does not act on it yet",
        );
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Why a metrics path is refused, or `None` when it is fine.
fn metrics_path_problem(uri: &str) -> Option<&'static str> {
    if !uri.starts_with('/') {
        Some("must start with /")
    } else if uri.chars().any(|c| c.is_whitespace() || c == '?' || c == '#') {
        Some("must be a plain path (no whitespace, ? or #)")
    } else if uri == "/" || uri == "/health" || uri.starts_with("/-/") {
        Some("is reserved for the exporter's own pages (/, /health, /-/...); use a path like /metrics")
    } else {
        None
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::{load_from_bytes, LoadError, Loaded};
    use super::*;

    const SENTINEL: &str = "SENTINEL-abc123";
    const SITE: &str = "nbuservers: [{site: paris, host: nbu.example.com, apiKey: SENTINEL-abc123}]\n";

    fn test_env(name: &str) -> Option<String> {
        let value = match name {
            "NBU_HOST" => "nbu.example.com",
            "NBU_KEY" | "PARIS_KEY" | "LONDON_KEY" | "NBU_PARIS_API_KEY" => SENTINEL,
            "NBU_PARIS_HOST" => "paris.example.com",
            "NBU_LONDON_HOST" => "london.example.com",
            "PARIS_HOST" => "paris.example.com",
            "LONDON_HOST" => "london.example.com",
            "NBU_PORT" => "1556",
            "BIG_PORT" => "70000",
            "SKIP" => "true",
            "BAD_BOOL" => "maybe",
            "EMPTY" => "",
            _ => return None,
        };
        Some(value.to_owned())
    }

    /// A directory holding the config path (not written unless asked) and key files.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Fixture {
            let fx = Fixture {
                dir: tempfile::tempdir().expect("temp dir"),
            };
            fx.write("key.txt", "SENTINEL-abc123\n", 0o600);
            fx.write("open.key", "SENTINEL-abc123", 0o644);
            fx.write("empty.key", "  \n", 0o600);
            fx.write(
                "ca.pem",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                0o644,
            );
            fx.write("bad.pem", "not a certificate\n", 0o644);
            fx
        }

        fn dir(&self) -> String {
            self.dir.path().display().to_string()
        }

        fn file(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn write(&self, name: &str, content: &str, mode: u32) {
            let path = self.file(name);
            std::fs::write(&path, content).expect("write fixture");
            set_mode(&path, mode);
        }

        fn load(&self, yaml: &str) -> Result<Loaded, LoadError> {
            let yaml = yaml.replace("{dir}", &self.dir());
            load_from_bytes(&self.file("config.yaml"), yaml.as_bytes(), &test_env)
        }
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[cfg(not(unix))]
    fn set_mode(_path: &Path, _mode: u32) {}

    /// The problems a config yields, as displayed, with the fixture dir shown as `{dir}`.
    fn problems(yaml: &str) -> Vec<String> {
        let fx = Fixture::new();
        match fx.load(yaml) {
            Ok(loaded) => vec![format!("unexpectedly valid: {:?}", loaded.config)],
            Err(e) => e
                .problems
                .iter()
                .map(|p| p.to_string().replace(&fx.dir(), "{dir}"))
                .collect(),
        }
    }

    fn check(yaml: &str, expected: &[&str]) -> Option<String> {
        let got = problems(yaml);
        assert!(
            got.iter().all(|p| !p.contains(SENTINEL)),
            "secret leaked: {got:?}"
        );
        (got != expected).then(|| format!("{yaml}\n  got:  {got:#?}\n  want: {expected:#?}\n"))
    }

    fn load_ok(fx: &Fixture, yaml: &str) -> Loaded {
        match fx.load(yaml) {
            Ok(loaded) => loaded,
            Err(e) => panic!("{yaml}\nshould load, got:\n{e}"),
        }
    }

    #[test]
    fn bad_configs_report_exact_problems() {
        let cases: &[(&str, &[&str])] = &[
            // The file as a whole.
            ("", &["config is empty (expected at least an nbuservers section)"]),
            ("# only a comment\n", &["config is empty (expected at least an nbuservers section)"]),
            (
                "server:\n  port: 2112\n  host: [a\n",
                &["invalid YAML at line 4 column 1: did not find expected ',' or ']', while parsing a flow sequence at line 3 column 9"],
            ),
            (
                "server:\n  port: 2112\n    host: a\n",
                &["invalid YAML at line 3 column 9: mapping values are not allowed in this context"],
            ),
            ("- a\n- b\n", &["expected a mapping of sections at the top level, got a list"]),
            ("server: {}\nnbuserver: ~\n", &["nbuservers: no NetBackup server configured; add at least one site under nbuservers"]),
            ("nbuservers: []\n", &["nbuservers: no NetBackup server configured; add at least one site under nbuservers"]),
            // Wrong types and shapes.
            ("server: [1]\nnbuservers: []\n", &["server: expected a mapping, got a list", "nbuservers: no NetBackup server configured; add at least one site under nbuservers"]),
            ("nbuservers: {site: paris}\n", &["nbuservers: expected a list of sites, got a mapping"]),
            ("nbuservers: [paris]\n", &["nbuservers[0]: expected a mapping, got a string"]),
            ("server: {port: [2112]}\n", &["server.port: expected a port number (integer or string), got a list"]),
            ("server: {enableLifecycle: yes}\n", &["server.enableLifecycle: \"yes\" is not a boolean (expected true or false)"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: [SENTINEL-abc123]}]\n", &["nbuservers[0].apiKey: expected a string, got a list"]),
            ("nbuservers: [{site: paris, host: {a: 1}, apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].host: expected a host name or address, got a mapping"]),
            // Ports, as integers and as strings.
            ("server: {port: 70000}\n", &["server.port: 70000 is out of range 0-65535"]),
            ("nbuservers: [{site: paris, host: nbu, port: 0, apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].port: 0 is out of range 1-65535"]),
            ("server: {port: -1}\n", &["server.port: -1 is out of range 0-65535"]),
            ("nbuservers: [{site: paris, host: nbu, port: \"70000\", apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].port: \"70000\" is out of range 1-65535"]),
            ("nbuservers: [{site: paris, host: nbu, port: \"15x6\", apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].port: \"15x6\" is not a port number"]),
            ("nbuservers: [{site: paris, host: nbu, port: \"${BIG_PORT}\", apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].port: \"${BIG_PORT}\" (expanded) is out of range 1-65535"]),
            ("server: {port: 21.5}\n", &["server.port: 21.5 is not a port number"]),
            // Unknown keys, with and without a hint.
            ("server: {colectionInterval: 5m}\n", &["server.colectionInterval: unknown key (did you mean `collectionInterval`?)"]),
            ("server: {banana: 1}\n", &["server.banana: unknown key"]),
            (
                "nbuserverz: []\n",
                &[
                    "nbuserverz: unknown key (did you mean `nbuserver`?)",
                    "nbuservers: no NetBackup server configured; add at least one site under nbuservers",
                ],
            ),
            (
                "nbuservers: [{site: paris, host: nbu, apikey: SENTINEL-abc123}]\n",
                &[
                    "nbuservers[0].apikey: unknown key (did you mean `apiKey`?)",
                    "nbuservers[0].apiKey: is required (or set apiKeyFile)",
                ],
            ),
            ("collectors: {alerts: {enable: true}}\n", &["collectors.alerts.enable: unknown key (did you mean `enabled`?)"]),
            ("collectors: {perClient: {allowList: [a]}}\n", &["collectors.perClient.allowList: unknown key (did you mean `allowlist`?)"]),
            ("opentelemetry: {sampling_rate: 0.1, exporter: x}\n", &["opentelemetry.sampling_rate: unknown key (did you mean `samplingRate`?)", "opentelemetry.exporter: unknown key"]),
            // Collectors and opentelemetry values.
            ("opentelemetry: {samplingRate: 2.0}\n", &["opentelemetry.samplingRate: 2.0 is out of range 0.0-1.0"]),
            ("opentelemetry: {enabled: \"${NOPE}\"}\n", &["opentelemetry.enabled: environment variable NOPE is not set"]),
            ("collectors: {perClient: {allowlist: client1}}\n", &["collectors.perClient.allowlist: expected a list of strings, got a string"]),
            ("collectors: {perClient: {allowlist: [a, [b]]}}\n", &["collectors.perClient.allowlist[1]: expected a string, got a list"]),
            // Sites.
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
            // Regression: an endless or huge file must not exhaust memory.
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
            ("nbuservers: [{site: paris, host: nbu, apiKey: SENTINEL-abc123, insecureSkipVerify: maybe}]\n", &["nbuservers[0].insecureSkipVerify: \"maybe\" is not a boolean (expected true or false)"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: SENTINEL-abc123, insecureSkipVerify: \"${BAD_BOOL}\"}]\n", &["nbuservers[0].insecureSkipVerify: \"${BAD_BOOL}\" (expanded) is not a boolean (expected true or false)"]),
            // ${VAR} references.
            ("nbuservers: [{site: paris, host: \"${NBU_NOPE}\", apiKey: SENTINEL-abc123}]\n", &["nbuservers[0].host: environment variable NBU_NOPE is not set"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: \"${KEY_A}-${KEY_B}\"}]\n", &["nbuservers[0].apiKey: environment variables KEY_A, KEY_B are not set"]),
            ("server: {logName: \"${LOG_DIR}/x.log\"}\n", &["server.logName: environment variable LOG_DIR is not set"]),
            // Durations.
            ("server: {scrapingInterval: 1 hour}\n", &["server.scrapingInterval: \"1 hour\" is not a duration (expected a value like 30s, 5m or 1h30m)"]),
            ("server: {collectionInterval: 0s}\n", &["server.collectionInterval: \"0s\" must be greater than zero"]),
            ("server: {collectionInterval: 300}\n", &["server.collectionInterval: \"300\" is not a duration (expected a value like 30s, 5m or 1h30m)"]),
            ("nbuservers: [{site: paris, host: nbu, apiKey: SENTINEL-abc123, timeout: -5s}]\n", &["nbuservers[0].timeout: \"-5s\" is negative (expected a value like 30s, 5m or 1h30m)"]),
            ("server: {collectionInterval: 5m, collectionTimeout: 10m}\n", &["server.collectionTimeout: must not exceed server.collectionInterval (a sweep must end before the next one starts)"]),
            ("server: {cacheTTL: soon}\n", &["server.cacheTTL: \"soon\" is not a duration (expected a value like 30s, 5m or 1h30m)"]),
            ("reload: {debounce: 30s}\n", &["reload.debounce: \"30s\" is too long (at most 10s)"]),
            ("reload: {debounce: 0}\n", &["reload.debounce: 0 must be greater than zero"]),
            ("reload: {pollInterval: 500ms}\n", &["reload.pollInterval: \"500ms\" is too short (at least 1s, or 0 to disable)"]),
            ("reload: {pollIntervall: 1m}\n", &["reload.pollIntervall: unknown key (did you mean `pollInterval`?)"]),
            // Server keys.
            ("server: {uri: metrics}\n", &["server.uri: \"metrics\" must start with /"]),
            ("server: {uri: /health}\n", &["server.uri: \"/health\" is reserved for the exporter's own pages (/, /health, /-/...); use a path like /metrics"]),
            ("server: {uri: /-/metrics}\n", &["server.uri: \"/-/metrics\" is reserved for the exporter's own pages (/, /health, /-/...); use a path like /metrics"]),
            ("server: {logLevel: verbose}\n", &["server.logLevel: \"verbose\" is not a log level (expected error, warn, info, debug or trace)"]),
            ("server: {logFormat: text}\n", &["server.logFormat: \"text\" is not a log format (expected logfmt or json)"]),
        ];
        let mut failures = Vec::new();
        for (yaml, want) in cases {
            // Problems outside the site list get a valid site so that they stand alone.
            let whole_file = want.iter().any(|w| {
                w.starts_with("invalid YAML")
                    || w.starts_with("config is empty")
                    || w.starts_with("expected a mapping of sections")
            });
            let yaml = if whole_file || yaml.contains("nbuserver") {
                yaml.to_string()
            } else {
                format!("{yaml}{SITE}")
            };
            failures.extend(check(&yaml, want));
        }
        assert!(cases.len() >= 35);
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// Problems no other table reaches (found by measuring coverage), each with its text.
    #[test]
    fn less_common_problems() {
        let fx = Fixture::new();
        std::fs::write(fx.file("latin1.key"), b"caf\xe9\n").expect("write key");
        set_mode(&fx.file("latin1.key"), 0o600);
        let cases: &[(&str, &[&str])] = &[
            ("server: {host: \" \"}\n", &["server.host: is empty (use 0.0.0.0 to listen on every address)"]),
            ("server: {host: \"a b\"}\n", &["server.host: \"a b\" must not contain whitespace"]),
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
            ("server: {port: 18446744073709551615}\n", &["server.port: 18446744073709551615 is out of range 0-65535"]),
            ("true: 1\n", &["true: unknown key"]),
            (
                "nbuservers: [{site: paris, host: nbu, apiKey: 12345, port: \"\"}]\n",
                &["nbuservers[0].port: is empty (expected a port number)"],
            ),
            ("server: {uri: \"/a b\"}\n", &["server.uri: \"/a b\" must be a plain path (no whitespace, ? or #)"]),
            (
                "collectors: {perClient: {allowlist: [a, ~]}}\n",
                &["collectors.perClient.allowlist[1]: expected a string, got null"],
            ),
        ];
        let mut failures = Vec::new();
        for (yaml, want) in cases {
            let yaml = if yaml.contains("nbuserver") {
                yaml.to_string()
            } else {
                format!("{yaml}{SITE}")
            };
            let got: Vec<String> = match fx.load(&yaml) {
                Ok(_) => vec!["valid".to_owned()],
                Err(e) => e
                    .problems
                    .iter()
                    .map(|p| p.to_string().replace(&fx.dir(), "{dir}"))
                    .collect(),
            };
            if got != *want {
                failures.push(format!("{yaml}\n  got:  {got:#?}\n  want: {want:#?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn summary_counts_several_warnings() {
        let fx = Fixture::new();
        let yaml = "server: {cacheTTL: 5m}\nnbuservers: [{site: paris, host: h, apiKey: k, domain: d}]\n";
        let line = super::super::summary(&load_ok(&fx, yaml));
        assert!(line.ends_with(", 2 warnings"), "{line}");
    }

    #[test]
    fn file_data_debug_shows_only_the_length() {
        let data = FileData {
            bytes: SENTINEL.as_bytes().to_vec(),
            mode: Some(0o600),
        };
        assert_eq!(
            format!("{data:?}"),
            "FileData { bytes: <15 bytes>, mode: Some(384) }"
        );
    }

    #[test]
    fn a_config_path_without_a_directory_resolves_against_the_current_one() {
        let yaml = "nbuservers: [{site: paris, host: nbu, apiKeyFile: no-such.key}]\n";
        let e =
            load_from_bytes(Path::new("config.yaml"), yaml.as_bytes(), &test_env).expect_err("no key file");
        assert_eq!(e.problems.len(), 1);
        assert!(
            e.problems[0]
                .to_string()
                .starts_with("nbuservers[0].apiKeyFile: cannot read ./no-such.key: "),
            "{e}"
        );
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let yaml = "\
server:
  port: 99999
  colectionInterval: 5m
  logLevel: loud
reload:
  debounce: 1m
nbuservers:
  - site: paris
    host: \"${NOPE}\"
    apiKey: SENTINEL-abc123
    port: abc
  - site: paris
    scheme: ftp
    apiKeyFile: missing.key
";
        let want = [
            "server.colectionInterval: unknown key (did you mean `collectionInterval`?)",
            "server.port: 99999 is out of range 0-65535",
            "server.logLevel: \"loud\" is not a log level (expected error, warn, info, debug or trace)",
            "reload.debounce: \"1m\" is too long (at most 10s)",
            "nbuservers[0].host: environment variable NOPE is not set",
            "nbuservers[0].port: \"abc\" is not a port number",
            "nbuservers[1].host: is required",
            "nbuservers[1].scheme: \"ftp\" is not a scheme (expected http or https)",
            "nbuservers[1].apiKeyFile: cannot read {dir}/missing.key: No such file or directory (os error 2)",
            "nbuservers[1].site: duplicate site name \"paris\" (already used by nbuservers[0])",
        ];
        assert_eq!(check(yaml, &want), None);

        let yaml = "\
nbuservers:
  - {site: a, host: h, apiKey: SENTINEL-abc123, apiVersion: \"9.9\", timeout: 0s}
  - {site: b, host: h, apiKey: SENTINEL-abc123, apiKeyFile: key.txt, caFile: bad.pem}
  - {site: \"\", host: h, apiKeyFile: empty.key, insecureSkipVerify: 2}
";
        let want = [
            "nbuservers[0].apiVersion: \"9.9\" is not supported (expected 14.0, 13.0, 12.0 or 10.0, or leave it empty to detect)",
            "nbuservers[0].timeout: \"0s\" must be greater than zero",
            "nbuservers[1]: set either apiKey or apiKeyFile, not both",
            "nbuservers[1].caFile: {dir}/bad.pem holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)",
            "nbuservers[2].site: \"\" is not a valid site name (1-64 characters from A-Z a-z 0-9 . _ : -)",
            "nbuservers[2].apiKeyFile: {dir}/empty.key is empty",
            "nbuservers[2].insecureSkipVerify: 2 is not a boolean (expected true or false)",
        ];
        assert_eq!(check(yaml, &want), None);
    }

    #[test]
    fn go_exporter_shipped_config_loads_with_warnings() {
        let fx = Fixture::new();
        let yaml = r#"---
server:
    host: "localhost"
    port: "2112"
    uri: "/metrics"
    scrapingInterval: "1h"  # Changed from scrappingInterval (typo fix)
    logName: "log/nbu-exporter.log"
    cacheTTL: "5m"
nbuserver:
    scheme: "https"
    uri: "/netbackup"
    domain: "my.domain"
    domainType: "NT"
    host: "master.my.domain"
    port: "1556"
    apiVersion: "13.0"
    apiKey: "SENTINEL-abc123"
    contentType: "application/vnd.netbackup+json; version=13.0"
    insecureSkipVerify: "${SKIP}"
collectors:
    alerts:
        enabled: false
    perClient:
        enabled: true
        allowlist: ["client1", "client2"]
opentelemetry:
    enabled: false
    endpoint: "localhost:4317"
    insecure: true
    samplingRate: 0.1
"#;
        let loaded = load_ok(&fx, yaml);
        let inert = "accepted for compatibility with the Go exporter, but this build does not act on it yet";
        let deprecated = "deprecated and ignored (the Go exporter never used it either); remove it";
        let want: Vec<String> = vec![
            "server.cacheTTL: has no effect in this exporter (it sized the Go exporter's storage cache); remove it".into(),
            "nbuserver: deprecated; move it into the nbuservers list (with a site name)".into(),
            format!("nbuserver.domain: {deprecated}"),
            format!("nbuserver.domainType: {deprecated}"),
            format!("nbuserver.contentType: {deprecated}"),
            format!("collectors.alerts.enabled: {inert}"),
            format!("collectors.perClient.enabled: {inert}"),
            format!("collectors.perClient.allowlist: {inert}"),
            format!("opentelemetry.enabled: {inert}"),
            format!("opentelemetry.endpoint: {inert}"),
            format!("opentelemetry.insecure: {inert}"),
            format!("opentelemetry.samplingRate: {inert}"),
        ];
        assert_eq!(loaded.warnings, want);
        let c = &loaded.config;
        assert_eq!(c.server.host, "localhost");
        assert_eq!(c.server.port, 2112);
        assert_eq!(c.server.scraping_interval, secs(3600));
        assert_eq!(c.server.log_name, Some(fx.file("log/nbu-exporter.log")));
        let site = &c.sites[0];
        assert_eq!(c.sites.len(), 1);
        assert_eq!(site.name, "master.my.domain");
        assert_eq!(site.base_url(), "https://master.my.domain:1556/netbackup");
        assert_eq!(site.api_version, Some(ApiVersion::V13_0));
        assert_eq!(site.api_key.expose(), SENTINEL);
        assert!(site.insecure_skip_verify);
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
    fn defaults() {
        let fx = Fixture::new();
        let loaded = load_ok(&fx, SITE);
        let want = Config {
            server: ServerConfig {
                host: "0.0.0.0".into(),
                port: 2112,
                uri: "/metrics".into(),
                scraping_interval: secs(3600),
                collection_interval: secs(300),
                collection_timeout: secs(120),
                log_name: None,
                log_level: LevelFilter::Info,
                log_format: LogFormat::Logfmt,
                enable_lifecycle: false,
            },
            reload: ReloadSettings {
                debounce: Duration::from_millis(200),
                poll_interval: Some(secs(30)),
            },
            sites: vec![SiteConfig {
                name: "paris".into(),
                scheme: Scheme::Https,
                host: "nbu.example.com".into(),
                port: 1556,
                uri: "/netbackup".into(),
                api_key: Secret::new(SENTINEL),
                api_key_file: None,
                api_version: None,
                insecure_skip_verify: false,
                ca_file: None,
                ca_pem: None,
                timeout: secs(30),
            }],
        };
        assert_eq!(loaded.config, want);
        assert!(loaded.warnings.is_empty());

        // A short collection interval bounds the default timeout; 0 disables polling.
        let yaml = format!(
            "server: {{collectionInterval: 30s, logName: stdout, logLevel: DEBUG, logFormat: JSON}}\nreload: {{pollInterval: 0}}\n{SITE}"
        );
        let c = load_ok(&fx, &yaml).config;
        assert_eq!(c.server.collection_timeout, secs(30));
        assert_eq!(c.server.log_name, None);
        assert_eq!(c.server.log_level, LevelFilter::Debug);
        assert_eq!(c.server.log_format, LogFormat::Json);
        assert_eq!(c.reload.poll_interval, None);
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

    #[cfg(unix)]
    #[test]
    fn readable_secrets_are_warned_about() {
        use super::super::load;
        let fx = Fixture::new();
        let config = fx.file("config.yaml");
        let dir = fx.dir();

        fx.write("config.yaml", SITE, 0o644);
        let loaded = load(&config, &test_env).expect("loads");
        assert_eq!(
            loaded.warnings,
            [format!(
                "{dir}/config.yaml is readable by other users (mode 0644) and holds an API key; chmod o-r it (0640 with the service's group, or 0600)"
            )]
        );

        fx.write("config.yaml", SITE, 0o600);
        assert!(load(&config, &test_env).expect("loads").warnings.is_empty());

        let by_reference = "nbuservers: [{site: paris, host: nbu, apiKey: \"${NBU_KEY}\"}]\n";
        fx.write("config.yaml", by_reference, 0o644);
        assert!(load(&config, &test_env).expect("loads").warnings.is_empty());

        let open_key_file = "nbuservers: [{site: paris, host: nbu, apiKeyFile: open.key}]\n";
        fx.write("config.yaml", open_key_file, 0o644);
        assert_eq!(
            load(&config, &test_env).expect("loads").warnings,
            [format!(
                "nbuservers[0].apiKeyFile: {dir}/open.key is readable by other users (mode 0644); chmod o-r it (0640 with the service's group, or 0600)"
            )]
        );
    }

    #[test]
    fn the_sentinel_key_never_shows() {
        let fx = Fixture::new();
        let bad = [
            "nbuservers: [{site: paris, host: \"${NOPE}\", apiKey: SENTINEL-abc123, port: 0}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: \"SENTINEL-abc123${NOPE}\"}]\n",
            "nbuservers: [{site: paris, host: h, apikey: SENTINEL-abc123}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123, apiKeyFile: key.txt}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: [SENTINEL-abc123]}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: {SENTINEL-abc123: 1}}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123, apiKey: SENTINEL-abc123}]\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123}]\nserver: {port: \"${NBU_KEY}\"}\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123}]\nserver: {scrapingInterval: \"${NBU_KEY}\"}\n",
            "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc123, insecureSkipVerify: \"${NBU_KEY}\"}]\n",
        ];
        for yaml in bad {
            let e = fx.load(yaml).expect_err(yaml);
            let shown = format!("{e}\n{e:?}");
            assert!(!shown.contains(SENTINEL), "{yaml}\n{shown}");
        }
        let good = [
            SITE,
            "nbuservers: [{site: paris, host: h, apiKeyFile: key.txt, domain: SENTINEL-abc123}]\n",
            "nbuserver: {host: h, apiKey: \"${NBU_KEY}\"}\n",
        ];
        for yaml in good {
            let loaded = load_ok(&fx, yaml);
            assert_eq!(loaded.config.sites[0].api_key.expose(), SENTINEL);
            let shown = format!(
                "{loaded:?}\n{:?}\n{}",
                loaded.warnings,
                super::super::summary(&loaded)
            );
            assert!(!shown.contains(SENTINEL), "{yaml}\n{shown}");
        }
    }

    #[test]
    fn sha256_follows_the_config_and_its_files() {
        let fx = Fixture::new();
        let yaml = "nbuservers: [{site: paris, host: h, apiKeyFile: key.txt, caFile: ca.pem}]\n";
        let first = load_ok(&fx, yaml);
        assert_eq!(load_ok(&fx, yaml).sha256, first.sha256);
        assert_eq!(first.sha256_hex().len(), 64);
        assert_eq!(first.sha256_short(), first.sha256_hex()[..12]);

        fx.write("key.txt", "ROTATED\n", 0o600);
        let rotated = load_ok(&fx, yaml);
        assert_ne!(rotated.sha256, first.sha256);

        fx.write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIC\n", 0o644);
        assert_ne!(load_ok(&fx, yaml).sha256, rotated.sha256);

        let spaced = format!("{yaml}\n");
        assert_ne!(load_ok(&fx, &spaced).sha256, load_ok(&fx, yaml).sha256);
    }

    #[test]
    fn load_error_and_summary_text() {
        let fx = Fixture::new();
        let e = fx
            .load("server: {port: 70000, banana: 1}\nnbuservers: []\n")
            .expect_err("invalid");
        let path = fx.file("config.yaml").display().to_string();
        assert_eq!(
            e.to_string(),
            format!(
                "{path}: server.banana: unknown key\n{path}: server.port: 70000 is out of range 0-65535\n{path}: nbuservers: no NetBackup server configured; add at least one site under nbuservers"
            )
        );
        let missing = fx.file("nope.yaml");
        let e = super::super::load(&missing, &test_env).expect_err("missing");
        assert_eq!(
            e.to_string(),
            format!(
                "{}: cannot read: No such file or directory (os error 2)",
                missing.display()
            )
        );

        let yaml = "nbuservers:\n- {site: paris, host: a, apiKey: k}\n- {site: london, host: b, apiKey: k}\n";
        let loaded = load_ok(&fx, yaml);
        let want = format!(
            "config OK: 2 sites (paris, london), listening on 0.0.0.0:2112/metrics, sha256 {}",
            loaded.sha256_short()
        );
        assert_eq!(super::super::summary(&loaded), want);
        let yaml = "server: {host: \"::\", cacheTTL: 5m}\nnbuservers: [{site: paris, host: a, apiKey: k}]\n";
        let line = super::super::summary(&load_ok(&fx, yaml));
        assert!(line.starts_with("config OK: 1 site (paris), listening on [::]:2112/metrics, sha256 "));
        assert!(line.ends_with(", 1 warning"), "{line}");
    }

    #[test]
    fn the_example_config_loads() {
        let fx = Fixture::new();
        let example = include_str!("../../config.example.yaml").replace(
            "/etc/nbu-exporter/london.key",
            &fx.file("key.txt").display().to_string(),
        );
        let loaded = load_ok(&fx, &example);
        let names: Vec<&str> = loaded.config.sites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["paris", "london"]);
        assert!(loaded.config.sites.iter().all(|s| s.api_key.expose() == SENTINEL));
        assert_eq!(loaded.warnings, Vec::<String>::new());
    }

    #[test]
    fn never_panics_on_odd_input() {
        let fx = Fixture::new();
        let path = fx.file("config.yaml");
        let mut inputs: Vec<Vec<u8>> = vec![
            "[".repeat(100_000).into_bytes(),
            "{a: ".repeat(10_000).into_bytes(),
            (0..2000).map(|i| format!("{}a:\n", " ".repeat(i))).collect::<String>().into_bytes(),
            format!("nbuservers: {}", "[".repeat(5000)).into_bytes(),
            b"a: &a [*a]\n".to_vec(),
            b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n".to_vec(),
            b"\xff\xfe\x00garbage".to_vec(),
            b"nbuservers: [{<<: 1}]\n".to_vec(),
            b"server: !!binary aGVsbG8=\n".to_vec(),
            b"? !t {a: 1}\n: 2\n".to_vec(),
            format!("nbuservers: [{{site: \"{}\", host: h, apiKey: k}}]\n", "\u{1F600}".repeat(100)).into_bytes(),
        ];
        // A small deterministic generator of YAML-ish noise.
        let pieces: &[&str] = &[
            "server",
            "nbuservers",
            "nbuserver",
            ":",
            " ",
            "\n",
            "- ",
            "[",
            "]",
            "{",
            "}",
            ",",
            "port",
            "host",
            "apiKey",
            "site",
            "\"",
            "'",
            "${",
            "NBU_KEY",
            "}",
            "$$",
            "1556",
            "70000",
            "-1",
            "5m",
            "0s",
            "&a ",
            "*a",
            "!!str ",
            "<<: ",
            "#",
            "\t",
            "~",
            "1e999",
            "reload",
            "debounce",
            "collectors",
            "alerts",
            "enabled",
            "true",
            "caFile",
            "..",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..1500 {
            let len = (next() % 40) as usize;
            let mut text = String::new();
            for _ in 0..len {
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            inputs.push(text.into_bytes());
        }
        for input in &inputs {
            let _ = load_from_bytes(&path, input, &test_env);
        }
    }
}
