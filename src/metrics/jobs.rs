//! Jobs families (`nbu_jobs_*`, `nbu_status_count`, `nbu_job_duration_seconds`) from each
//! site's `JobsSummary`, with the names, labels and meaning of the Go exporter.
//!
//! Pure: summaries in, text out. Which job counts where is decided in `collect::summary`;
//! this file only writes what the summary holds. It must not know about HTTP or NetBackup
//! requests.

use std::collections::BTreeMap;

use super::text::{TextWriter, Value};
use super::{write_family, SiteRef};
use crate::collect::summary::{JobsSummary, DURATION_BUCKETS};

pub(crate) fn write(w: &mut TextWriter, sites: &[SiteRef]) {
    const OUTCOME: [&str; 3] = ["action", "policy_type", "status"];
    const POLICY: [&str; 2] = ["action", "policy_type"];
    map_family(
        w,
        sites,
        "nbu_jobs_count",
        "Jobs that ended in the time window, by job type, policy type and status code.",
        OUTCOME,
        |s| &s.by_outcome,
        |k| [&k.0, &k.1, &k.2],
        |v| Some(Value::U(v.count)),
    );
    map_family(
        w,
        sites,
        "nbu_jobs_bytes",
        "Bytes transferred by jobs that ended in the time window, by job type, policy type and status code.",
        OUTCOME,
        |s| &s.by_outcome,
        |k| [&k.0, &k.1, &k.2],
        |v| Some(Value::U(v.bytes)),
    );
    map_family(
        w,
        sites,
        "nbu_status_count",
        "Jobs that ended in the time window, by job type and status code.",
        ["action", "status"],
        |s| &s.status_count,
        |k| [&k.0, &k.1],
        |v| Some(Value::U(*v)),
    );
    map_family(
        w,
        sites,
        "nbu_jobs_files_count",
        "Files processed by jobs that ended in the time window, by job type and policy type.",
        POLICY,
        |s| &s.files,
        |k| [&k.0, &k.1],
        |v| Some(Value::U(*v)),
    );
    map_family(
        w,
        sites,
        "nbu_jobs_dedup_ratio",
        "Mean deduplication ratio of jobs that ended in the time window and reported one; absent for a key with no such job.",
        POLICY,
        |s| &s.dedup,
        |k| [&k.0, &k.1],
        |v| (v.n > 0).then(|| Value::F(v.mean())),
    );
    map_family(
        w,
        sites,
        "nbu_jobs_state_count",
        "Jobs that ended in the time window plus all unfinished jobs, by job type and state.",
        ["action", "state"],
        |s| &s.state_count,
        |k| [&k.0, &k.1],
        |v| Some(Value::U(*v)),
    );
    map_family(
        w,
        sites,
        "nbu_jobs_queued_count",
        "Queued jobs by job type and queue reason code.",
        ["action", "reason"],
        |s| &s.queued,
        |k| [&k.0, &k.1],
        |v| Some(Value::U(*v)),
    );
    write_durations(w, sites);
}

fn summary<'a>(site: &SiteRef<'a>) -> Option<&'a JobsSummary> {
    site.snap.jobs.as_ref().map(|s| &*s.value)
}

/// A gauge family with one sample per map entry of every site's summary.
#[allow(clippy::too_many_arguments)]
fn map_family<K, V, const N: usize>(
    w: &mut TextWriter,
    sites: &[SiteRef],
    name: &str,
    help: &str,
    names: [&str; N],
    map: impl Fn(&JobsSummary) -> &BTreeMap<K, V>,
    key: impl Fn(&K) -> [&str; N],
    value: impl Fn(&V) -> Option<Value>,
) {
    write_family(w, sites, name, help, "gauge", |w, site| {
        let Some(s) = summary(site) else { return };
        for (k, v) in map(s) {
            let Some(value) = value(v) else { continue };
            let mut sample = w.sample(name, "").label_escaped("site", &site.label);
            for (label, text) in names.iter().zip(key(k)) {
                sample = sample.label(label, text);
            }
            sample.value(value);
        }
    });
}

/// `nbu_job_duration_seconds`: cumulative buckets rebuilt from the window every sweep, so
/// (as in the Go exporter) it can go down; compare snapshots, don't `rate()` it.
fn write_durations(w: &mut TextWriter, sites: &[SiteRef]) {
    const NAME: &str = "nbu_job_duration_seconds";
    write_family(
        w,
        sites,
        NAME,
        "Duration of jobs that ended in the time window, by job type and policy type; rebuilt every sweep, so not monotonic.",
        "histogram",
        |w, site| {
            let Some(s) = summary(site) else { return };
            for ((action, policy), h) in &s.durations {
                let mut cumulative = 0u64;
                for (bound, n) in DURATION_BUCKETS.iter().zip(h.buckets) {
                    cumulative = cumulative.saturating_add(n);
                    w.sample(NAME, "_bucket")
                        .label_escaped("site", &site.label)
                        .label("action", action)
                        .label("policy_type", policy)
                        .label_f64("le", *bound)
                        .value(Value::U(cumulative));
                }
                // Jobs above the last bound are only in `count`; never let +Inf fall below
                // the last finite bucket, even if a summary were inconsistent.
                let count = h.count.max(cumulative);
                w.sample(NAME, "_bucket")
                    .label_escaped("site", &site.label)
                    .label("action", action)
                    .label("policy_type", policy)
                    .label("le", "+Inf")
                    .value(Value::U(count));
                w.sample(NAME, "_sum")
                    .label_escaped("site", &site.label)
                    .label("action", action)
                    .label("policy_type", policy)
                    .value(Value::F(h.sum_seconds));
                w.sample(NAME, "_count")
                    .label_escaped("site", &site.label)
                    .label("action", action)
                    .label("policy_type", policy)
                    .value(Value::U(count));
            }
        },
    );
}
