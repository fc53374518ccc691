//! Settings accepted so that the Go exporter's configs load, but not acted on yet: the
//! `opentelemetry:` section. Each value is shape-checked, so a typo still fails, then
//! warned about, so the user knows it does nothing. (`collectors:` is acted on; see
//! `collectors`.)
//!
//! `raw` decides which keys exist and what shape each must have ([`InertKind`]); this
//! module must not know what the settings will mean once they are acted on.

use super::super::raw::{InertKind, InertSetting, Leaf};
use super::Checker;

impl Checker<'_> {
    /// One `opentelemetry.*` setting: shape-checked, then a warning.
    pub(super) fn inert(&mut self, setting: &InertSetting) {
        let key = setting.path.as_str();
        let field = Some(setting.value.clone());
        match setting.kind {
            InertKind::Bool => {
                self.boolean(key, &field, false);
            }
            InertKind::Text => {
                self.opt_text(key, &field, "a string");
            }
            InertKind::Number => self.rate(key, &setting.value),
        }
        self.warn(
            key,
            "accepted for compatibility with the Go exporter, but this build does not act on it yet",
        );
    }

    /// A number between 0.0 and 1.0 (a sampling rate).
    fn rate(&mut self, key: &str, leaf: &Leaf) {
        if let Some(text) = self.text(key, leaf, "a number between 0.0 and 1.0") {
            match text.value.trim().parse::<f64>() {
                Ok(rate) if (0.0..=1.0).contains(&rate) => {}
                Ok(_) => self.problem(key, format!("{} is out of range 0.0-1.0", text.shown())),
                Err(_) => self.problem(key, format!("{} is not a number", text.shown())),
            }
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
                "opentelemetry: {samplingRate: 2.0}\n",
                &["opentelemetry.samplingRate: 2.0 is out of range 0.0-1.0"],
            ),
            (
                "opentelemetry: {enabled: \"${NOPE}\"}\n",
                &["opentelemetry.enabled: environment variable NOPE is not set"],
            ),
        ];
        check_table(cases);
    }
}
