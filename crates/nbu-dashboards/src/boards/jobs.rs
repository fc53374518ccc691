//! Jobs: what ended in the collection window (`server.scrapingInterval`), by type, policy
//! type and status, what is running or queued, and how long jobs take.

use super::{sel, success_ratio, FAILED};
use crate::model::{Dashboard, Item, Panel};

pub fn dashboard() -> Dashboard {
    Dashboard {
        uid: "nbu-jobs",
        title: "NetBackup / Jobs",
        description: "Jobs by type, policy type, status and state; durations and queues",
        variables: Vec::new(),
        items: vec![
            Item::Row("Jobs that ended in the collection window"),
            Item::Panel(Panel::stat("Jobs ended", "").query(format!("sum({})", sel("nbu_jobs_count", "")), "")),
            Item::Panel(
                Panel::stat("Backup success", "Backups with status 0 over all backups.")
                    .query(success_ratio("BACKUP", ""), "")
                    .unit("percentunit")
                    .thresholds("red", &[("orange", 0.9), ("green", 0.98)]),
            ),
            Item::Panel(
                Panel::stat("Partial successes", "Jobs with status 1: some files were not backed up.")
                    .query(format!("sum({}) or vector(0)", sel("nbu_status_count", r#"status="1""#)), "")
                    .thresholds("green", &[("orange", 1.0)]),
            ),
            Item::Panel(
                Panel::stat("Failed jobs", "Jobs with a status other than 0 and 1.")
                    .query(format!("sum({}) or vector(0)", sel("nbu_status_count", FAILED)), "")
                    .thresholds("green", &[("red", 1.0)]),
            ),
            Item::Panel(
                Panel::stat("Restores", "")
                    .query(format!("sum({}) or vector(0)", sel("nbu_status_count", r#"action="RESTORE""#)), ""),
            ),
            Item::Panel(
                Panel::stat("Data transferred", "")
                    .query(format!("sum({})", sel("nbu_jobs_bytes", "")), "")
                    .unit("bytes"),
            ),
            Item::Panel(
                Panel::timeseries("Jobs by type", "")
                    .query(format!("sum by (site, action) ({})", sel("nbu_jobs_count", "")), "{{site}} {{action}}")
                    .stacked(),
            ),
            Item::Panel(
                Panel::timeseries("Unsuccessful jobs by status code", "Status 1 is a partial success.")
                    .query(
                        format!("sum by (site, status) ({})", sel("nbu_status_count", r#"status!="0""#)),
                        "{{site}} status {{status}}",
                    )
                    .stacked(),
            ),
            Item::Panel(
                Panel::timeseries("Bytes backed up by policy type", "")
                    .query(
                        format!("sum by (site, policy_type) ({})", sel("nbu_jobs_bytes", r#"action="BACKUP""#)),
                        "{{site}} {{policy_type}}",
                    )
                    .unit("bytes")
                    .stacked(),
            ),
            Item::Panel(
                Panel::timeseries("Files by job type", "")
                    .query(
                        format!("sum by (site, action) ({})", sel("nbu_jobs_files_count", "")),
                        "{{site}} {{action}}",
                    )
                    .stacked(),
            ),
            Item::Panel(
                Panel::timeseries("Deduplication ratio", "Mean over the jobs that reported one.")
                    .query(sel("nbu_jobs_dedup_ratio", ""), "{{site}} {{action}} {{policy_type}}")
                    .min(1.0),
            ),
            Item::Panel(
                Panel::table("Failed jobs", "Jobs with a status other than 0 and 1, by type, policy type and status.")
                    .query(
                        format!(
                            "sum by (site, action, policy_type, status) ({})",
                            sel("nbu_jobs_count", FAILED)
                        ),
                        "Jobs",
                    ),
            ),
            Item::Row("Running and queued"),
            Item::Panel(
                Panel::timeseries("Jobs by state", "Ended in the window plus every unfinished job.")
                    .query(format!("sum by (site, state) ({})", sel("nbu_jobs_state_count", "")), "{{site}} {{state}}")
                    .stacked(),
            ),
            Item::Panel(
                Panel::table("Queued jobs by reason", "NetBackup's queue reason code per job type.")
                    .query(
                        format!("sum by (site, action, reason) ({})", sel("nbu_jobs_queued_count", "")),
                        "Queued",
                    ),
            ),
            Item::Row("Durations"),
            Item::Panel(
                Panel::timeseries(
                    "Job duration, 90th percentile",
                    "From the histogram of jobs that ended in the window (rebuilt every sweep, so read as a gauge).",
                )
                .query(
                    format!(
                        "histogram_quantile(0.9, sum by (site, action, le) ({}))",
                        sel("nbu_job_duration_seconds_bucket", "")
                    ),
                    "{{site}} {{action}}",
                )
                .unit("s"),
            ),
            Item::Panel(
                Panel::timeseries("Mean job duration", "")
                    .query(
                        format!(
                            "sum by (site, action) ({}) / sum by (site, action) ({})",
                            sel("nbu_job_duration_seconds_sum", ""),
                            sel("nbu_job_duration_seconds_count", "")
                        ),
                        "{{site}} {{action}}",
                    )
                    .unit("s"),
            ),
        ],
    }
}
