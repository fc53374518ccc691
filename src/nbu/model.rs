//! The NetBackup records the exporter uses, decoded into plain data. Only the fields that
//! feed a metric are kept; everything else in a response is ignored.
//!
//! Decoding lives in `nbu::jobs` and `nbu::storage`; aggregation in `collect::summary`.

use crate::timefmt::UnixMillis;

/// One `/admin/jobs` record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Job {
    pub job_id: i64,
    /// `jobType`, e.g. BACKUP; becomes the `action` label.
    pub job_type: String,
    /// `policyType`, e.g. STANDARD; becomes the `policy_type` label.
    pub policy_type: String,
    /// `policyName` (per-client freshness).
    pub policy_name: String,
    /// `clientName` (per-client freshness).
    pub client_name: String,
    /// `state`: QUEUED ACTIVE REQUEUED DONE SUSPENDED INCOMPLETE (open set).
    pub state: String,
    /// `status`: the final job status code (0 = success).
    pub status: i64,
    pub kilobytes_transferred: i64,
    pub number_of_files: i64,
    /// `dedupRatio`, absent when the server did not send it.
    pub dedup_ratio: Option<f64>,
    /// `startTime`, absent when missing, null, empty or the `0001-01-01` placeholder.
    pub start_time: Option<UnixMillis>,
    /// `endTime`, absent for jobs that have not finished (same placeholder rules).
    pub end_time: Option<UnixMillis>,
    /// `jobQueueReason` (1 = MEDIA_IN_USE … -99 = unknown).
    pub job_queue_reason: Option<i64>,
    /// `lastUpdateTime`: when NetBackup last changed the record, on the server's clock.
    /// The incremental sweep's high-water mark; feeds no metric.
    pub last_update_time: Option<UnixMillis>,
}

/// One `/storage/storage-units` record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StorageUnit {
    pub name: String,
    /// `storageType` (DISK, CLOUD, TAPE, ...); free text, compared case-insensitively.
    pub storage_type: String,
    pub storage_sub_type: String,
    /// `storageServerType`; becomes the `type` label.
    pub storage_server_type: String,
    pub free_capacity_bytes: Option<i64>,
    pub used_capacity_bytes: Option<i64>,
    pub total_capacity_bytes: Option<i64>,
    pub max_concurrent_jobs: Option<i64>,
    pub max_fragment_size_megabytes: Option<i64>,
    pub is_cloud: bool,
    pub worm_capable: bool,
    pub use_worm: bool,
    pub replication_capable: bool,
    pub instant_access_enabled: bool,
}

impl StorageUnit {
    /// Tape units carry no meaningful capacity and are excluded from storage metrics.
    pub fn is_tape(&self) -> bool {
        self.storage_type.trim().eq_ignore_ascii_case("tape")
    }
}
