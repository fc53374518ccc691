//! Per-site collection: the poller threads that sweep NetBackup on their own cadence and
//! publish `SiteSnapshot`s, the summary of a sweep's jobs, the opt-in collectors table
//! (`collectors`), their scheduler (`parts`) and the per-client book (`freshness`).
//!
//! It must not know about HTTP or Prometheus text; `/metrics` only reads snapshots.

pub mod collectors;
pub mod freshness;
pub mod jobs;
mod parts;
pub mod settings;
pub mod site;
pub mod snapshot;
pub mod summary;
pub mod tls_expiry;

pub use snapshot::{CollectorRun, PartState, PartValue, SiteSnapshot, Sourced};
pub use summary::JobsSummary;

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

/// Waits for a command until `deadline`. The pollers' and schedulers' command channels
/// are std's: they wait minutes between commands, and crossbeam's blocking receive spins
/// and calls `sched_yield` about eight times before it parks, which with 50 sites woken
/// by a reload is thousands of yields competing with `/metrics` for the cores.
fn recv_until<T>(commands: &Receiver<T>, deadline: Instant) -> Result<T, RecvTimeoutError> {
    commands.recv_timeout(deadline.saturating_duration_since(Instant::now()))
}
