//! The opt-in collectors table: every NetBackup resource beyond jobs and storage units, one
//! row per collector *part* (the `collector` label of the self-metrics), in [`PARTS`].
//!
//! A row says which `collectors.<key>` section enables the part, the oldest API version
//! with its endpoint (older sites report `nbu_exporter_collector_supported 0` and are never
//! asked), how one run fetches and aggregates it (a `fetch_*` of `nbu::<resource>` folding
//! records page by page into a `metrics::<resource>` summary), and which renderer writes
//! its families. Adding a resource = `nbu/<resource>.rs` + `metrics/<resource>.rs` + one row
//! here (ARCHITECTURE.md, "Adding a NetBackup resource").
//!
//! It must not know about threads or cadence (`collect::parts` runs the rows).

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::freshness::FreshnessBook;
use super::snapshot::PartValue;
use crate::api_version::ApiVersion;
use crate::config::model::{CollectorKey, CollectorSettings};
use crate::metrics::alerts::AlertsSummary;
use crate::metrics::catalog::{CatalogCounts, ANOMALY_STATUSES, MALWARE_STATUSES};
use crate::metrics::disk_pools::DiskPoolsSummary;
use crate::metrics::malware::MalwareSummary;
use crate::metrics::part::PartSite;
use crate::metrics::slos::SloSummary;
use crate::metrics::tape::{DrivesSummary, MediaSummary, PoolsSummary, RobotHostsSummary};
use crate::metrics::text::TextWriter;
use crate::metrics::{alerts, catalog, clients, disk_pools, malware, slos, tape};
use crate::nbu::catalog::odata_string;
use crate::nbu::{Client, NbuError};
use crate::timefmt::{format_rfc3339_millis, now_millis};

/// What one run of a part gets.
pub struct RunInput<'a> {
    pub client: &'a Client,
    pub version: ApiVersion,
    pub deadline: Instant,
    /// The part's `collectors.<key>` section (its `window`).
    pub settings: &'a CollectorSettings,
    /// The site's per-client book (only `client_backups` reads it).
    pub freshness: &'a Mutex<FreshnessBook>,
}

/// One collector part.
pub struct Part {
    /// The `collector` label value (`tape_drives`) and `source` of its scrape timestamp.
    pub label: &'static str,
    /// The config section that enables it.
    pub key: CollectorKey,
    /// The oldest API version that has its endpoint.
    pub since: ApiVersion,
    /// One run: every page read and aggregated; the summary is the part's new data.
    pub run: fn(&RunInput) -> Result<PartValue, NbuError>,
    /// Writes its families for every site that has data.
    pub render: fn(&mut TextWriter, &[PartSite]),
}

impl Part {
    pub fn supported(&self, version: ApiVersion) -> bool {
        version >= self.since
    }
}

/// The label of the per-client part, whose data the jobs sweep also refreshes.
pub const CLIENT_BACKUPS: &str = "client_backups";

/// Every opt-in collector part, in rendering order.
pub const PARTS: [Part; 10] = [
    Part {
        label: "alerts",
        key: CollectorKey::Alerts,
        since: ApiVersion::V10_0,
        run: run_alerts,
        render: alerts::write,
    },
    Part {
        label: "malware",
        key: CollectorKey::Malware,
        since: ApiVersion::V10_0,
        run: run_malware,
        render: malware::write,
    },
    Part {
        label: "catalog",
        key: CollectorKey::Catalog,
        since: ApiVersion::V13_0,
        run: run_catalog,
        render: catalog::write,
    },
    // 14.0 has no service catalog bundle; assumed to answer as 13.0 does.
    Part {
        label: "slo",
        key: CollectorKey::Slo,
        since: ApiVersion::V10_0,
        run: run_slos,
        render: slos::write,
    },
    Part {
        label: "tape_drives",
        key: CollectorKey::Tape,
        since: ApiVersion::V10_0,
        run: run_drives,
        render: tape::write_drives,
    },
    Part {
        label: "tape_media",
        key: CollectorKey::Tape,
        since: ApiVersion::V12_0,
        run: run_media,
        render: tape::write_media,
    },
    Part {
        label: "robot_hosts",
        key: CollectorKey::Tape,
        since: ApiVersion::V12_0,
        run: run_robot_hosts,
        render: tape::write_robot_hosts,
    },
    Part {
        label: "volume_pools",
        key: CollectorKey::Tape,
        since: ApiVersion::V12_0,
        run: run_pools,
        render: tape::write_pools,
    },
    Part {
        label: "disk_pools",
        key: CollectorKey::Tape,
        since: ApiVersion::V10_0,
        run: run_disk_pools,
        render: disk_pools::write,
    },
    Part {
        label: CLIENT_BACKUPS,
        key: CollectorKey::PerClient,
        since: ApiVersion::V10_0,
        run: run_client_backups,
        render: clients::write,
    },
];

