//! The `server:` section: the listener (host, port, metrics path), the collection cadence,
//! logging and the lifecycle switch, each with its default.
//!
//! It must not know how the listener is bound or the logger set up; it only checks and
//! fills in [`ServerConfig`].

use std::path::PathBuf;
use std::time::Duration;

use log::LevelFilter;

use super::super::model::ServerConfig;
use super::super::raw::{Field, RawServer};
use super::{secs, Checker};
use crate::logging::LogFormat;

impl Checker<'_> {
    pub(super) fn server(&mut self, raw: &RawServer) -> ServerConfig {
        let host = self.listen_host(&raw.host);
        let port = self.port("server.port", &raw.port, 2112, true).unwrap_or(0);
        let uri = self.metrics_uri(&raw.uri);
        let scraping_interval = self
            .positive_duration("server.scrapingInterval", &raw.scraping_interval, secs(3600))
            .unwrap_or_default();
        let jobs_resync_interval = match &raw.jobs_resync_interval {
            None => secs(3600),
            Some(leaf) => self
                .duration("server.jobsResyncInterval", leaf)
                .map(|(d, _)| d)
                .unwrap_or_default(),
        };
        let (collection_interval, collection_timeout) = self.collection_cadence(raw);
        let log_name = self.log_name(&raw.log_name);
        let log_level = self.log_level(&raw.log_level);
        let log_format = self.log_format(&raw.log_format);
        let enable_lifecycle = self
            .boolean("server.enableLifecycle", &raw.enable_lifecycle, false)
            .unwrap_or_default();
        let web_config_file = self.web_config_file(&raw.web_config_file);
        self.cache_ttl(&raw.cache_ttl);
        ServerConfig {
            host,
            port,
            uri,
            scraping_interval,
            jobs_resync_interval,
            collection_interval,
            collection_timeout,
            log_name,
            log_level,
            log_format,
            enable_lifecycle,
            web_config_file,
            web: None,
        }
    }

    /// `server.webConfigFile`: a path, resolved against the config's directory. The file
    /// itself is read and checked after validation (`config::web`).
    fn web_config_file(&mut self, field: &Field) -> Option<PathBuf> {
        match self.opt_text("server.webConfigFile", field, "a file path") {
            Some(Some(text)) if !text.value.trim().is_empty() => Some(self.resolve(text.value.trim())),
            _ => None,
        }
    }

    fn listen_host(&mut self, field: &Field) -> String {
        match self.opt_text("server.host", field, "a host name or address") {
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
        }
    }

    fn metrics_uri(&mut self, field: &Field) -> String {
        match self.opt_text("server.uri", field, "a path like /metrics") {
            Some(Some(text)) => {
                if let Some(why) = metrics_path_problem(&text.value) {
                    self.problem("server.uri", format!("{} {why}", text.shown()));
                }
                text.value
            }
            _ => "/metrics".to_owned(),
        }
    }

    /// `collectionInterval` and `collectionTimeout`. An unset timeout is 2 minutes, cut to
    /// the interval; a set one must fit in it, so a sweep ends before the next starts.
    fn collection_cadence(&mut self, raw: &RawServer) -> (Duration, Duration) {
        let interval =
            self.positive_duration("server.collectionInterval", &raw.collection_interval, secs(300));
        let timeout = match &raw.collection_timeout {
            None => interval.map(|ci| ci.min(secs(120))),
            Some(_) => {
                let ct =
                    self.positive_duration("server.collectionTimeout", &raw.collection_timeout, secs(120));
                if let (Some(ct), Some(ci)) = (ct, interval) {
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
        (interval.unwrap_or_default(), timeout.unwrap_or_default())
    }

    /// The log file, relative to the config's directory; `None` for standard output.
    fn log_name(&mut self, field: &Field) -> Option<PathBuf> {
        match self.opt_text("server.logName", field, "a file path") {
            Some(Some(text)) => match text.value.trim() {
                "" | "stdout" | "-" => None,
                file => Some(self.resolve(file)),
            },
            _ => None,
        }
    }

    fn log_format(&mut self, field: &Field) -> LogFormat {
        match self.opt_text("server.logFormat", field, "a log format") {
            Some(Some(text)) => LogFormat::parse(&text.value).unwrap_or_else(|| {
                let shown = text.shown();
                self.problem(
                    "server.logFormat",
                    format!("{shown} is not a log format (expected logfmt or json)"),
                );
                LogFormat::Logfmt
            }),
            _ => LogFormat::Logfmt,
        }
    }

    fn log_level(&mut self, field: &Field) -> LevelFilter {
        match self.opt_text("server.logLevel", field, "a log level") {
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
        }
    }

    /// The Go exporter's `cacheTTL`: checked as a duration, then warned about.
    fn cache_ttl(&mut self, field: &Field) {
        if field.is_some() {
            self.positive_duration("server.cacheTTL", field, secs(300));
            self.warn(
                "server.cacheTTL",
                "has no effect in this exporter (it sized the Go exporter's storage cache); remove it",
            );
        }
    }
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

#[cfg(test)]
mod tests {
    use super::super::test_support::check_table;

    #[test]
    fn bad_values_report_exact_problems() {
        let cases: &[(&str, &[&str])] = &[
            ("server: {host: \" \"}\n", &["server.host: is empty (use 0.0.0.0 to listen on every address)"]),
            ("server: {host: \"a b\"}\n", &["server.host: \"a b\" must not contain whitespace"]),
            ("server: {uri: metrics}\n", &["server.uri: \"metrics\" must start with /"]),
            ("server: {uri: /health}\n", &["server.uri: \"/health\" is reserved for the exporter's own pages (/, /health, /-/...); use a path like /metrics"]),
            ("server: {uri: /-/metrics}\n", &["server.uri: \"/-/metrics\" is reserved for the exporter's own pages (/, /health, /-/...); use a path like /metrics"]),
            ("server: {uri: \"/a b\"}\n", &["server.uri: \"/a b\" must be a plain path (no whitespace, ? or #)"]),
            ("server: {collectionInterval: 5m, collectionTimeout: 10m}\n", &["server.collectionTimeout: must not exceed server.collectionInterval (a sweep must end before the next one starts)"]),
            ("server: {logLevel: verbose}\n", &["server.logLevel: \"verbose\" is not a log level (expected error, warn, info, debug or trace)"]),
            ("server: {logFormat: text}\n", &["server.logFormat: \"text\" is not a log format (expected logfmt or json)"]),
            ("server: {jobsResyncInterval: hourly}\n", &["server.jobsResyncInterval: \"hourly\" is not a duration (expected a value like 30s, 5m or 1h30m)"]),
        ];
        check_table(cases);
    }

    #[test]
    fn jobs_resync_interval_takes_zero() {
        use super::super::secs;
        use super::super::test_support::{load_ok, Fixture, SITE};
        let fx = Fixture::new();
        for (server, want) in [
            ("", secs(3600)),
            ("server: {jobsResyncInterval: 0s}\n", secs(0)),
            ("server: {jobsResyncInterval: 6h}\n", secs(6 * 3600)),
        ] {
            let loaded = load_ok(&fx, &format!("{server}{SITE}"));
            assert_eq!(loaded.config.server.jobs_resync_interval, want, "{server}");
        }
    }
}
