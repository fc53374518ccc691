//! Multi-site comparison: the same figures side by side for every selected site.

use super::{sel, storage_used_ratio, success_ratio, FAILED};
use crate::model::{Dashboard, Item, Panel};

pub fn dashboard() -> Dashboard {
    let by_site = |metric: &str, more: &str| format!("sum by (site) ({})", sel(metric, more));
    Dashboard {
        uid: "nbu-sites",
        title: "NetBackup / Site comparison",
        description: "Every selected site side by side",
        variables: Vec::new(),
        items: vec![
            Item::Row("Sites"),
            Item::Panel(
                Panel::table("Sites", "One row per site.")
                    .query(format!("max by (site) ({})", sel("nbu_up", "")), "Up")
                    .query(
                        format!("max by (site, version) ({})", sel("nbu_api_version", "")),
                        "API version in use",
                    )
                    .query(by_site("nbu_jobs_count", ""), "Jobs ended")
                    .query(success_ratio("BACKUP", "site"), "Backup success")
                    .query(by_site("nbu_status_count", FAILED), "Failed jobs")
                    .query(storage_used_ratio("site"), "Storage used")
                    .query(
                        format!(
                            "max by (site) (time() - {})",
                            sel("nbu_last_scrape_timestamp_seconds", "")
                        ),
                        "Oldest data",
                    )
                    .field_unit("Backup success", "percentunit")
                    .field_unit("Storage used", "percentunit")
                    .field_unit("Oldest data", "s")
                    .size(24, 8),
            ),
            Item::Row("Comparison"),
            Item::Panel(
                Panel::bargauge("Jobs ended", "")
                    .query(by_site("nbu_jobs_count", ""), "{{site}}")
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::bargauge("Backup success", "Backups with status 0 over all backups.")
                    .query(success_ratio("BACKUP", "site"), "{{site}}")
                    .unit("percentunit")
                    .range(0.0, 1.0)
                    .thresholds("red", &[("orange", 0.9), ("green", 0.98)])
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::bargauge("Failed jobs", "Status other than 0 and 1.")
                    .query(by_site("nbu_status_count", FAILED), "{{site}}")
                    .thresholds("green", &[("red", 1.0)])
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::bargauge("Data backed up", "")
                    .query(by_site("nbu_jobs_bytes", r#"action="BACKUP""#), "{{site}}")
                    .unit("bytes")
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::bargauge("Storage used", "Used over capacity of the units that report one.")
                    .query(storage_used_ratio("site"), "{{site}}")
                    .unit("percentunit")
                    .range(0.0, 1.0)
                    .thresholds("green", &[("orange", 0.8), ("red", 0.9)])
                    .size(8, 8),
            ),
            Item::Panel(
                Panel::bargauge("NetBackup alerts", "Alerts collector.")
                    .query(by_site("nbu_alerts_count", ""), "{{site}}")
                    .thresholds("green", &[("orange", 1.0)])
                    .size(8, 8),
            ),
            Item::Row("Over time"),
            Item::Panel(
                Panel::timeseries("Backup success by site", "")
                    .query(success_ratio("BACKUP", "site"), "{{site}}")
                    .unit("percentunit")
                    .range(0.0, 1.0),
            ),
            Item::Panel(
                Panel::timeseries(
                    "Sweep duration by site",
                    "Time each site's collectors took, summed.",
                )
                .query(
                    by_site("nbu_exporter_collection_duration_seconds", ""),
                    "{{site}}",
                )
                .unit("s"),
            ),
        ],
    }
}
