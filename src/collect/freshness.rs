//! Per-client backup freshness, kept for the allowlisted clients of one site: the newest
//! successful backup of each (from the jobs the sweep reads anyway, else from one targeted
//! query), the jobs that ended in the window, and the newest success per policy and job
//! type. Values once seen are kept for the life of the site runtime, so an address change
//! (a new runtime) drops them with the rest of the site's cache.
//!
//! The jobs hook is narrow on purpose: [`FreshnessBook::begin_jobs`], then
//! [`FreshnessBook::observe`] for each job record however the jobs are read, then
//! [`FreshnessBook::end_jobs`]. The stream may be a full download (say so first with
//! [`FreshnessBook::full_download`]) or only the jobs changed since the last sweep
//! (incremental collection): the window counts come from one entry per allowlisted job
//! (the newest record wins), evicted when it leaves the window, so both give the same
//! counts. A client whose targeted query found no success is not asked again until a
//! restart, an allowlist change or an address change; a success in the jobs stream still
//! updates it.
//!
//! Pure state: it knows nothing of HTTP, threads or Prometheus.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::metrics::clients::ClientsView;
use crate::nbu::Job;
use crate::timefmt::UnixMillis;

#[derive(Debug, Default)]
pub struct FreshnessBook {
    allowlist: BTreeSet<String>,
    /// Clients whose targeted query found no successful backup.
    none_found: BTreeSet<String>,
    view: ClientsView,
    /// The allowlisted clients' finished jobs, by job id: (client, action, status), end.
    /// Jobs without an id get ids of their own below zero.
    window_jobs: HashMap<i64, ((String, String, String), UnixMillis)>,
    /// The next id for a job record without one.
    anonymous: i64,
    window_start: UnixMillis,
}

impl FreshnessBook {
    /// Sets the allowlist. A change forgets the clients no longer listed and who was
    /// found to have no success, so a newly listed client is asked once.
    pub fn set_allowlist(&mut self, allowlist: &[String]) {
        let new: BTreeSet<String> = allowlist.iter().cloned().collect();
        if new == self.allowlist {
            return;
        }
        self.none_found.clear();
        self.view.last_backup.retain(|c, _| new.contains(c));
        self.view.jobs.retain(|(c, _, _), _| new.contains(c));
        self.window_jobs.retain(|_, ((c, _, _), _)| new.contains(c));
        self.view.last_job_success.retain(|(c, _, _), _| new.contains(c));
        self.allowlist = new;
    }

    /// Forgets everything (the per-client collector was disabled).
    pub fn clear(&mut self) {
        *self = FreshnessBook::default();
    }

    /// A jobs pass begins; jobs that ended at or after `window_start` count in the window.
    pub fn begin_jobs(&mut self, window_start: UnixMillis) {
        self.window_start = window_start;
    }

    /// The stream that follows holds every needed job: what was kept of earlier
    /// listings goes (a job deleted on the server leaves the counts here).
    pub fn full_download(&mut self) {
        self.window_jobs.clear();
    }

    /// One job record of the jobs stream.
    pub fn observe(&mut self, job: &Job) {
        if !self.allowlist.contains(&job.client_name) {
            return;
        }
        let id = if job.job_id == 0 {
            self.anonymous -= 1;
            self.anonymous
        } else {
            job.job_id
        };
        let Some(end) = job.end_time else {
            // Not finished (again): it counts in no window until it ends.
            self.window_jobs.remove(&id);
            return;
        };
        let client = &job.client_name;
        if job.status == 0 {
            if job.job_type == "BACKUP" {
                let newest = self.view.last_backup.entry(client.clone()).or_insert(end);
                *newest = (*newest).max(end);
                self.none_found.remove(client);
            }
            let key = (client.clone(), job.policy_name.clone(), job.job_type.clone());
            let newest = self.view.last_job_success.entry(key).or_insert(end);
            *newest = (*newest).max(end);
        }
        let key = (client.clone(), job.job_type.clone(), job.status.to_string());
        self.window_jobs.insert(id, (key, end));
    }

    /// The jobs pass ended: jobs that left the window are evicted, and the window counts
    /// are those of the jobs kept.
    pub fn end_jobs(&mut self) {
        let window_start = self.window_start;
        self.window_jobs.retain(|_, (_, end)| *end >= window_start);
        let mut counts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
        for (key, _) in self.window_jobs.values() {
            *counts.entry(key.clone()).or_default() += 1;
        }
        self.view.jobs = counts;
    }

    /// Allowlisted clients whose newest success is unknown and not yet asked for.
    pub fn to_query(&self) -> Vec<String> {
        self.allowlist
            .iter()
            .filter(|c| !self.view.last_backup.contains_key(*c) && !self.none_found.contains(*c))
            .cloned()
            .collect()
    }

