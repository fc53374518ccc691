//! `nbu_alerts_count` and `nbu_alerts_latest_timestamp_seconds`: alerts per `severity` x
//! `category`, and the newest `createdDateTime` of each group. An alert whose time does not
//! parse still counts; a group with no parsable time has no timestamp sample.
//!
//! Pure: alerts in, text out.

use std::collections::BTreeMap;

use super::part::{family, typed, PartSite};
use super::text::{TextWriter, Value};
use crate::nbu::alerts::Alert;
use crate::timefmt::{parse_rfc3339, UnixMillis};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertGroup {
    pub count: u64,
    pub newest: Option<UnixMillis>,
}

/// Alerts by `(severity, category)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertsSummary {
    pub groups: BTreeMap<(String, String), AlertGroup>,
}

impl AlertsSummary {
    pub fn add(&mut self, alert: &Alert) {
        let a = &alert.attributes;
        let group = self
            .groups
            .entry((a.severity.clone(), a.category.clone()))
            .or_default();
        group.count += 1;
        if let Some(t) = parse_rfc3339(&a.created_date_time) {
            group.newest = Some(group.newest.map_or(t, |n| n.max(t)));
        }
    }
}

pub(crate) fn write(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<AlertsSummary>(sites);
    family(
        w,
        &sites,
        "nbu_alerts_count",
        "NetBackup alerts (all of them, no time filter) by severity and category.",
        |w, site, s| {
            for ((severity, category), g) in &s.groups {
                w.sample("nbu_alerts_count", "")
                    .label_escaped("site", site)
                    .label("severity", severity)
                    .label("category", category)
                    .value(Value::U(g.count));
            }
        },
    );
    family(
        w,
        &sites,
        "nbu_alerts_latest_timestamp_seconds",
        "Unix time of the newest alert of a severity and category.",
        |w, site, s| {
            for ((severity, category), g) in &s.groups {
                if let Some(t) = g.newest {
                    w.sample("nbu_alerts_latest_timestamp_seconds", "")
                        .label_escaped("site", site)
                        .label("severity", severity)
                        .label("category", category)
                        .value(Value::F(t as f64 / 1000.0));
                }
            }
        },
    );
}
