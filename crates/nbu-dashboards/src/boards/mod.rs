//! The dashboards, one file each: what they show, as PromQL over the exporter's metrics
//! (names and labels as in the README's metrics reference and the opt-in collectors'
//! contract). Every selector of a per-site metric filters on `site=~"$site"`; the
//! exporter-wide metrics, which have no `site` label, are kept for the exporters serving a
//! selected site with [`serving`].
//!
//! Layout, variables, links and JSON are `model`'s business, not the boards'.

use crate::model::Dashboard;

mod clients;
mod exporter;
mod jobs;
mod overview;
mod protection;
mod sites;
mod storage;
mod tape;

/// Every dashboard, in the order of their links.
pub fn all() -> Vec<Dashboard> {
    vec![
        overview::dashboard(),
        jobs::dashboard(),
        storage::dashboard(),
        tape::dashboard(),
        protection::dashboard(),
        clients::dashboard(),
        sites::dashboard(),
        exporter::dashboard(),
    ]
}

/// `metric{site=~"$site", <more>}`.
fn sel(metric: &str, more: &str) -> String {
    if more.is_empty() {
        format!(r#"{metric}{{site=~"$site"}}"#)
    } else {
        format!(r#"{metric}{{site=~"$site", {more}}}"#)
    }
}

/// `expr` (over exporter-wide metrics, which carry no `site` label) kept for the scrape
/// targets that serve at least one selected site.
fn serving(expr: &str) -> String {
    format!("({expr}) and on (instance) {}", sel("nbu_up", ""))
}

/// Jobs of `action` with NetBackup status 0 over all jobs of `action`, per `by`.
fn success_ratio(action: &str, by: &str) -> String {
    let all = sel("nbu_status_count", &format!(r#"action="{action}""#));
    let ok = sel("nbu_status_count", &format!(r#"action="{action}", status="0""#));
    if by.is_empty() {
        format!("sum({ok}) / sum({all})")
    } else {
        format!("sum by ({by}) ({ok}) / sum by ({by}) ({all})")
    }
}

/// Used over total capacity of the storage units that report a capacity, per `by`.
fn storage_used_ratio(by: &str) -> String {
    let grouping = if by.is_empty() {
        String::new()
    } else {
        format!(" by ({by})")
    };
    let capacity = format!("({} > 0)", sel("nbu_disk_capacity_bytes", ""));
    format!(
        "sum{grouping} ({} and on (site, name, type) {capacity}) / sum{grouping} {capacity}",
        sel("nbu_disk_bytes", r#"size="used""#)
    )
}

/// Failed jobs: status other than 0 (success) and 1 (partial success).
const FAILED: &str = r#"status!~"0|1""#;
