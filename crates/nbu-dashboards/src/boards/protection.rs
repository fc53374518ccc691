//! Data protection: NetBackup alerts, malware scans, catalog image status and protection
//! plans (SLOs), from the alerts, malware, catalog and slo collectors.

use super::sel;
use crate::model::{Dashboard, Item, Panel};

const PARTS: &str = r#"collector=~"alerts|malware|catalog|slo""#;

pub fn dashboard() -> Dashboard {
    let images = |more: &str| format!("sum({})", sel("nbu_catalog_images_count", more));
    Dashboard {
        uid: "nbu-protection",
        title: "NetBackup / Data protection",
        description: "Alerts, malware scans, catalog image status and SLOs",
        variables: Vec::new(),
        items: vec![
            Item::Row("Collectors"),
            Item::Panel(
                Panel::stat(
                    "Collection",
                    "Latest run of each data protection collector: 1 succeeded, 0 failed.",
                )
                .query(
                    sel("nbu_exporter_collection_success", PARTS),
                    "{{site}} {{collector}}",
                )
                .boolean("failed", "ok")
                .size(12, 4),
            ),
            Item::Panel(
                Panel::stat("Supported", "Whether the site's API version offers each part.")
                    .query(
                        sel("nbu_exporter_collector_supported", PARTS),
                        "{{site}} {{collector}}",
                    )
                    .boolean("no", "yes")
                    .size(12, 4),
            ),
            Item::Row("Alerts"),
            Item::Panel(
                Panel::stat("Alerts", "Alerts NetBackup holds, all severities.")
                    .query(format!("sum({})", sel("nbu_alerts_count", "")), "")
                    .thresholds("green", &[("orange", 1.0)]),
            ),
            Item::Panel(
                Panel::timeseries("Alerts by severity", "")
                    .query(
                        format!("sum by (site, severity) ({})", sel("nbu_alerts_count", "")),
                        "{{site}} {{severity}}",
                    )
                    .size(20, 8),
            ),
            Item::Panel(
                Panel::table(
                    "Alerts by category",
                    "Count and age of the newest alert per severity and category.",
                )
                .query(
                    format!(
                        "sum by (site, severity, category) ({})",
                        sel("nbu_alerts_count", "")
                    ),
                    "Alerts",
                )
                .query(
                    format!(
                        "time() - max by (site, severity, category) ({})",
                        sel("nbu_alerts_latest_timestamp_seconds", "")
                    ),
                    "Newest alert age",
                )
                .field_unit("Newest alert age", "s")
                .size(24, 8),
            ),
            Item::Row("Malware scans (window: collectors.malware.window)"),
            Item::Panel(
                Panel::stat("Files scanned", "")
                    .query(format!("sum({})", sel("nbu_malware_files_scanned", "")), ""),
            ),
            Item::Panel(
                Panel::stat("Files infected", "")
                    .query(format!("sum({})", sel("nbu_malware_files_infected", "")), "")
                    .thresholds("green", &[("red", 1.0)]),
            ),
            Item::Panel(
                Panel::timeseries("Scans by state", "")
                    .query(
                        format!("sum by (site, status) ({})", sel("nbu_malware_scan_count", "")),
                        "{{site}} {{status}}",
                    )
                    .size(16, 8),
            ),
            Item::Row("Catalog images (window: collectors.catalog.window)"),
            Item::Panel(
                Panel::stat("Infected images", "Images a malware scan found infected.")
                    .query(
                        images(r#"malware_status="INFECTION_DETECTED_BY_MALWARE_SCAN""#),
                        "",
                    )
                    .thresholds("green", &[("red", 1.0)]),
            ),
            Item::Panel(
                Panel::stat("Anomalous images", "Images anomaly detection flagged.")
                    .query(images(r#"anomaly_status="ANOMALOUS""#), "")
                    .thresholds("green", &[("orange", 1.0)]),
            ),
            Item::Panel(
                Panel::stat(
                    "Images not scanned",
                    "Share of the window's images no malware scan has covered.",
                )
                .query(
                    format!("{} / {}", images(r#"malware_status="NOT_SCANNED""#), images("")),
                    "",
                )
                .unit("percentunit"),
            ),
            Item::Panel(
                Panel::timeseries("Images by malware status", "")
                    .query(
                        format!(
                            "sum by (site, malware_status) ({})",
                            sel("nbu_catalog_images_count", "")
                        ),
                        "{{site}} {{malware_status}}",
                    )
                    .size(6, 8),
            ),
            Item::Panel(
                Panel::timeseries("Images by anomaly status", "")
                    .query(
                        format!(
                            "sum by (site, anomaly_status) ({})",
                            sel("nbu_catalog_images_count", "")
                        ),
                        "{{site}} {{anomaly_status}}",
                    )
                    .size(6, 8),
            ),
            Item::Row("Service level objectives (protection plans)"),
            Item::Panel(Panel::stat("SLOs", "").query(format!("sum({})", sel("nbu_slo_count", "")), "")),
            Item::Panel(
                Panel::bargauge(
                    "Subscriptions per SLO",
                    "Assets subscribed to each protection plan.",
                )
                .query(
                    format!(
                        "sum by (site, slo, workload_type) ({})",
                        sel("nbu_slo_subscription_count", "")
                    ),
                    "{{site}} {{slo}} ({{workload_type}})",
                )
                .size(20, 8),
            ),
        ],
    }
}
