//! What one site's poller publishes and `/metrics` reads: the last good data per source,
//! with the time it was collected, plus how the latest sweep went.
//!
//! Plain data behind `Arc`s so a scrape can hold a snapshot without copying or locking.
//! It knows nothing of HTTP or of how the data was fetched.

use std::sync::Arc;
use std::time::Duration;

use crate::collect::summary::JobsSummary;
use crate::nbu::{ApiVersion, StorageUnit};
use crate::timefmt::UnixMillis;

/// Data from one source (jobs or storage) with the time of the sweep that produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced<T> {
    pub value: Arc<T>,
    /// When the sweep that fetched it finished; `nbu_last_scrape_timestamp_seconds`.
    pub collected_at: UnixMillis,
}

/// How one collector (`jobs`, `storage`) fared in the latest sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectorRun {
    pub collector: &'static str,
    pub success: bool,
    pub duration: Duration,
}

/// Everything `/metrics` shows for one site.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteSnapshot {
    pub site: String,
    /// Whether the latest sweep reached NetBackup and got at least one source.
    pub up: bool,
    /// The detected or configured version used by the latest successful sweep.
    pub api_version: Option<ApiVersion>,
    /// Last good jobs data; kept when a later sweep fails, so its timestamp ages.
    pub jobs: Option<Sourced<JobsSummary>>,
    /// Last good storage units (tape already excluded).
    pub storage: Option<Sourced<Vec<StorageUnit>>>,
    /// Per-collector results of the latest sweep.
    pub collectors: Vec<CollectorRun>,
    /// Why the latest sweep failed, for logs and `/-/config-status`; never holds a secret.
    pub last_error: Option<String>,
}

impl SiteSnapshot {
    /// The state of a site before its first sweep has finished.
    pub fn empty(site: &str) -> SiteSnapshot {
        SiteSnapshot {
            site: site.to_string(),
            up: false,
            api_version: None,
            jobs: None,
            storage: None,
            collectors: Vec::new(),
            last_error: None,
        }
    }
}
