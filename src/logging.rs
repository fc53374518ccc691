//! The process logger behind the `log` facade: one line per event to standard error, and
//! to `server.logName` when set, as logfmt (the default) or as one JSON object per line.
//! The level, the format and the file are swapped live by reloads; a command-line flag
//! (`--log.level`, `--debug`, `--log.format`) pins its setting over the config.
//!
//! Call sites pass a short message and structured fields through the `log` crate's
//! key-values (`log::info!(site = name, generation = 7; "config reload applied")`), so a
//! value is quoted or escaped here, by construction, whatever it holds; free text in the
//! message is one quoted value too. A line is `ts=... level=... msg=... key=value ...`
//! (JSON: `{"ts":...,"level":...,"msg":...,"key":value}`); records from other crates
//! carry their `target`, and their debug lines are written only at `trace`.
//!
//! Under systemd (`JOURNAL_STREAM` set) lines carry a `<N>` syslog priority prefix and the
//! logfmt lines no timestamp, so the journal records the right priority once. It must not
//! know why a line is logged; callers never pass secrets.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use log::kv::{Key, Value, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};
use parking_lot::Mutex;

/// How each line is written (`server.logFormat`, `--log.format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// `key=value` pairs, values quoted when they need it.
    #[default]
    Logfmt,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `logfmt` or `json`, in any case.
    pub fn parse(text: &str) -> Option<LogFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "logfmt" => Some(LogFormat::Logfmt),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Logfmt => "logfmt",
            LogFormat::Json => "json",
        }
    }
}

impl FromStr for LogFormat {
    type Err = String;

    /// For the command line.
    fn from_str(text: &str) -> Result<LogFormat, String> {
        LogFormat::parse(text)
            .ok_or_else(|| format!("{text:?} is not a log format (expected logfmt or json)"))
    }
}

/// `error`, `warn`, `info`, `debug` or `trace`, in any case (`server.logLevel`,
/// `--log.level`).
pub fn parse_level(text: &str) -> Option<LevelFilter> {
    match text.trim().to_ascii_lowercase().as_str() {
        "error" => Some(LevelFilter::Error),
        "warn" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        _ => None,
    }
}

/// `parse_level` for the command line.
pub fn level_arg(text: &str) -> Result<LevelFilter, String> {
    parse_level(text)
        .ok_or_else(|| format!("{text:?} is not a log level (expected error, warn, info, debug or trace)"))
}

struct Logger {
    journal: bool,
    file: Mutex<Option<(PathBuf, File)>>,
    capture: Mutex<Option<Arc<Mutex<Vec<String>>>>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

fn logger() -> &'static Logger {
    LOGGER.get_or_init(|| Logger {
        journal: std::env::var_os("JOURNAL_STREAM").is_some(),
        file: Mutex::new(None),
        capture: Mutex::new(None),
    })
}

/// The format in use: 0 logfmt, 1 JSON. Read on every line, so an atomic, not a lock.
static FORMAT: AtomicU8 = AtomicU8::new(0);

fn format_in_use() -> LogFormat {
    match FORMAT.load(Ordering::Relaxed) {
        1 => LogFormat::Json,
        _ => LogFormat::Logfmt,
    }
}

/// A setting the command line fixes, with the flag that fixed it.
#[derive(Clone, Copy)]
struct Pin<T> {
    value: T,
    flag: &'static str,
}

/// What the command line pinned and what the config asked for last.
struct Settings {
    level_pin: Option<Pin<LevelFilter>>,
    format_pin: Option<Pin<LogFormat>>,
    config_level: Option<LevelFilter>,
    config_format: Option<LogFormat>,
    announced: bool,
}

static SETTINGS: Mutex<Settings> = Mutex::new(Settings {
    level_pin: None,
    format_pin: None,
    config_level: None,
    config_format: None,
    announced: false,
});

