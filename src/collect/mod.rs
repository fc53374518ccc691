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