    /// The answer of a targeted query for `client`.
    pub fn record_query(&mut self, client: &str, newest: Option<UnixMillis>) {
        if !self.allowlist.contains(client) {
            return; // dropped from the allowlist while the query ran
        }
        match newest {
            Some(end) => {
                let known = self.view.last_backup.entry(client.to_string()).or_insert(end);
                *known = (*known).max(end);
            }
            None => {
                if !self.view.last_backup.contains_key(client) {
                    self.none_found.insert(client.to_string());
                }
            }
        }
    }

    pub fn view(&self) -> ClientsView {
        self.view.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(client: &str, job_type: &str, status: i64, end: Option<i64>) -> Job {
        Job {
            client_name: client.into(),
            policy_name: "gold".into(),
            job_type: job_type.into(),
            status,
            end_time: end,
            ..Job::default()
        }
    }

    #[test]
    fn jobs_stream_then_targeted_queries() {
        let mut book = FreshnessBook::default();
        book.set_allowlist(&["a".into(), "b".into(), "c".into()]);
        assert_eq!(book.to_query(), ["a", "b", "c"]);
        book.begin_jobs(1_000);
        book.full_download();
        for j in [
            job("a", "BACKUP", 0, Some(900)),
            job("a", "BACKUP", 0, Some(1_500)),
            job("a", "BACKUP", 1, Some(1_600)),
            job("a", "RESTORE", 0, Some(1_700)),
            job("b", "BACKUP", 0, None),
            job("zz", "BACKUP", 0, Some(1_500)),
        ] {
            book.observe(&j);
        }
        book.end_jobs();
        let v = book.view();
        assert_eq!(v.last_backup, BTreeMap::from([("a".to_string(), 1_500)]));
        let jobs: Vec<_> = v
            .jobs
            .iter()
            .map(|((c, a, s), n)| format!("{c} {a} {s} {n}"))
            .collect();
        assert_eq!(jobs, ["a BACKUP 0 1", "a BACKUP 1 1", "a RESTORE 0 1"]);
        assert_eq!(v.last_job_success.len(), 2);
        assert_eq!(book.to_query(), ["b", "c"]);
        book.record_query("b", Some(100));
        book.record_query("c", None);
        assert!(book.to_query().is_empty(), "c is not asked again");
        // A success in the jobs stream still updates c.
        book.begin_jobs(1_000);
        book.full_download();
        book.observe(&job("c", "BACKUP", 0, Some(2_000)));
        book.end_jobs();
        assert_eq!(book.view().last_backup.get("c"), Some(&2_000));
        assert_eq!(
            book.view().jobs.len(),
            1,
            "a full download starts the counts anew"
        );
        // An allowlist change forgets dropped clients and who had none.
        book.record_query("c", None);
        book.set_allowlist(&["a".into(), "d".into()]);
        assert_eq!(book.to_query(), ["d"]);
        assert_eq!(book.view().last_backup.keys().collect::<Vec<_>>(), ["a"]);
    }

    fn job_with_id(id: i64, client: &str, status: i64, end: Option<i64>) -> Job {
        Job {
            job_id: id,
            ..job(client, "BACKUP", status, end)
        }
    }

    /// Incremental streams (only the changed jobs) give the counts a full download gives:
    /// a job's newest record replaces its older one, jobs leave with the window.
    #[test]
    fn incremental_streams_count_like_full_downloads() {
        let mut book = FreshnessBook::default();
        book.set_allowlist(&["a".into()]);
        book.begin_jobs(1_000);
        book.full_download();
        book.observe(&job_with_id(1, "a", 0, Some(1_100)));
        book.observe(&job_with_id(2, "a", 0, None));
        book.end_jobs();
        let counts = |book: &FreshnessBook| -> Vec<String> {
            let v = book.view();
            v.jobs
                .iter()
                .map(|((c, a, s), n)| format!("{c} {a} {s} {n}"))
                .collect()
        };
        assert_eq!(counts(&book), ["a BACKUP 0 1"]);
        // Job 2 ends with status 1; job 1 is not listed again (it did not change).
        book.begin_jobs(1_000);
        book.observe(&job_with_id(2, "a", 1, Some(1_200)));
        book.end_jobs();
        assert_eq!(counts(&book), ["a BACKUP 0 1", "a BACKUP 1 1"]);
        // Job 2 listed again with the same end: still counted once.
        book.begin_jobs(1_000);
        book.observe(&job_with_id(2, "a", 1, Some(1_200)));
        book.end_jobs();
        assert_eq!(counts(&book), ["a BACKUP 0 1", "a BACKUP 1 1"]);
        // The window moves past job 1.
        book.begin_jobs(1_150);
        book.end_jobs();
        assert_eq!(counts(&book), ["a BACKUP 1 1"]);
        assert_eq!(book.view().last_backup.get("a"), Some(&1_100), "kept once seen");
    }
}
