//! Turns a site's tracked jobs (`collect::jobs::JobTable`) into the small aggregate that
//! the jobs metrics are built from. A snapshot keeps only the summary.
//!
//! Pure: a table and a window in, numbers out. It knows nothing of HTTP, Prometheus types
//! or sites.
//!
//! Which job counts where (the Go exporter saw no unfinished jobs because it filtered on
//! `endTime`; we fetch them separately):
//! - jobs that ended inside the window feed counts, bytes, status, files, dedup and duration;
//! - those plus every unfinished job feed the per-state count;
//! - every job whose state is QUEUED feeds the queue-reason count.
//!
//! Jobs are visited in job id order, so sums of floating-point values come out the same
//! whether the table was built by one download or kept up to date sweep after sweep.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::collect::jobs::{JobTable, ACTION, POLICY, REASON, STATE, STATUS};
use crate::nbu::Job;
use crate::timefmt::UnixMillis;

/// Upper bounds (seconds) of the `nbu_job_duration_seconds` buckets, as in the Go exporter.
pub const DURATION_BUCKETS: [f64; 9] = [
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
];

/// A label value, shared with the jobs table's interned texts: a summary holds a few
/// hundred keys a site, each two or three of these, so no key owns a copy.
pub type LabelText = Arc<str>;
/// Label values `(action, policy_type, status)`.
pub type OutcomeKey = (LabelText, LabelText, LabelText);
/// Label values `(action, policy_type)`.
pub type PolicyKey = (LabelText, LabelText);
/// Label values `(action, X)` where X is a status, a state or a queue reason.
pub type ActionKey = (LabelText, LabelText);

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CountBytes {
    pub count: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DurationHistogram {
    /// Non-cumulative counts per bucket of `DURATION_BUCKETS`; values above the last bound
    /// only count towards `count`.
    pub buckets: [u64; 9],
    pub count: u64,
    pub sum_seconds: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DedupMean {
    pub sum: f64,
    pub n: u64,
}

impl DedupMean {
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobsSummary {
    /// `nbu_jobs_count` and `nbu_jobs_bytes`: ended in the window.
    pub by_outcome: BTreeMap<OutcomeKey, CountBytes>,
    /// `nbu_status_count{action,status}`: ended in the window.
    pub status_count: BTreeMap<ActionKey, u64>,
    /// `nbu_jobs_files_count{action,policy_type}`: ended in the window.
    pub files: BTreeMap<PolicyKey, u64>,
    /// `nbu_jobs_dedup_ratio{action,policy_type}`: mean over ended jobs that reported a
    /// ratio; a key with no reporting job has no entry (never a fake 0).
    pub dedup: BTreeMap<PolicyKey, DedupMean>,
    /// `nbu_job_duration_seconds{action,policy_type}`: ended jobs with end >= start.
    pub durations: BTreeMap<PolicyKey, DurationHistogram>,
    /// `nbu_jobs_state_count{action,state}`: ended in the window plus all unfinished.
    pub state_count: BTreeMap<ActionKey, u64>,
    /// `nbu_jobs_queued_count{action,reason}`: every QUEUED job.
    pub queued: BTreeMap<ActionKey, u64>,
    /// How many distinct jobs fed at least one of the above (the jobs tracked).
    pub jobs_seen: u64,
}

/// A job has finished when it is DONE or carries a real end time.
pub fn is_finished(job: &Job) -> bool {
    job.state.eq_ignore_ascii_case("DONE") || job.end_time.is_some()
}

impl JobsSummary {
    /// Summarises `jobs` for the window starting at `window_start`; a job listed more
    /// than once counts once, as its last record.
    pub fn from_jobs(jobs: &[Job], window_start: UnixMillis) -> JobsSummary {
        let mut table = JobTable::default();
        for job in jobs {
            table.receive(job);
        }
        if let Err(e) = table.settle(window_start) {
            log::warn!(error:% = e; "jobs summary incomplete");
        }
        JobsSummary::from_table(&table, window_start)
    }

    /// Summarises the needed jobs of `table` for the window starting at `window_start`.
    pub fn from_table(table: &JobTable, window_start: UnixMillis) -> JobsSummary {
        // Aggregated by label id, then keyed by text; per key, values are added in job id
        // order.
        type Ids2 = (u16, u16);
        let mut by_outcome: BTreeMap<(u16, u16, u16), CountBytes> = BTreeMap::new();
        let mut status_count: BTreeMap<Ids2, u64> = BTreeMap::new();
        let mut files: BTreeMap<Ids2, u64> = BTreeMap::new();
        let mut dedup: BTreeMap<Ids2, DedupMean> = BTreeMap::new();
        let mut durations: BTreeMap<Ids2, DurationHistogram> = BTreeMap::new();
        let mut state_count: BTreeMap<Ids2, u64> = BTreeMap::new();
        let mut queued: BTreeMap<Ids2, u64> = BTreeMap::new();
        let mut jobs_seen = 0;
        for job in &table.jobs {
            if !job.is_needed(window_start) {
                continue;
            }
            jobs_seen += 1;
            let action = job.label(ACTION);
            let policy = job.label(POLICY);
            let ended_in_window = job.ended_in_window(window_start);
            if ended_in_window {
                let status = job.label(STATUS);
                let cb = by_outcome.entry((action, policy, status)).or_default();
                cb.count += 1;
                cb.bytes = cb.bytes.saturating_add(job.bytes());
                *status_count.entry((action, status)).or_default() += 1;
                *files.entry((action, policy)).or_default() += job.files();
                if let Some(ratio) = job.dedup() {
                    let d = dedup.entry((action, policy)).or_default();
                    d.sum += ratio;
                    d.n += 1;
                }
                if let (Some(start), Some(end)) = (job.start(), job.end()) {
                    if end >= start {
                        let seconds = (end - start) as f64 / 1000.0;
                        let h = durations.entry((action, policy)).or_default();
                        if let Some(i) = DURATION_BUCKETS.iter().position(|b| seconds <= *b) {
                            h.buckets[i] += 1;
                        }
                        h.count += 1;
                        h.sum_seconds += seconds;
                    }
                }
            }
            if ended_in_window || job.is_unfinished() {
                *state_count.entry((action, job.label(STATE))).or_default() += 1;
            }
            if job.is_queued() {
                *queued.entry((action, job.label(REASON))).or_default() += 1;
            }
        }
        let text = |id: u16| table.labels.shared(id);
        let two = |(a, b): Ids2| (text(a), text(b));
        fn rekey<K: Ord, V>(map: BTreeMap<Ids2, V>, key: impl Fn(Ids2) -> K) -> BTreeMap<K, V> {
            map.into_iter().map(|(k, v)| (key(k), v)).collect()
        }
        JobsSummary {
            by_outcome: by_outcome
                .into_iter()
                .map(|((a, p, s), v)| ((text(a), text(p), text(s)), v))
                .collect(),
            status_count: rekey(status_count, two),
            files: rekey(files, two),
            dedup: rekey(dedup, two),
            durations: rekey(durations, two),
            state_count: rekey(state_count, two),
            queued: rekey(queued, two),
            jobs_seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, state: &str, status: i64, kb: i64, start: Option<i64>, end: Option<i64>) -> Job {
        Job {
            job_id: id,
            job_type: "BACKUP".into(),
            policy_type: "STANDARD".into(),
            state: state.into(),
            status,
            kilobytes_transferred: kb,
            number_of_files: 10,
            dedup_ratio: Some(2.0),
            start_time: start,
            end_time: end,
            job_queue_reason: None,
            ..Job::default()
        }
    }

    #[test]
    fn window_and_unfinished_rules() {
        let window_start = 1_000_000;
        let mut queued = job(4, "QUEUED", 0, 0, None, None);
        queued.job_queue_reason = Some(2);
        let jobs = vec![
            job(
                1,
                "DONE",
                0,
                100,
                Some(window_start),
                Some(window_start + 120_000),
            ),
            job(2, "DONE", 1, 50, Some(0), Some(window_start - 1)), // ended before the window
            job(3, "ACTIVE", 0, 10, Some(window_start), None),
            queued,
        ];
        let s = JobsSummary::from_jobs(&jobs, window_start);
        let key: OutcomeKey = ("BACKUP".into(), "STANDARD".into(), "0".into());
        assert_eq!(
            s.by_outcome.get(&key),
            Some(&CountBytes {
                count: 1,
                bytes: 100 * 1024
            })
        );
        assert_eq!(s.by_outcome.len(), 1);
        assert_eq!(s.state_count.get(&("BACKUP".into(), "DONE".into())), Some(&1));
        assert_eq!(s.state_count.get(&("BACKUP".into(), "ACTIVE".into())), Some(&1));
        assert_eq!(s.state_count.get(&("BACKUP".into(), "QUEUED".into())), Some(&1));
        assert_eq!(s.queued.get(&("BACKUP".into(), "2".into())), Some(&1));
        let h = &s.durations[&("BACKUP".into(), "STANDARD".into())];
        assert_eq!((h.count, h.buckets[1], h.sum_seconds), (1, 1, 120.0));
        // Job 2 ended before the window and feeds nothing.
        assert_eq!(s.jobs_seen, 3);
    }
}
