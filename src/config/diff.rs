//! Old [`Config`] vs new [`Config`] -> the names of the keys that changed, in the YAML
//! spelling (`server.logLevel`, `nbuservers[paris].apiKey`). Sites are matched by name.
//!
//! Only key names, never values: a change set is logged and shown on the status page, and
//! a secret must not leak through it. It must not know how a change is applied.

use std::fmt;

use super::model::{Config, ReloadSettings, ServerConfig, SiteConfig};

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
    ChangeSet { changes: out.0 }
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
    out.field(p, "enableLifecycle", old.enable_lifecycle, new.enable_lifecycle);
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