/// Fixes the level from the command line (`--log.level`, or `--debug`): the config's
/// `server.logLevel` is then ignored, at startup and on every reload.
pub fn pin_level(level: LevelFilter, flag: &'static str) {
    SETTINGS.lock().level_pin = Some(Pin { value: level, flag });
    log::set_max_level(level);
}

/// Fixes the format from the command line (`--log.format`): `server.logFormat` is then
/// ignored, at startup and on every reload.
pub fn pin_format(format: LogFormat, flag: &'static str) {
    SETTINGS.lock().format_pin = Some(Pin { value: format, flag });
    FORMAT.store(format as u8, Ordering::Relaxed);
}

/// Installs the logger (idempotent) with the config's level; the first call also logs
/// which settings the command line pinned.
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(logger());
    set_level(level);
    let (level_pin, format_pin) = {
        let mut s = SETTINGS.lock();
        if std::mem::replace(&mut s.announced, true) {
            return;
        }
        (s.level_pin, s.format_pin)
    };
    if let Some(pin) = level_pin {
        announce_pin(pin.flag, level_name(pin.value), "server.logLevel");
    }
    if let Some(pin) = format_pin {
        announce_pin(pin.flag, pin.value.as_str(), "server.logFormat");
    }
}

fn announce_pin(flag: &str, value: &str, key: &str) {
    log::info!(
        flag = flag,
        value = value,
        key = key,
        reloadable = false;
        "command line flag overrides the config key"
    );
}

/// Sets the level the config asks for, live; a pinned level stays, and a change of the
/// key is logged as not applied.
pub fn set_level(level: LevelFilter) {
    let (pin, changed) = {
        let mut s = SETTINGS.lock();
        let changed = s.config_level.is_some_and(|old| old != level);
        s.config_level = Some(level);
        (s.level_pin, changed)
    };
    match pin {
        None => log::set_max_level(level),
        Some(pin) => {
            log::set_max_level(pin.value);
            if changed {
                log_not_applied(
                    "server.logLevel",
                    level_name(level),
                    pin.flag,
                    level_name(pin.value),
                );
            }
        }
    }
}

/// Sets the format the config asks for, live; a pinned format stays, and a change of the
/// key is logged as not applied.
pub fn set_format(format: LogFormat) {
    let (pin, changed) = {
        let mut s = SETTINGS.lock();
        let changed = s.config_format.is_some_and(|old| old != format);
        s.config_format = Some(format);
        (s.format_pin, changed)
    };
    match pin {
        None => FORMAT.store(format as u8, Ordering::Relaxed),
        Some(pin) => {
            if changed {
                log_not_applied("server.logFormat", format.as_str(), pin.flag, pin.value.as_str());
            }
        }
    }
}

fn log_not_applied(key: &str, asked: &str, flag: &str, kept: &str) {
    log::info!(
        key = key,
        asked = asked,
        flag = flag,
        kept = kept;
        "config key not applied: the command line flag overrides it"
    );
}

fn level_name(level: LevelFilter) -> &'static str {
    match level {
        LevelFilter::Off => "off",
        LevelFilter::Error => "error",
        LevelFilter::Warn => "warn",
        LevelFilter::Info => "info",
        LevelFilter::Debug => "debug",
        LevelFilter::Trace => "trace",
    }
}

/// Opens a log file for appending; used to prepare a reload before anything changes.
pub fn open_file(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open log file {}: {e}", path.display()))
}

/// Swaps the log file (`None`: standard error only).
pub fn set_file(file: Option<(PathBuf, File)>) {
    *logger().file.lock() = file;
}

/// The log file in use, if any.
pub fn current_file() -> Option<PathBuf> {
    logger().file.lock().as_ref().map(|(p, _)| p.clone())
}

/// Test support: also keep every line in memory. Returns the shared buffer.
pub fn capture() -> Arc<Mutex<Vec<String>>> {
    let _ = log::set_logger(logger());
    log::set_max_level(log::max_level().max(LevelFilter::Info));
    let mut slot = logger().capture.lock();
    Arc::clone(slot.get_or_insert_with(Arc::default))
}

