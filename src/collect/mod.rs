//! Per-site collection: the poller threads that sweep NetBackup on their own cadence and
//! publish `SiteSnapshot`s, and the summary of a sweep's jobs.
//!
//! It must not know about HTTP or Prometheus text; `/metrics` only reads snapshots.

pub mod jobs;
pub mod site;
pub mod snapshot;
pub mod summary;

pub use snapshot::{CollectorRun, SiteSnapshot, Sourced};
pub use summary::JobsSummary;
