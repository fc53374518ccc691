//! The value checks every section shares: `${VAR}` expansion of one scalar, strings,
//! ports, Go durations and booleans. Each records its problem under the key it is given
//! and returns `None`, so a section goes on checking its other keys.
//!
//! It must not know which key it is checking beyond the name it quotes, nor any default
//! or bound that belongs to one section (those stay with the section).

use std::time::Duration;

use super::super::env;
use super::super::raw::{Field, Leaf};
use super::{Checker, Text};
use crate::timefmt::parse_go_duration;

const DURATION_EXAMPLE: &str = "a duration like 30s, 5m or 1h30m";

impl Checker<'_> {
    /// A scalar's text after expansion. `None` when a problem was recorded.
    pub(super) fn text(&mut self, key: &str, leaf: &Leaf, expected: &str) -> Option<Text> {
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
    pub(super) fn opt_text(&mut self, key: &str, field: &Field, expected: &str) -> Option<Option<Text>> {
        match field {
            None => Some(None),
            Some(leaf) => self.text(key, leaf, expected).map(Some),
        }
    }

    /// A port number; `allow_zero` for the listener, where 0 asks the OS for a free port.
    pub(super) fn port(&mut self, key: &str, field: &Field, default: u16, allow_zero: bool) -> Option<u16> {
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
    pub(super) fn duration(&mut self, key: &str, leaf: &Leaf) -> Option<(Duration, Text)> {
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

    pub(super) fn positive_duration(
        &mut self,
        key: &str,
        field: &Field,
        default: Duration,
    ) -> Option<Duration> {
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

    pub(super) fn boolean(&mut self, key: &str, field: &Field, default: bool) -> Option<bool> {
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::check_table;

    #[test]
    fn bad_values_report_exact_problems() {
        let cases: &[(&str, &[&str])] = &[
            // Wrong types.
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
            ("server: {port: 18446744073709551615}\n", &["server.port: 18446744073709551615 is out of range 0-65535"]),
            (
                "nbuservers: [{site: paris, host: nbu, apiKey: 12345, port: \"\"}]\n",
                &["nbuservers[0].port: is empty (expected a port number)"],
            ),
            // Booleans.
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
            ("server: {cacheTTL: soon}\n", &["server.cacheTTL: \"soon\" is not a duration (expected a value like 30s, 5m or 1h30m)"]),
        ];
        check_table(cases);
    }
}