fn syslog_priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Whether a record is written: ours at the level in use; other crates' (the HTTP
/// libraries') debug lines only at `trace`, so `debug` shows the exporter's own detail.
fn wanted(metadata: &Metadata) -> bool {
    let max = log::max_level();
    metadata.level() <= max
        && (metadata.level() <= Level::Info
            || max == LevelFilter::Trace
            || metadata.target().starts_with(env!("CARGO_CRATE_NAME")))
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        wanted(metadata)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut fields = Fields::default();
        if !record.target().starts_with(env!("CARGO_CRATE_NAME")) {
            fields.push("target", FieldValue::Text(record.target().to_string()));
        }
        let _ = record.key_values().visit(&mut fields);
        let message = match record.args().as_str() {
            Some(text) => text.to_string(),
            None => record.args().to_string(),
        };
        let stamp = crate::timefmt::format_rfc3339_millis(crate::timefmt::now_millis());
        let format = format_in_use();
        let line = format_line(format, Some(&stamp), record.level(), &message, &fields.0);
        {
            let mut err = std::io::stderr().lock();
            // One write per line, so lines of two threads never interleave.
            let _ = if self.journal {
                // The journal stamps each line itself; JSON keeps `ts` so every object
                // has the same keys.
                let bare = match format {
                    LogFormat::Logfmt => format_line(format, None, record.level(), &message, &fields.0),
                    LogFormat::Json => line.clone(),
                };
                err.write_all(format!("<{}>{bare}\n", syslog_priority(record.level())).as_bytes())
            } else {
                err.write_all(format!("{line}\n").as_bytes())
            };
        }
        if let Some((_, file)) = self.file.lock().as_mut() {
            let _ = file.write_all(format!("{line}\n").as_bytes());
        }
        if let Some(buffer) = self.capture.lock().as_ref() {
            let mut lines = buffer.lock();
            // Bounded: tests read it, a long run must not grow it without limit.
            if lines.len() < 200_000 {
                lines.push(line);
            }
        }
    }

    fn flush(&self) {
        if let Some((_, file)) = self.file.lock().as_mut() {
            let _ = file.flush();
        }
    }
}

/// A field's value as the line writers need it: JSON writes numbers and booleans bare.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    Text(String),
    /// An integer or a finite float, already formatted.
    Number(String),
    Bool(bool),
}

impl FieldValue {
    fn of(value: &Value) -> FieldValue {
        if let Some(b) = value.to_bool() {
            FieldValue::Bool(b)
        } else if let Some(u) = value.to_u64() {
            FieldValue::Number(u.to_string())
        } else if let Some(i) = value.to_i64() {
            FieldValue::Number(i.to_string())
        } else if let Some(f) = value.to_f64().filter(|f| f.is_finite()) {
            FieldValue::Number(f.to_string())
        } else {
            FieldValue::Text(value.to_string())
        }
    }
}

/// The fields of one record, in call-site order.
#[derive(Default)]
struct Fields(Vec<(String, FieldValue)>);

impl Fields {
    fn push(&mut self, key: &str, value: FieldValue) {
        self.0.push((key.to_string(), value));
    }
}

impl<'kvs> VisitSource<'kvs> for Fields {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        self.push(key.as_str(), FieldValue::of(&value));
        Ok(())
    }
}

/// The keys every line has; a field with one of these names gets a `_` appended.
const RESERVED: [&str; 3] = ["ts", "level", "msg"];

