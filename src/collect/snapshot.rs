//! What one site's poller and its collector parts publish and `/metrics` reads: the last
//! good data per source, with the time it was collected, plus how the latest runs went.
//!
//! Plain data behind `Arc`s so a scrape can hold a snapshot without copying or locking.
//! It knows nothing of HTTP or of how the data was fetched.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
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

/// How one collector (`jobs`, `storage`, or an opt-in part) fared in its latest run.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectorRun {
    pub collector: &'static str,
    pub success: bool,
    pub duration: Duration,
}

/// The aggregate of one opt-in collector part (e.g. `metrics::tape::DrivesSummary`),
/// type-erased so the collectors table can list every part; its renderer downcasts it.
pub type PartValue = Arc<dyn Any + Send + Sync>;

/// What one enabled collector part has published for a site.
#[derive(Clone)]
pub struct PartState {
    /// Whether the site's API version has the part's endpoint; an unsupported part has no
    /// data and is never requested.
    pub supported: bool,
    /// Last good data and when it was collected (`nbu_last_scrape_timestamp_seconds`).
    pub data: Option<(PartValue, UnixMillis)>,
    /// The latest run, when there was one.
    pub last_run: Option<CollectorRun>,
}

impl fmt::Debug for PartState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartState")
            .field("supported", &self.supported)
            .field("collected_at", &self.data.as_ref().map(|(_, at)| at))
            .field("last_run", &self.last_run)
            .finish()
    }
}

/// Equal when they hold the very same data (the data has no `PartialEq` of its own).
impl PartialEq for PartState {
    fn eq(&self, other: &PartState) -> bool {
        let same_data = match (&self.data, &other.data) {
            (None, None) => true,
            (Some((a, at)), Some((b, bt))) => Arc::ptr_eq(a, b) && at == bt,
            _ => false,
        };
        self.supported == other.supported && same_data && self.last_run == other.last_run
    }
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
    /// The enabled opt-in collector parts, by `collector` label (`alerts`, `tape_drives`).
    /// Written by the parts' own runs, never by the jobs and storage sweep.
    pub parts: BTreeMap<&'static str, PartState>,
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
            parts: BTreeMap::new(),
            last_error: None,
        }
    }
}