/// The part with `label`.
pub fn part(label: &str) -> Option<&'static Part> {
    PARTS.iter().find(|p| p.label == label)
}

fn run_alerts(i: &RunInput) -> Result<PartValue, NbuError> {
    let mut s = AlertsSummary::default();
    i.client.fetch_alerts(i.version, i.deadline, |r| s.add(&r))?;
    Ok(Arc::new(s))
}

/// Unix seconds `window` before now.
fn window_start_secs(settings: &CollectorSettings) -> i64 {
    let window = i64::try_from(settings.window.as_millis()).unwrap_or(i64::MAX);
    now_millis().saturating_sub(window) / 1000
}

fn run_malware(i: &RunInput) -> Result<PartValue, NbuError> {
    let mut s = MalwareSummary::default();
    let since = window_start_secs(i.settings);
    i.client
        .fetch_scan_results(i.version, since, i.deadline, |r| s.add(&r))?;
    Ok(Arc::new(s))
}

fn run_catalog(i: &RunInput) -> Result<PartValue, NbuError> {
    let to = now_millis();
    let from = to.saturating_sub(i64::try_from(i.settings.window.as_millis()).unwrap_or(i64::MAX));
    let (from, to) = (
        odata_string(&format_rfc3339_millis(from)),
        odata_string(&format_rfc3339_millis(to)),
    );
    let mut counts = Vec::with_capacity(9);
    for malware in MALWARE_STATUSES {
        for anomaly in ANOMALY_STATUSES {
            let filter = format!(
                "malwareStatus eq {} and anomalyStatus eq {} and backupTime ge {from} and backupTime le {to}",
                odata_string(malware),
                odata_string(anomaly)
            );
            let n = i.client.count_images(i.version, &filter, i.deadline)?;
            counts.push(((malware, anomaly), n));
        }
    }
    Ok(Arc::new(CatalogCounts { counts }))
}

fn run_slos(i: &RunInput) -> Result<PartValue, NbuError> {
    let mut s = SloSummary::default();
    i.client.fetch_slos(i.version, i.deadline, |r| s.add(&r))?;
    Ok(Arc::new(s))
}

fn run_drives(i: &RunInput) -> Result<PartValue, NbuError> {
    let mut s = DrivesSummary::default();
    i.client.fetch_drives(i.version, i.deadline, |r| s.add(&r))?;
    Ok(Arc::new(s))
}

fn run_media(i: &RunInput) -> Result<PartValue, NbuError> {
    let mut s = MediaSummary::default();
    i.client.fetch_tape_media(i.version, i.deadline, |r| s.add(&r))?;
    Ok(Arc::new(s))
}

fn run_robot_hosts(i: &RunInput) -> Result<PartValue, NbuError> {
    let mut s = RobotHostsSummary::default();
    i.client
        .fetch_robot_hosts(i.version, i.deadline, |_| s.count += 1)?;
    Ok(Arc::new(s))
}

fn run_pools(i: &RunInput) -> Result<PartValue, NbuError> {
    let mut s = PoolsSummary::default();
    i.client
        .fetch_volume_pools(i.version, i.deadline, |r| s.add(&r))?;
    Ok(Arc::new(s))
}

fn run_disk_pools(i: &RunInput) -> Result<PartValue, NbuError> {
    let mut s = DiskPoolsSummary::default();
    i.client.fetch_disk_pools(i.version, i.deadline, |r| s.add(&r))?;
    Ok(Arc::new(s))
}

/// One targeted query per allowlisted client whose newest success is still unknown;
/// nothing at all once every client is known (the jobs sweep keeps them current).
fn run_client_backups(i: &RunInput) -> Result<PartValue, NbuError> {
    let clients = i.freshness.lock().to_query();
    for client in clients {
        let newest = i.client.last_successful_backup(i.version, &client, i.deadline)?;
        i.freshness.lock().record_query(&client, newest);
    }
    Ok(Arc::new(i.freshness.lock().view()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_every_key_has_a_part() {
        let mut labels: Vec<&str> = PARTS.iter().map(|p| p.label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), PARTS.len());
        for key in CollectorKey::ALL {
            assert!(PARTS.iter().any(|p| p.key == key), "{key:?}");
        }
        assert!(!part("tape_media").unwrap().supported(ApiVersion::V10_0));
        assert!(part("catalog").unwrap().supported(ApiVersion::V14_0));
    }
}
