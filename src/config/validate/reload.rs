//! The `reload:` section: how long the file watcher waits for writes to settle
//! (`debounce`) and how often the config is polled for changes (`pollInterval`, 0 for
//! never).
//!
//! It must not know how the watcher or the poller use these values; it only checks them
//! and fills in [`ReloadSettings`].

use std::time::Duration;

use super::super::model::ReloadSettings;
use super::super::raw::{Field, RawReload};
use super::{secs, Checker};

impl Checker<'_> {
    pub(super) fn reload(&mut self, raw: &RawReload) -> ReloadSettings {
        ReloadSettings {
            debounce: self.debounce(&raw.debounce).unwrap_or_default(),
            poll_interval: self.poll_interval(&raw.poll_interval),
        }
    }

    /// Above zero and at most 10 s, so a burst of writes cannot hold a reload back long.
    fn debounce(&mut self, field: &Field) -> Option<Duration> {
        let Some(leaf) = field else {
            return Some(Duration::from_millis(200));
        };
        match self.duration("reload.debounce", leaf) {
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
        }
    }

    /// At least 1 s, or 0 to switch polling off (`None`).
    fn poll_interval(&mut self, field: &Field) -> Option<Duration> {
        let Some(leaf) = field else {
            return Some(secs(30));
        };
        match self.duration("reload.pollInterval", leaf) {
            Some((d, _)) if d.is_zero() => None,
            Some((d, text)) if d < secs(1) => {
                self.problem(
                    "reload.pollInterval",
                    format!("{} is too short (at least 1s, or 0 to disable)", text.shown()),
                );
                None
            }
            other => other.map(|(d, _)| d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::check_table;

    #[test]
    fn bad_values_report_exact_problems() {
        let cases: &[(&str, &[&str])] = &[
            (
                "reload: {debounce: 30s}\n",
                &["reload.debounce: \"30s\" is too long (at most 10s)"],
            ),
            (
                "reload: {debounce: 0}\n",
                &["reload.debounce: 0 must be greater than zero"],
            ),
            (
                "reload: {pollInterval: 500ms}\n",
                &["reload.pollInterval: \"500ms\" is too short (at least 1s, or 0 to disable)"],
            ),
        ];
        check_table(cases);
    }
}