/// A field key fit for both formats: no space, `=`, `"` or control character (each
/// becomes `_`), never empty, never one of the reserved keys.
fn clean_key(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || c == '=' || c == '"' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    if RESERVED.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// One line, without its newline: `ts` (when given), `level`, `msg`, then the fields.
pub fn format_line(
    format: LogFormat,
    stamp: Option<&str>,
    level: Level,
    message: &str,
    fields: &[(String, FieldValue)],
) -> String {
    let level = level.as_str().to_ascii_lowercase();
    let mut out = String::with_capacity(64 + message.len() + 24 * fields.len());
    match format {
        LogFormat::Logfmt => {
            if let Some(stamp) = stamp {
                out.push_str("ts=");
                logfmt_value(&mut out, stamp);
                out.push(' ');
            }
            out.push_str("level=");
            out.push_str(&level);
            out.push_str(" msg=");
            logfmt_value(&mut out, message);
            for (key, value) in fields {
                out.push(' ');
                out.push_str(&clean_key(key));
                out.push('=');
                match value {
                    FieldValue::Text(text) => logfmt_value(&mut out, text),
                    FieldValue::Number(n) => out.push_str(n),
                    FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                }
            }
        }
        LogFormat::Json => {
            out.push('{');
            if let Some(stamp) = stamp {
                out.push_str("\"ts\":");
                json_string(&mut out, stamp);
                out.push(',');
            }
            out.push_str("\"level\":");
            json_string(&mut out, &level);
            out.push_str(",\"msg\":");
            json_string(&mut out, message);
            for (key, value) in fields {
                out.push(',');
                json_string(&mut out, &clean_key(key));
                out.push(':');
                match value {
                    FieldValue::Text(text) => json_string(&mut out, text),
                    FieldValue::Number(n) => out.push_str(n),
                    FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                }
            }
            out.push('}');
        }
    }
    out
}

/// Whether a logfmt value must be quoted: empty, or holding a space, a control
/// character, `=`, `"` or `\`.
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '=' | '"' | '\\'))
}

/// Writes a logfmt value, quoted and escaped (`\"`, `\\`, `\n`, `\r`, `\t`, `\u00XX`)
/// when it needs it.
fn logfmt_value(out: &mut String, value: &str) {
    if !needs_quotes(value) {
        out.push_str(value);
        return;
    }
    quoted(out, value);
}

