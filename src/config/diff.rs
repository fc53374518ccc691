//! Old [`Config`] vs new [`Config`] -> the names of the keys that changed, in the YAML
//! spelling (`server.logLevel`, `nbuservers[paris].apiKey`). Sites are matched by name.
//!
//! Only key names, never values: a change set is logged and shown on the status page, and
//! a secret must not leak through it. It must not know how a change is applied.

use std::fmt;

use super::model::{CollectorKey, CollectorsConfig, Config, ReloadSettings, ServerConfig, SiteConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    pub kind: ChangeKind,
}

/// The changes from one config to the next: server keys, reload keys, then sites (changed
/// or removed in the old order, then added in the new order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn keys(&self) -> Vec<String> {
        self.changes.iter().map(|c| c.key.clone()).collect()
    }
}

/// `nbuservers[paris].apiKey,server.logLevel,nbuservers[rome](added)`; empty when nothing
/// changed.
impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, change) in self.changes.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&change.key)?;
            match change.kind {
                ChangeKind::Changed => {}
                ChangeKind::Added => f.write_str("(added)")?,
                ChangeKind::Removed => f.write_str("(removed)")?,
            }
        }
        Ok(())
    }
}

/// What changed from `old` to `new`. `diff(c, c)` is empty.
pub fn diff(old: &Config, new: &Config) -> ChangeSet {
    let mut out = Changes::default();
    server(&mut out, &old.server, &new.server);
    reload(&mut out, &old.reload, &new.reload);
    for before in &old.sites {
        let prefix = format!("nbuservers[{}]", before.name);
        match new.sites.iter().find(|s| s.name == before.name) {
            Some(after) => site(&mut out, &prefix, before, after),
            None => out.push(prefix, ChangeKind::Removed),
        }
    }
    for after in &new.sites {
        if !old.sites.iter().any(|s| s.name == after.name) {
            out.push(format!("nbuservers[{}]", after.name), ChangeKind::Added);
        }
    }
    collectors(&mut out, &old.collectors, &new.collectors);
    ChangeSet { changes: out.0 }
}

fn collectors(out: &mut Changes, old: &CollectorsConfig, new: &CollectorsConfig) {
    for key in CollectorKey::ALL {
        let p = format!("collectors.{}", key.name());
        let (before, after) = (old.get(key), new.get(key));
        out.field(&p, "enabled", before.enabled, after.enabled);
        out.field(&p, "interval", before.interval, after.interval);
        if matches!(key, CollectorKey::Malware | CollectorKey::Catalog) {
            out.field(&p, "window", before.window, after.window);
        }
    }
    out.field(
        "collectors.perClient",
        "allowlist",
        &old.allowlist,
        &new.allowlist,
    );
}

#[derive(Default)]
struct Changes(Vec<Change>);

impl Changes {
    fn push(&mut self, key: String, kind: ChangeKind) {
        self.0.push(Change { key, kind });
    }

    fn field<T: PartialEq>(&mut self, prefix: &str, name: &str, old: T, new: T) {
        if old != new {
            self.push(format!("{prefix}.{name}"), ChangeKind::Changed);
        }
    }
}

fn server(out: &mut Changes, old: &ServerConfig, new: &ServerConfig) {
    let p = "server";
    out.field(p, "host", &old.host, &new.host);
    out.field(p, "port", old.port, new.port);
    out.field(p, "uri", &old.uri, &new.uri);
    out.field(
        p,
        "scrapingInterval",
        old.scraping_interval,
        new.scraping_interval,
    );
    out.field(
        p,
        "jobsResyncInterval",
        old.jobs_resync_interval,
        new.jobs_resync_interval,
    );
    out.field(
        p,
        "collectionInterval",
        old.collection_interval,
        new.collection_interval,
    );
    out.field(
        p,
        "collectionTimeout",
        old.collection_timeout,
        new.collection_timeout,
    );
    out.field(p, "logName", &old.log_name, &new.log_name);
    out.field(p, "logLevel", old.log_level, new.log_level);
    out.field(p, "logFormat", old.log_format, new.log_format);
    out.field(p, "enableLifecycle", old.enable_lifecycle, new.enable_lifecycle);
    // The path or the content of the web config (or of a file it names).
    out.field(
        p,
        "webConfigFile",
        (&old.web_config_file, &old.web),
        (&new.web_config_file, &new.web),
    );
}

