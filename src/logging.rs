//! The process logger behind the `log` facade: one line per event to standard error, and
//! to `server.logName` when set. The level and the file are swapped live by reloads.
//!
//! Under systemd (`JOURNAL_STREAM` set) lines carry a `<N>` syslog priority prefix and no
//! timestamp, so the journal records the right priority once. It must not know why a line
//! is logged; callers never pass secrets.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use log::{Level, LevelFilter, Log, Metadata, Record};
use parking_lot::Mutex;

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

/// Installs the logger (idempotent) with the given level.
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(logger());
    log::set_max_level(with_floor(level));
}

/// The lowest verbosity allowed whatever the config says (`--debug`).
static FLOOR: AtomicUsize = AtomicUsize::new(0);

fn with_floor(level: LevelFilter) -> LevelFilter {
    let floor = match FLOOR.load(Ordering::SeqCst) {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        4 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    level.max(floor)
}

/// Makes `level` the minimum verbosity from now on (`--debug`).
pub fn set_floor(level: LevelFilter) {
    FLOOR.store(level as usize, Ordering::SeqCst);
    log::set_max_level(with_floor(log::max_level()));
}

/// Sets the level live (never below the floor).
pub fn set_level(level: LevelFilter) {
    log::set_max_level(with_floor(level));
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
    init(log::max_level().max(LevelFilter::Info));
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

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let stamp = crate::timefmt::format_rfc3339_millis(crate::timefmt::now_millis());
        let line = format!("{stamp} {:<5} {}", record.level(), record.args());
        if self.journal {
            let _ = writeln!(
                std::io::stderr(),
                "<{}>{}",
                syslog_priority(record.level()),
                record.args()
            );
        } else {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
        if let Some((_, file)) = self.file.lock().as_mut() {
            let _ = writeln!(file, "{line}");
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
