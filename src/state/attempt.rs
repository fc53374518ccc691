//! One reload attempt and its vocabulary: what asked for it (`Trigger`), how it ended
//! (`ReloadOutcome`), and the record itself (`Attempt`).
//!
//! `Attempt` is the one serialised form of an attempt: `GET /-/config-status` lists it,
//! `POST /-/reload` answers with it, and `nbu-exporter reload` reads it back. It holds no
//! secret: problems and change sets name keys, never values.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::timefmt::UnixMillis;

/// What asked for a reload. The label values of `nbu_exporter_config_reloads_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReloadOutcome {
    /// A new generation is running.
    Applied,
    /// The content (config and referenced files) is identical to the running one.
    Unchanged,
    /// The content is invalid or cannot be applied; the old generation keeps running.
    Rejected,
    /// The file could not be read (missing, permissions, I/O) or a phase timed out.
    Failed,
}

impl ReloadOutcome {
    pub const ALL: [ReloadOutcome; 4] = [
        ReloadOutcome::Applied,
        ReloadOutcome::Unchanged,
        ReloadOutcome::Rejected,
        ReloadOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReloadOutcome::Applied => "applied",
            ReloadOutcome::Unchanged => "unchanged",
            ReloadOutcome::Rejected => "rejected",
            ReloadOutcome::Failed => "failed",
        }
    }

    /// Applied and unchanged both mean the running config matches the file.
    pub fn is_success(self) -> bool {
        matches!(self, ReloadOutcome::Applied | ReloadOutcome::Unchanged)
    }
}

impl fmt::Display for ReloadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reload attempt, as reported everywhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Increases by one per attempt; the `reload` client waits for an id above the one it saw.
    pub id: u64,
    pub trigger: Trigger,
    pub result: ReloadOutcome,
    /// The generation running after the attempt.
    pub generation: u64,
    /// One line on why it was rejected or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub problems: Vec<String>,
    pub changes: Vec<String>,
    /// When the attempt finished, Unix milliseconds.
    pub at_unix_ms: UnixMillis,
    pub duration_ms: f64,
}