fn reload(out: &mut Changes, old: &ReloadSettings, new: &ReloadSettings) {
    out.field("reload", "debounce", old.debounce, new.debounce);
    out.field("reload", "pollInterval", old.poll_interval, new.poll_interval);
}

fn site(out: &mut Changes, p: &str, old: &SiteConfig, new: &SiteConfig) {
    out.field(p, "scheme", old.scheme, new.scheme);
    out.field(p, "host", &old.host, &new.host);
    out.field(p, "port", old.port, new.port);
    out.field(p, "uri", &old.uri, &new.uri);
    // Compares the values; only the key name ever leaves this function.
    out.field(p, "apiKey", old.api_key.expose(), new.api_key.expose());
    out.field(p, "apiKeyFile", &old.api_key_file, &new.api_key_file);
    out.field(p, "apiVersion", old.api_version, new.api_version);
    out.field(
        p,
        "insecureSkipVerify",
        old.insecure_skip_verify,
        new.insecure_skip_verify,
    );
    // A new certificate in the same file is a change too.
    out.field(
        p,
        "caFile",
        (&old.ca_file, &old.ca_pem),
        (&new.ca_file, &new.ca_pem),
    );
    out.field(p, "timeout", old.timeout, new.timeout);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{load_from_bytes, Config};
    use super::*;

    const SENTINEL: &str = "SENTINEL-abc123";

    const BASE: &str = "\
server: {port: 2112, logLevel: info}
reload: {debounce: 200ms}
nbuservers:
  - {site: paris, host: paris.example.com, apiKey: SENTINEL-abc123}
  - {site: london, host: london.example.com, apiKey: other-key}
collectors: {alerts: {enabled: false}, perClient: {allowlist: [a]}}
";

    fn env(_: &str) -> Option<String> {
        None
    }

    fn config_in(dir: &Path, yaml: &str) -> Config {
        match load_from_bytes(&dir.join("config.yaml"), yaml.as_bytes(), &env) {
            Ok(loaded) => loaded.config,
            Err(e) => panic!("{yaml}\n{e}"),
        }
    }

    fn config(yaml: &str) -> Config {
        config_in(Path::new("/nonexistent"), yaml)
    }

    /// The change set from BASE to BASE with `from` replaced by `to`, as displayed.
    fn check(from: &str, to: &str, expected: &str) -> Option<String> {
        assert!(BASE.contains(from), "{from:?} not in BASE");
        let changes = diff(&config(BASE), &config(&BASE.replacen(from, to, 1)));
        let shown = changes.to_string();
        assert!(!shown.contains(SENTINEL) && !format!("{changes:?}").contains(SENTINEL));
        (shown != expected).then(|| format!("{from:?} -> {to:?}: got {shown:?}, want {expected:?}"))
    }

    #[test]
    fn each_change_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("port: 2112", "port: 9100", "server.port"),
            ("logLevel: info", "logLevel: debug", "server.logLevel"),
            ("logLevel: info", "logLevel: INFO", ""),
            ("logLevel: info", "logLevel: info, logFormat: json", "server.logFormat"),
            ("logLevel: info", "logLevel: info, logFormat: logfmt", ""),
            ("port: 2112", "port: 2112, host: 127.0.0.1", "server.host"),
            ("port: 2112", "port: 2112, uri: /m", "server.uri"),
            ("port: 2112", "port: 2112, scrapingInterval: 2h", "server.scrapingInterval"),
            (
                "port: 2112",
                "port: 2112, collectionInterval: 10m",
                "server.collectionInterval",
            ),
            ("port: 2112", "port: 2112, collectionTimeout: 1m", "server.collectionTimeout"),
            ("port: 2112", "port: 2112, logName: x.log", "server.logName"),
            ("port: 2112", "port: 2112, enableLifecycle: true", "server.enableLifecycle"),
            ("debounce: 200ms", "debounce: 1s", "reload.debounce"),
            ("debounce: 200ms", "debounce: 200ms, pollInterval: 0", "reload.pollInterval"),
            (
                "apiKey: SENTINEL-abc123",
                "apiKey: SENTINEL-abc124",
                "nbuservers[paris].apiKey",
            ),
            ("host: paris.example.com", "host: paris2.example.com", "nbuservers[paris].host"),
            ("site: paris,", "site: paris, port: 443,", "nbuservers[paris].port"),
            ("site: paris,", "site: paris, scheme: http,", "nbuservers[paris].scheme"),
            ("site: paris,", "site: paris, uri: /nbu,", "nbuservers[paris].uri"),
            ("site: paris,", "site: paris, apiVersion: \"13.0\",", "nbuservers[paris].apiVersion"),
            (
                "site: paris,",
                "site: paris, insecureSkipVerify: true,",
                "nbuservers[paris].insecureSkipVerify",
            ),
            ("site: paris,", "site: paris, timeout: 5s,", "nbuservers[paris].timeout"),
            (
                "site: paris,",
                "site: paris, port: 443, timeout: 5s,",
                "nbuservers[paris].port,nbuservers[paris].timeout",
            ),
            ("site: paris,", "site: roma,", "nbuservers[paris](removed),nbuservers[roma](added)"),
            (
                "  - {site: london, host: london.example.com, apiKey: other-key}\n",
                "",
                "nbuservers[london](removed)",
            ),
            (
                "  - {site: london, host: london.example.com, apiKey: other-key}\n",
                "  - {site: london, host: london.example.com, apiKey: other-key}\n  - {site: rome, host: r, apiKey: k}\n",
                "nbuservers[rome](added)",
            ),
            ("alerts: {enabled: false}", "alerts: {enabled: true}", "collectors.alerts.enabled"),
            (
                "alerts: {enabled: false}",
                "alerts: {enabled: false}, tape: {interval: 1m}",
                "collectors.tape.interval",
            ),
            (
                "alerts: {enabled: false}",
                "alerts: {enabled: false}, malware: {window: 1h}, slo: {enabled: true}",
                "collectors.malware.window,collectors.slo.enabled",
            ),
            ("allowlist: [a]", "allowlist: [a, b]", "collectors.perClient.allowlist"),
            // Sites are matched by name, not position.
            (
                "  - {site: paris, host: paris.example.com, apiKey: SENTINEL-abc123}\n  - {site: london, host: london.example.com, apiKey: other-key}\n",
                "  - {site: london, host: london.example.com, apiKey: other-key}\n  - {site: paris, host: paris.example.com, apiKey: SENTINEL-abc123}\n",
                "",
            ),
        ];
        let failures: Vec<String> = cases.iter().filter_map(|(f, t, w)| check(f, t, w)).collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn identical_configs_have_no_changes() {
        let c = config(BASE);
        let changes = diff(&c, &c);
        assert!(changes.is_empty());
        assert_eq!(changes.to_string(), "");
        assert_eq!(changes.keys(), Vec::<String>::new());
    }

    #[test]
    fn kinds_keys_and_display() {
        let old = config(BASE);
        let new = config(
            &BASE
                .replace("logLevel: info", "logLevel: debug")
                .replace("apiKey: SENTINEL-abc123", "apiKey: rotated")
                .replace("site: london", "site: rome"),
        );
        let changes = diff(&old, &new);
        assert_eq!(
            changes.to_string(),
            "server.logLevel,nbuservers[paris].apiKey,nbuservers[london](removed),nbuservers[rome](added)"
        );
        assert_eq!(
            changes.keys(),
            [
                "server.logLevel",
                "nbuservers[paris].apiKey",
                "nbuservers[london]",
                "nbuservers[rome]"
            ]
        );
        let kinds: Vec<ChangeKind> = changes.changes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::Changed,
                ChangeKind::Changed,
                ChangeKind::Removed,
                ChangeKind::Added
            ]
        );
    }

    #[test]
    fn file_contents_count_as_changes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
        write("paris.key", "SENTINEL-abc123\n");
        write("ca.pem", "-----BEGIN CERTIFICATE-----\nA\n");
        let yaml = "nbuservers: [{site: paris, host: h, apiKeyFile: paris.key, caFile: ca.pem}]\n";
        let before = config_in(dir.path(), yaml);

        write("paris.key", "SENTINEL-abc999\n");
        let rotated = config_in(dir.path(), yaml);
        let changes = diff(&before, &rotated);
        assert_eq!(changes.to_string(), "nbuservers[paris].apiKey");

        write("ca.pem", "-----BEGIN CERTIFICATE-----\nB\n");
        assert_eq!(
            diff(&rotated, &config_in(dir.path(), yaml)).to_string(),
            "nbuservers[paris].caFile"
        );

        // Same key, now written inline: only where it comes from changed.
        let inline = "nbuservers: [{site: paris, host: h, apiKey: SENTINEL-abc999, caFile: ca.pem}]\n";
        assert_eq!(
            diff(&rotated, &config_in(dir.path(), inline)).to_string(),
            "nbuservers[paris].apiKeyFile,nbuservers[paris].caFile"
        );
    }
}
