//! The `collectors:` section: which opt-in collectors run, how often (`interval`, default
//! `server.collectionInterval`), over which look-back `window` (`malware`, `catalog`;
//! default 24h) and for which clients (`perClient.allowlist`). The keys are the Go
//! exporter's (`enabled`, `allowlist`) plus our `interval` and `window`.
//!
//! It fills in [`CollectorsConfig`]; it must not know what a collector fetches or when.

use std::collections::HashSet;

use super::super::model::{CollectorKey, CollectorsConfig};
use super::super::raw::{CollectorSetting, Leaf};
use super::Checker;

impl Checker<'_> {
    pub(super) fn collectors(&mut self, settings: &[CollectorSetting]) -> CollectorsConfig {
        let mut out = CollectorsConfig::default();
        for setting in settings {
            let key = setting.path();
            let Some(section) = CollectorKey::from_name(setting.section) else {
                continue; // `raw` only lets known sections through
            };
            let field = Some(setting.value.clone());
            match setting.key {
                "enabled" => {
                    if let Some(enabled) = self.boolean(&key, &field, false) {
                        out.get_mut(section).enabled = enabled;
                    }
                }
                "interval" => {
                    let interval = self.positive_duration(&key, &field, Default::default());
                    out.get_mut(section).interval = interval;
                }
                "window" => {
                    if let Some(window) = self.positive_duration(&key, &field, Default::default()) {
                        out.get_mut(section).window = window;
                    }
                }
                "allowlist" => out.allowlist = self.client_list(&key, &setting.value),
                _ => {}
            }
        }
        out
    }

    /// A list of client names, each checked under `key[i]`; blank names are problems,
    /// repeats are dropped with a warning.
    fn client_list(&mut self, key: &str, leaf: &Leaf) -> Vec<String> {
        let Leaf::List(items) = leaf else {
            self.problem(
                key,
                format!("expected a list of client names, got {}", leaf.kind()),
            );
            return Vec::new();
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_key = format!("{key}[{i}]");
            let Some(text) = self.text(&item_key, item, "a client name") else {
                continue;
            };
            if text.value.trim().is_empty() {
                self.problem(&item_key, "is empty (expected a client name)");
            } else if !seen.insert(text.value.clone()) {
                self.warn(&item_key, "repeats an earlier client name; ignored");
            } else {
                out.push(text.value);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{check_table, SITE};
    use crate::config::model::{CollectorKey, DEFAULT_COLLECTOR_WINDOW};

    #[test]
    fn bad_values_report_exact_problems() {
        let cases: &[(&str, &[&str])] = &[
            (
                "collectors: {perClient: {allowlist: client1}}\n",
                &["collectors.perClient.allowlist: expected a list of client names, got a string"],
            ),
            (
                "collectors: {perClient: {allowlist: [a, [b]]}}\n",
                &["collectors.perClient.allowlist[1]: expected a client name, got a list"],
            ),
            (
                "collectors: {perClient: {allowlist: [a, ~]}}\n",
                &["collectors.perClient.allowlist[1]: expected a client name, got null"],
            ),
            (
                "collectors: {perClient: {allowlist: [a, \" \"]}}\n",
                &["collectors.perClient.allowlist[1]: is empty (expected a client name)"],
            ),
            (
                "collectors: {alerts: {enabled: maybe}}\n",
                &["collectors.alerts.enabled: \"maybe\" is not a boolean (expected true or false)"],
            ),
            (
                "collectors: {tape: {interval: 0s}}\n",
                &["collectors.tape.interval: \"0s\" must be greater than zero"],
            ),
            (
                "collectors: {malware: {window: soon}}\n",
                &["collectors.malware.window: \"soon\" is not a duration (expected a value like 30s, 5m or 1h30m)"],
            ),
            (
                "collectors: {slo: {window: 1h}}\n",
                &["collectors.slo.window: unknown key"],
            ),
        ];
        check_table(cases);
    }

    #[test]
    fn values_and_defaults() {
        let fx = super::super::test_support::Fixture::new();
        let loaded = super::super::test_support::load_ok(
            &fx,
            &format!("collectors:\n  alerts: {{enabled: true, interval: 2m}}\n  malware: {{enabled: true, window: 6h}}\n  \
             perClient: {{enabled: true, allowlist: [web01, \"db'02\", web01]}}\n{SITE}"),
        );
        let c = &loaded.config.collectors;
        assert!(c.alerts.enabled && c.malware.enabled && c.per_client.enabled);
        assert!(!c.tape.enabled && !c.slo.enabled && !c.catalog.enabled);
        assert_eq!(c.alerts.interval, Some(Duration::from_secs(120)));
        assert_eq!(c.tape.interval, None);
        assert_eq!(c.malware.window, Duration::from_secs(6 * 3600));
        assert_eq!(c.get(CollectorKey::Catalog).window, DEFAULT_COLLECTOR_WINDOW);
        assert_eq!(c.allowlist, ["web01", "db'02"]);
        assert_eq!(
            loaded.warnings,
            ["collectors.perClient.allowlist[2]: repeats an earlier client name; ignored"]
        );
    }
}
