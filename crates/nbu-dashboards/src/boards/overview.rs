//! Overview: is every site reachable and fresh, is the exporter's configuration healthy,
//! and the headline figures of the collection window.

use super::{sel, serving, storage_used_ratio, success_ratio, FAILED};
use crate::model::{Dashboard, Item, Panel};

pub fn dashboard() -> Dashboard {
    Dashboard {
        uid: "nbu-overview",
        title: "NetBackup / Overview",
        description: "Health of every site, reload health and headline figures",
        variables: Vec::new(),
        items: vec![
            Item::Row("Sites"),
            Item::Panel(
                Panel::stat("Sites up", "Sites whose latest sweep reached NetBackup.")
                    .query(format!("sum({})", sel("nbu_up", "")), "up")
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("Sites down", "Sites whose latest sweep did not reach NetBackup.")
                    .query(format!("count({} == 0) or vector(0)", sel("nbu_up", "")), "down")
                    .thresholds("green", &[("red", 1.0)])
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("Site health", "nbu_up of each site.")
                    .query(sel("nbu_up", ""), "{{site}}")
                    .boolean("down", "up")
                    .size(18, 4),
            ),
            Item::Panel(
                Panel::bargauge(
                    "Data age",
                    "Seconds since the last successful collection of each source; the NbuMetricsStale alert fires past 30 minutes.",
                )
                .query(format!("time() - {}", sel("nbu_last_scrape_timestamp_seconds", "")), "{{site}} {{source}}")
                .unit("s")
                .thresholds("green", &[("orange", 900.0), ("red", 1800.0)]),
            ),
            Item::Panel(
                Panel::bargauge("Collection success", "Latest run of each collector: 1 succeeded, 0 failed.")
                    .query(sel("nbu_exporter_collection_success", ""), "{{site}} {{collector}}")
                    .range(0.0, 1.0)
                    .thresholds("red", &[("green", 1.0)]),
            ),
            Item::Row("Reload health"),
            Item::Panel(
                Panel::stat("Last reload", "Whether the exporter's last configuration reload attempt succeeded.")
                    .query(format!("min({})", serving("nbu_exporter_config_last_reload_successful")), "")
                    .boolean("failed", "ok")
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::stat("Config generation", "Generation of the running configuration; rises on every applied reload.")
                    .query(format!("max({})", serving("nbu_exporter_config_generation")), "")
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::stat("Config watcher", "Whether the config file watcher runs (else reloads rely on the content poll).")
                    .query(format!("min({})", serving("nbu_exporter_config_watcher_up")), "")
                    .boolean("polling", "watching")
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::stat("Rejected reloads", "Reload attempts rejected or failed in the dashboard's time range.")
                    .query(
                        format!(
                            "sum({}) or vector(0)",
                            serving(r#"increase(nbu_exporter_config_reloads_total{result=~"rejected|failed"}[$__range])"#)
                        ),
                        "",
                    )
                    .thresholds("green", &[("orange", 1.0)])
                    .size(6, 4),
            ),
            Item::Row("Headline figures (jobs that ended in the collection window)"),
            Item::Panel(
                Panel::stat("Jobs ended", "")
                    .query(format!("sum({})", sel("nbu_jobs_count", "")), "")
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("Backup success", "Backups with status 0 over all backups.")
                    .query(success_ratio("BACKUP", ""), "")
                    .unit("percentunit")
                    .thresholds("red", &[("orange", 0.9), ("green", 0.98)])
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("Failed jobs", "Jobs with a status other than 0 (success) and 1 (partial success).")
                    .query(format!("sum({}) or vector(0)", sel("nbu_status_count", FAILED)), "")
                    .thresholds("green", &[("red", 1.0)])
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("Data backed up", "")
                    .query(format!("sum({})", sel("nbu_jobs_bytes", r#"action="BACKUP""#)), "")
                    .unit("bytes")
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("Active / queued jobs", "Unfinished jobs right now.")
                    .query(format!("sum({})", sel("nbu_jobs_state_count", r#"state="ACTIVE""#)), "active")
                    .query(format!("sum({})", sel("nbu_jobs_queued_count", "")), "queued")
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("Storage used", "Used over capacity of the storage units that report one.")
                    .query(storage_used_ratio(""), "")
                    .unit("percentunit")
                    .thresholds("green", &[("orange", 0.8), ("red", 0.9)])
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("NetBackup alerts", "Alerts NetBackup holds (alerts collector).")
                    .query(format!("sum({})", sel("nbu_alerts_count", "")), "")
                    .thresholds("green", &[("orange", 1.0)])
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::stat("Infected files", "Files found infected by malware scans in the window (malware collector).")
                    .query(format!("sum({})", sel("nbu_malware_files_infected", "")), "")
                    .thresholds("green", &[("red", 1.0)])
                    .size(3, 4),
            ),
            Item::Panel(
                Panel::timeseries("Backups by outcome", "Backups that ended in the window, per site.")
                    .query(
                        format!("sum by (site) ({})", sel("nbu_status_count", r#"action="BACKUP", status="0""#)),
                        "{{site}} success",
                    )
                    .query(
                        format!("sum by (site) ({})", sel("nbu_status_count", r#"action="BACKUP", status="1""#)),
                        "{{site}} partial",
                    )
                    .query(
                        format!(
                            "sum by (site) ({})",
                            sel("nbu_status_count", &format!(r#"action="BACKUP", {FAILED}"#))
                        ),
                        "{{site}} failed",
                    )
                    .size(24, 8),
            ),
        ],
    }
}
