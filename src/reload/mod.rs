//! Configuration reload: the inputs that ask for one (signals, the file watcher, HTTP),
//! the single worker that performs them, the hold-off control, and the status record.
//!
//! Inputs only send `Event`s; they never touch state. The worker is the only writer of
//! the running generation. This module must not know how NetBackup is polled or how
//! metrics are rendered; it hands site changes to `collect` and listener changes to `http`.

pub mod client;
pub mod control;
pub mod signals;
pub mod status;
pub mod watch;
pub mod worker;

use std::fmt;

use crossbeam_channel::Sender;
use serde::Serialize;

pub use control::{DeferGuard, ReloadControl};
pub use status::{Attempt, ReloadState, StatusBoard};

/// What asked for a reload. The label values of `nbu_exporter_config_reloads_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Startup,
    Signal,
    Watch,
    Poll,
    Http,
}

impl Trigger {
    pub const ALL: [Trigger; 5] = [
        Trigger::Startup,
        Trigger::Signal,
        Trigger::Watch,
        Trigger::Poll,
        Trigger::Http,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Signal => "signal",
            Trigger::Watch => "watch",
            Trigger::Poll => "poll",
            Trigger::Http => "http",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a reload attempt ended. The `result` label values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A new generation is running.
    Applied,
    /// The content (config and referenced files) is identical to the running one.
    Unchanged,
    /// The content is invalid or cannot be applied; the old generation keeps running.
    Rejected,
    /// The file could not be read (missing, permissions, I/O) or a phase timed out.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Applied,
        Outcome::Unchanged,
        Outcome::Rejected,
        Outcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Unchanged => "unchanged",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }

    /// Applied and unchanged both mean the running config matches the file.
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Applied | Outcome::Unchanged)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every input of the daemon's control loop.
#[derive(Debug)]
pub enum Event {
    /// Run a reload now (after coalescing). `reply` receives the attempt that served it.
    Reload {
        trigger: Trigger,
        force: bool,
        reply: Option<Sender<Attempt>>,
    },
    /// Something changed in a watched directory; the worker debounces these.
    FileChanged,
    /// The file watcher reported an error (overflow, lost watch); re-arm it.
    WatcherFailed(String),
    /// A `ReloadControl` guard was released; run what was held back.
    Resume,
    /// Stop the daemon gracefully.
    Shutdown,
}
