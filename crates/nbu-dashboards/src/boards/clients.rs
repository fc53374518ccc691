//! Per-client freshness (perClient collector, allowlisted clients only): how long since
//! each client's last successful backup, and its recent jobs.

use super::{sel, FAILED};
use crate::model::{Dashboard, Item, Panel, Variable};

/// `client=~"$client"`, the dashboard's own variable.
const CLIENT: &str = r#"client=~"$client""#;
const DAY: f64 = 86_400.0;

pub fn dashboard() -> Dashboard {
    let client_sel = |metric: &str, more: &str| {
        if more.is_empty() {
            sel(metric, CLIENT)
        } else {
            sel(metric, &format!("{CLIENT}, {more}"))
        }
    };
    let since_backup = format!(
        "time() - {}",
        client_sel("nbu_client_last_successful_backup_timestamp_seconds", "")
    );
    Dashboard {
        uid: "nbu-clients",
        title: "NetBackup / Client freshness",
        description: "Time since each allowlisted client's last successful backup",
        variables: vec![Variable {
            name: "client",
            label: "Client",
            selector: sel("nbu_client_last_successful_backup_timestamp_seconds", ""),
            value_label: "client",
        }],
        items: vec![
            Item::Row("Freshness"),
            Item::Panel(
                Panel::stat("Clients", "Allowlisted clients with a known successful backup.")
                    .query(
                        format!(
                            "count({})",
                            client_sel("nbu_client_last_successful_backup_timestamp_seconds", "")
                        ),
                        "",
                    )
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::stat(
                    "Older than 24 h",
                    "Clients whose last successful backup is more than a day old.",
                )
                .query(format!("count({since_backup} > {DAY}) or vector(0)"), "")
                .thresholds("green", &[("orange", 1.0)])
                .size(6, 4),
            ),
            Item::Panel(
                Panel::stat("Older than 48 h", "")
                    .query(format!("count({since_backup} > {}) or vector(0)", 2.0 * DAY), "")
                    .thresholds("green", &[("red", 1.0)])
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::stat("Oldest", "Age of the stalest client's last successful backup.")
                    .query(format!("max({since_backup})"), "")
                    .unit("s")
                    .thresholds("green", &[("orange", DAY), ("red", 2.0 * DAY)])
                    .size(6, 4),
            ),
            Item::Panel(
                Panel::bargauge("Time since last successful backup", "")
                    .query(since_backup.clone(), "{{site}} {{client}}")
                    .unit("s")
                    .thresholds("green", &[("orange", DAY), ("red", 2.0 * DAY)])
                    .size(12, 10),
            ),
            Item::Panel(
                Panel::table(
                    "Last success per policy and job type",
                    "Age of the newest successful job per client, policy and job type.",
                )
                .query(
                    format!(
                        "time() - {}",
                        client_sel("nbu_client_last_job_success_seconds", "")
                    ),
                    "Age",
                )
                .unit("s")
                .thresholds("green", &[("orange", DAY), ("red", 2.0 * DAY)])
                .size(12, 10),
            ),
            Item::Row("Jobs that ended in the collection window"),
            Item::Panel(
                Panel::timeseries("Jobs by client", "")
                    .query(
                        format!(
                            "sum by (site, client, action) ({})",
                            client_sel("nbu_client_jobs_count", "")
                        ),
                        "{{site}} {{client}} {{action}}",
                    )
                    .stacked(),
            ),
            Item::Panel(
                Panel::timeseries("Failed jobs by client", "Status other than 0 and 1.")
                    .query(
                        format!(
                            "sum by (site, client, status) ({})",
                            client_sel("nbu_client_jobs_count", FAILED)
                        ),
                        "{{site}} {{client}} status {{status}}",
                    )
                    .stacked(),
            ),
        ],
    }
}
