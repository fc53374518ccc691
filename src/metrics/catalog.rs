//! `nbu_catalog_images_count`: catalog images of the window per malware status x anomaly
//! status, as counted by NetBackup.
//!
//! Pure: counts in, text out.

use super::part::{family, typed, PartSite};
use super::text::{TextWriter, Value};

/// The malware statuses counted (13.0 `malwareStatus` values).
pub const MALWARE_STATUSES: [&str; 3] = ["CLEAN", "INFECTION_DETECTED_BY_MALWARE_SCAN", "NOT_SCANNED"];
/// The anomaly statuses counted.
pub const ANOMALY_STATUSES: [&str; 3] = ["ANOMALOUS", "NOT_ANOMALOUS", "NOT_PROCESSED"];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogCounts {
    /// `((malware_status, anomaly_status), count)`.
    pub counts: Vec<((&'static str, &'static str), u64)>,
}

pub(crate) fn write(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<CatalogCounts>(sites);
    family(
        w,
        &sites,
        "nbu_catalog_images_count",
        "Catalog images backed up in the catalog window, by malware and anomaly status.",
        |w, site, s| {
            for ((malware, anomaly), n) in &s.counts {
                w.sample("nbu_catalog_images_count", "")
                    .label_escaped("site", site)
                    .label("malware_status", malware)
                    .label("anomaly_status", anomaly)
                    .value(Value::U(*n));
            }
        },
    );
}