/// A double-quoted string with the escapes logfmt and JSON share.
fn quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_string(out: &mut String, value: &str) {
    quoted(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(key: &str, value: &str) -> (String, FieldValue) {
        (key.to_string(), FieldValue::Text(value.to_string()))
    }

    fn number(key: &str, value: &str) -> (String, FieldValue) {
        (key.to_string(), FieldValue::Number(value.to_string()))
    }

    #[test]
    fn logfmt_quotes_exactly_the_values_that_need_it() {
        let check = |value: &str, want: &str| {
            let line = format_line(LogFormat::Logfmt, None, Level::Info, "m", &[text("k", value)]);
            assert_eq!(line, format!("level=info msg=m k={want}"), "value {value:?}");
        };
        check("paris", "paris");
        check("127.0.0.1:2112", "127.0.0.1:2112");
        check(
            "server.logLevel,nbuservers[paris].apiKey",
            "server.logLevel,nbuservers[paris].apiKey",
        );
        check("", "\"\"");
        check("two words", "\"two words\"");
        check("a=b", "\"a=b\"");
        check("say \"hi\"", "\"say \\\"hi\\\"\"");
        check("C:\\dir", "\"C:\\\\dir\"");
        check("line\nbreak\ttab\r", "\"line\\nbreak\\ttab\\r\"");
        check("bell\u{7}", "\"bell\\u0007\"");
        check("café", "café");
        check("non\u{a0}breaking", "\"non\u{a0}breaking\"");
    }

    #[test]
    fn a_line_has_ts_level_msg_then_the_fields_in_order() {
        let fields = [
            text("trigger", "signal"),
            number("generation", "7"),
            (String::from("ok"), FieldValue::Bool(true)),
            text(
                "problems",
                "server.port: 99999 is out of range; nbuservers[0].host: missing",
            ),
        ];
        let stamp = "2026-11-25T23:32:20.492Z";
        assert_eq!(
            format_line(LogFormat::Logfmt, Some(stamp), Level::Warn, "config reload rejected", &fields),
            "ts=2026-11-25T23:32:20.492Z level=warn msg=\"config reload rejected\" trigger=signal \
             generation=7 ok=true problems=\"server.port: 99999 is out of range; nbuservers[0].host: missing\""
        );
        assert_eq!(
            format_line(
                LogFormat::Json,
                Some(stamp),
                Level::Warn,
                "config reload rejected",
                &fields
            ),
            "{\"ts\":\"2026-11-25T23:32:20.492Z\",\"level\":\"warn\",\"msg\":\"config reload rejected\",\
             \"trigger\":\"signal\",\"generation\":7,\"ok\":true,\
             \"problems\":\"server.port: 99999 is out of range; nbuservers[0].host: missing\"}"
        );
    }

    #[test]
    fn json_lines_are_objects_whatever_the_text() {
        let nasty = "quote\" backslash\\ newline\n nul\u{0} del\u{7f} unicode é \u{2028}";
        let line = format_line(
            LogFormat::Json,
            Some("t"),
            Level::Error,
            nasty,
            &[text(nasty, nasty), text("msg", "clash"), number("n", "-1.5")],
        );
        let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(v["msg"], nasty);
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg_"], "clash", "a field named like a reserved key is renamed");
        assert_eq!(v["n"], -1.5);
        assert_eq!(v.as_object().map(|o| o.len()), Some(6));
        assert!(!line.contains('\n'));
    }

    #[test]
    fn keys_are_cleaned() {
        assert_eq!(clean_key("a b=c\"d"), "a_b_c_d");
        assert_eq!(clean_key(""), "_");
        assert_eq!(clean_key("level"), "level_");
        assert_eq!(clean_key("duration_ms"), "duration_ms");
    }

    #[test]
    fn values_keep_their_kind() {
        let kind = |v: Value| FieldValue::of(&v);
        assert_eq!(kind(Value::from(7u64)), FieldValue::Number("7".into()));
        assert_eq!(kind(Value::from(-3i32)), FieldValue::Number("-3".into()));
        assert_eq!(kind(Value::from(2.5f64)), FieldValue::Number("2.5".into()));
        assert_eq!(kind(Value::from(f64::NAN)), FieldValue::Text("NaN".into()));
        assert_eq!(kind(Value::from(false)), FieldValue::Bool(false));
        assert_eq!(kind(Value::from("x y")), FieldValue::Text("x y".into()));
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 2112));
        assert_eq!(
            kind(Value::from_display(&addr)),
            FieldValue::Text("127.0.0.1:2112".into())
        );
    }

    #[test]
    fn other_crates_debug_lines_wait_for_trace() {
        fn at(level: Level, target: &str) -> Metadata<'_> {
            Metadata::builder().level(level).target(target).build()
        }
        log::set_max_level(LevelFilter::Debug);
        assert!(wanted(&at(Level::Debug, "nbu_exporter::nbu::client")));
        assert!(!wanted(&at(Level::Debug, "ureq::run")));
        assert!(wanted(&at(Level::Info, "tiny_http")));
        assert!(!wanted(&at(Level::Trace, "nbu_exporter::http")));
        log::set_max_level(LevelFilter::Trace);
        assert!(wanted(&at(Level::Debug, "ureq::run")));
        log::set_max_level(LevelFilter::Info);
        assert!(!wanted(&at(Level::Debug, "nbu_exporter::nbu::client")));
    }

    #[test]
    fn formats_and_levels_parse_in_any_case() {
        assert_eq!(LogFormat::parse(" JSON "), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("logfmt"), Some(LogFormat::Logfmt));
        assert_eq!(LogFormat::parse("text"), None);
        assert_eq!(
            "xml".parse::<LogFormat>(),
            Err("\"xml\" is not a log format (expected logfmt or json)".to_string())
        );
        assert_eq!(parse_level("DEBUG"), Some(LevelFilter::Debug));
        assert_eq!(parse_level("verbose"), None);
        assert!(level_arg("loud").unwrap_err().contains("is not a log level"));
    }
}
