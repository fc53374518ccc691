//! The per-client families of allowlisted clients: the newest successful backup
//! (`nbu_client_last_successful_backup_timestamp_seconds`), jobs that ended in the window
//! (`nbu_client_jobs_count`) and the newest success per policy and job type
//! (`nbu_client_last_job_success_seconds`).
//!
//! Pure: a [`ClientsView`] in, text out. How the view is kept is `collect::freshness`.

use std::collections::BTreeMap;

use super::part::{family, typed, PartSite};
use super::text::{TextWriter, Value};
use crate::timefmt::UnixMillis;

/// What `/metrics` shows of the allowlisted clients.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientsView {
    /// `endTime` of the newest BACKUP with status 0, per client.
    pub last_backup: BTreeMap<String, UnixMillis>,
    /// Jobs that ended in the window per `(client, jobType, status)`.
    pub jobs: BTreeMap<(String, String, String), u64>,
    /// `endTime` of the newest status-0 job per `(client, policyName, jobType)`.
    pub last_job_success: BTreeMap<(String, String, String), UnixMillis>,
}

fn seconds(ms: UnixMillis) -> Value {
    Value::F(ms as f64 / 1000.0)
}

pub(crate) fn write(w: &mut TextWriter, sites: &[PartSite]) {
    let sites = typed::<ClientsView>(sites);
    family(
        w,
        &sites,
        "nbu_client_last_successful_backup_timestamp_seconds",
        "Unix time of the end of the newest successful (status 0) BACKUP job of an allowlisted client, at any time.",
        |w, site, v| {
            for (client, at) in &v.last_backup {
                w.sample("nbu_client_last_successful_backup_timestamp_seconds", "")
                    .label_escaped("site", site)
                    .label("client", client)
                    .value(seconds(*at));
            }
        },
    );
    family(
        w,
        &sites,
        "nbu_client_jobs_count",
        "Jobs of an allowlisted client that ended in the scrapingInterval window, by job type and status.",
        |w, site, v| {
            for ((client, action, status), n) in &v.jobs {
                w.sample("nbu_client_jobs_count", "")
                    .label_escaped("site", site)
                    .label("client", client)
                    .label("action", action)
                    .label("status", status)
                    .value(Value::U(*n));
            }
        },
    );
    family(
        w,
        &sites,
        "nbu_client_last_job_success_seconds",
        "Unix time of the end of the newest successful job of an allowlisted client per policy and job type, kept once seen.",
        |w, site, v| {
            for ((client, policy, action), at) in &v.last_job_success {
                w.sample("nbu_client_last_job_success_seconds", "")
                    .label_escaped("site", site)
                    .label("client", client)
                    .label("policy", policy)
                    .label("action", action)
                    .value(seconds(*at));
            }
        },
    );
}
