//! `nbu_slo_count` and `nbu_slo_subscription_count`: SLO definitions (every page) and
//! their subscriptions. Two SLOs with the same name and workload are summed, so a series is
//! never repeated.
//!
//! Pure: SLOs in, text out.

use std::collections::BTreeMap;

use super::part::{family, typed, PartSite};
use super::text::{TextWriter, Value};
use crate::nbu::slos::Slo;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SloSummary {
    pub count: u64,
    /// `subscriptionCount` per `(name, workloadType)`.
    pub subscriptions: BTreeMap<(String, String), i64>,
}

impl SloSummary {
    pub fn add(&mut self, slo: &Slo) {
        let a = &slo.attributes;
        self.count += 1;
        let n = self
            .subscriptions
            .entry((a.name.clone(), a.workload_type.clone()))
            .or_default();
        *n = n.saturating_add(a.subscription_count);
    }
}

pub(crate) fn write(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<SloSummary>(sites);
    family(
        w,
        &sites,
        "nbu_slo_count",
        "SLO definitions (all pages).",
        |w, site, s| {
            w.sample("nbu_slo_count", "")
                .label_escaped("site", site)
                .value(Value::U(s.count));
        },
    );
    family(
        w,
        &sites,
        "nbu_slo_subscription_count",
        "Subscriptions of an SLO.",
        |w, site, s| {
            for ((slo, workload), n) in &s.subscriptions {
                w.sample("nbu_slo_subscription_count", "")
                    .label_escaped("site", site)
                    .label("slo", slo)
                    .label("workload_type", workload)
                    .value(Value::I(*n));
            }
        },
    );
}
