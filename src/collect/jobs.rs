//! The jobs a site still needs, one compact record each, kept up to date between sweeps
//! by asking NetBackup only for what changed; and the tracker that decides when a sweep
//! must instead download everything again (a resync).
//!
//! A job is *needed* while it can feed a metric (`collect::summary`): it ended inside the
//! window, it has not finished, or it is QUEUED. A resync downloads every needed job
//! (unfinished ones, then those ended since the window start). Between resyncs a sweep
//! asks for the jobs whose `lastUpdateTime` is after the newest one already seen, minus
//! [`OVERLAP`], oldest change first, and folds each record into the table as it arrives;
//! jobs no longer needed are evicted. The high-water mark comes only from NetBackup's own
//! `lastUpdateTime`s, never from the exporter's clock, so a skewed primary clock changes
//! nothing. Every record decoded passes through [`JobTable::receive`] (one hook for
//! per-job observers).
//!
//! What a sweep cannot see: a job deleted on the server (the API lists no deletions). It
//! stays until it leaves the window or the next resync, whichever comes first.
//!
//! It knows the NetBackup client's queries, not HTTP; nothing of Prometheus, nor how the
//! table is summarised (`collect::summary` reads it).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::nbu::{ApiVersion, Client, Job, JobsQuery, NbuError, JOBS_ENDPOINT};
use crate::timefmt::UnixMillis;

/// How far before the high-water mark an incremental sweep starts: changes a few seconds
/// older than the newest one seen may become visible late (NetBackup writes records from
/// several processes), and `gt` is strict at millisecond precision.
pub const OVERLAP: Duration = Duration::from_secs(10);

/// The most distinct texts per label kind (job type, policy type, state, status, queue
/// reason) a table holds; beyond that the sweep fails rather than grow.
const MAX_LABELS: usize = u16::MAX as usize;

/// "No value" for the time fields of a [`TrackedJob`].
const NO_TIME: i64 = i64::MIN;

/// One needed job: 64 bytes, no heap of its own. Label texts are interned per table
/// (`Labels`), numbers are kept as the summary uses them.
///
/// | bytes | field |
/// | --- | --- |
/// | 8 | `job_id` |
/// | 8 + 8 | `start`, `end` (Unix ms, `i64::MIN` when absent) |
/// | 8 | `bytes` (`kilobytesTransferred` x 1024, saturated; negative as 0) |
/// | 8 | `files` (`numberOfFiles`, negative as 0) |
/// | 8 | `dedup` (`dedupRatio`; NaN when absent or not finite) |
/// | 5 x 2 | label ids: action (`jobType`), policy type, state, status, queue reason |
/// | 1 | flags: finished, queued |
/// | 5 | padding |
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackedJob {
    pub job_id: i64,
    start: i64,
    end: i64,
    bytes: u64,
    files: u64,
    dedup: f64,
    labels: [u16; 5],
    flags: u8,
}

const FINISHED: u8 = 1;
const QUEUED: u8 = 2;

/// Label slots of [`TrackedJob::labels`].
pub(crate) const ACTION: usize = 0;
pub(crate) const POLICY: usize = 1;
pub(crate) const STATE: usize = 2;
pub(crate) const STATUS: usize = 3;
pub(crate) const REASON: usize = 4;

impl TrackedJob {
    pub(crate) fn start(&self) -> Option<i64> {
        (self.start != NO_TIME).then_some(self.start)
    }

    pub(crate) fn end(&self) -> Option<i64> {
        (self.end != NO_TIME).then_some(self.end)
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn files(&self) -> u64 {
        self.files
    }

    /// The dedup ratio when the job reported a finite one.
    pub(crate) fn dedup(&self) -> Option<f64> {
        (!self.dedup.is_nan()).then_some(self.dedup)
    }

    pub(crate) fn label(&self, slot: usize) -> u16 {
        self.labels[slot]
    }

    pub(crate) fn is_queued(&self) -> bool {
        self.flags & QUEUED != 0
    }

    pub(crate) fn ended_in_window(&self, window_start: UnixMillis) -> bool {
        self.end().is_some_and(|end| end >= window_start)
    }

    /// Whether the job can feed a metric for this window (see the module doc).
    pub(crate) fn is_needed(&self, window_start: UnixMillis) -> bool {
        self.ended_in_window(window_start) || self.flags & FINISHED == 0 || self.is_queued()
    }

    pub(crate) fn is_unfinished(&self) -> bool {
        self.flags & FINISHED == 0
    }
}

/// Interned label texts, one id space per table.
#[derive(Debug, Default)]
pub(crate) struct Labels {
    /// Shared with the summaries built from the table, whose keys are these texts.
    texts: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u16>,
}

impl Labels {
    fn intern(&mut self, text: &str) -> Result<u16, String> {
        if let Some(id) = self.ids.get(text) {
            return Ok(*id);
        }
        if self.texts.len() >= MAX_LABELS {
            return Err(format!(
                "more than {MAX_LABELS} distinct label values in the jobs of one site"
            ));
        }
        let id = self.texts.len() as u16;
        let text: Arc<str> = text.into();
        self.texts.push(Arc::clone(&text));
        self.ids.insert(text, id);
        Ok(id)
    }

    /// The text of `id`, shared rather than copied.
    pub(crate) fn shared(&self, id: u16) -> Arc<str> {
        self.texts
            .get(usize::from(id))
            .map_or_else(|| Arc::from(""), Arc::clone)
    }
}

fn label_text(value: &str) -> &str {
    if value.is_empty() {
        "UNKNOWN"
    } else {
        value
    }
}

/// The needed jobs of one site, sorted by job id, plus their label texts.
#[derive(Debug, Default)]
pub struct JobTable {
    pub(crate) jobs: Vec<TrackedJob>,
    pub(crate) labels: Labels,
    /// Records received since the last `settle`, not yet in `jobs`.
    pending: Vec<TrackedJob>,
    /// The first error met while receiving (a label table overflow).
    error: Option<String>,
}

impl JobTable {
    /// Every record a sweep decodes passes through here, page by page: it replaces the
    /// job's entry (the newest record wins) or joins the pending ones until `settle`.
    pub fn receive(&mut self, job: &Job) {
        let compact = match self.compact(job) {
            Ok(c) => c,
            Err(e) => {
                self.error.get_or_insert(e);
                return;
            }
        };
        let found = if job.job_id == 0 {
            None // no id: nothing to update, every such record is its own job
        } else {
            self.jobs.binary_search_by_key(&job.job_id, |j| j.job_id).ok()
        };
        match found {
            Some(i) => self.jobs[i] = compact,
            None => self.pending.push(compact),
        }
    }

    fn compact(&mut self, job: &Job) -> Result<TrackedJob, String> {
        let state = &job.state;
        let finished = state.eq_ignore_ascii_case("DONE") || job.end_time.is_some();
        let queued = state.eq_ignore_ascii_case("QUEUED");
        let status = job.status.to_string();
        let reason = job
            .job_queue_reason
            .map_or_else(|| "UNKNOWN".to_string(), |r| r.to_string());
        Ok(TrackedJob {
            job_id: job.job_id,
            start: job.start_time.unwrap_or(NO_TIME),
            end: job.end_time.unwrap_or(NO_TIME),
            bytes: u64::try_from(job.kilobytes_transferred)
                .unwrap_or(0)
                .saturating_mul(1024),
            files: u64::try_from(job.number_of_files).unwrap_or(0),
            dedup: job.dedup_ratio.filter(|r| r.is_finite()).unwrap_or(f64::NAN),
            labels: [
                self.labels.intern(label_text(&job.job_type))?,
                self.labels.intern(label_text(&job.policy_type))?,
                self.labels.intern(label_text(state))?,
                self.labels.intern(&status)?,
                self.labels.intern(&reason)?,
            ],
            flags: if finished { FINISHED } else { 0 } | if queued { QUEUED } else { 0 },
        })
    }

    /// Merges the pending records (the last one received for an id wins), keeps only the
    /// jobs needed for the window starting at `window_start`, and gives back spare
    /// capacity. Fails when receiving met an error.
    pub fn settle(&mut self, window_start: UnixMillis) -> Result<(), String> {
        if !self.pending.is_empty() {
            let mut pending = std::mem::take(&mut self.pending);
            pending.sort_by_key(|j| j.job_id); // stable: arrival order among equals
            let mut merged = Vec::with_capacity(self.jobs.len() + pending.len());
            let (mut old, mut new) = (self.jobs.drain(..).peekable(), pending.into_iter().peekable());
            loop {
                let take_old = match (old.peek(), new.peek()) {
                    (None, None) => break,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (Some(o), Some(n)) => o.job_id.cmp(&n.job_id) != Ordering::Greater,
                };
                let next = if take_old { old.next() } else { new.next() };
                merged.extend(next);
            }
            drop(old);
            // Equal ids are adjacent, the one received last at the end of its run.
            merged.dedup_by(|later, earlier| {
                let same = later.job_id != 0 && later.job_id == earlier.job_id;
                if same {
                    *earlier = *later;
                }
                same
            });
            self.jobs = merged;
        }
        self.jobs.retain(|j| j.is_needed(window_start));
        if self.jobs.capacity() > self.jobs.len() + self.jobs.len() / 4 + 64 {
            self.jobs.shrink_to_fit();
        }
        self.pending = Vec::new();
        self.error.take().map_or(Ok(()), Err)
    }

    /// How many jobs are tracked.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The heap bytes held: records (by capacity) and label texts (approximate).
    pub fn heap_bytes(&self) -> usize {
        // One shared text (two counts and the bytes) and two 16-byte handles a label, plus
        // the id and the hash table's slot.
        let labels: usize = self.labels.texts.iter().map(|t| t.len() + 56).sum();
        (self.jobs.capacity() + self.pending.capacity()) * std::mem::size_of::<TrackedJob>() + labels
    }
}

/// Whether a sweep downloaded every needed job or only what changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepKind {
    Full,
    Incremental,
}

impl SweepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SweepKind::Full => "full",
            SweepKind::Incremental => "incremental",
        }
    }
}

/// What one jobs sweep gave.
#[derive(Clone, Debug, PartialEq)]
pub struct JobsSweep {
    pub kind: SweepKind,
    /// The window start the table was settled for (`collect::summary` takes it).
    pub window_start: UnixMillis,
    /// Why it was full (`None` for an incremental sweep).
    pub full_reason: Option<&'static str>,
    /// Job records received by this sweep (the records of an incremental attempt that
    /// turned into a resync included).
    pub records: u64,
    /// Jobs tracked after it.
    pub tracked: usize,
}

/// The jobs state of one site between sweeps.
#[derive(Debug, Default)]
pub struct JobsTracker {
    table: JobTable,
    /// The newest `lastUpdateTime` (server clock) up to which every change is in `table`;
    /// `None` until a resync has set it.
    high_water: Option<UnixMillis>,
    /// When (exporter clock) the last resync started.
    last_resync: Option<UnixMillis>,
    /// Why the next sweep must be a resync, when something asked for one.
    resync_reason: Option<&'static str>,
    /// The API version of the records in `table`.
    version: Option<ApiVersion>,
    /// Job records received so far by resyncs and by incremental sweeps.
    received_full: u64,
    received_incremental: u64,
}

/// Told about every job record a sweep reads, as it reads it: the hook of per-job
/// observers (per-client freshness), which see the same stream the table does.
pub trait JobsObserver {
    /// A full download starts: every needed job follows, so what the observer kept of
    /// earlier listings may be stale (a job deleted on the server).
    fn full_download(&mut self);
    /// One record, as decoded.
    fn job(&mut self, job: &Job);
}

/// Observes nothing.
pub struct NoJobsObserver;

impl JobsObserver for NoJobsObserver {
    fn full_download(&mut self) {}
    fn job(&mut self, _: &Job) {}
}

/// The per-sweep inputs of [`JobsTracker::sweep`].
#[derive(Clone, Copy, Debug)]
pub struct SweepInput {
    pub version: ApiVersion,
    /// The exporter's clock: the window start is `now - window`, and the resync schedule
    /// runs on it (the high-water mark never does).
    pub now: UnixMillis,
    pub window: Duration,
    /// Time between resyncs; zero: every sweep is one.
    pub resync_interval: Duration,
    pub deadline: Instant,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Why an incremental listing cannot be trusted.
type Broken = &'static str;

impl JobsTracker {
    pub fn new() -> JobsTracker {
        JobsTracker::default()
    }

    /// Makes the next sweep a resync (a reload changed the key, version or window).
    pub fn request_resync(&mut self, reason: &'static str) {
        self.resync_reason.get_or_insert(reason);
    }

    /// Job records received since the tracker was made: `(by resyncs, by incremental
    /// sweeps)`, failed sweeps included.
    pub fn records_received(&self) -> (u64, u64) {
        (self.received_full, self.received_incremental)
    }

    /// Jobs tracked now.
    pub fn tracked(&self) -> usize {
        self.table.len()
    }

    pub fn table(&self) -> &JobTable {
        &self.table
    }

    /// One jobs sweep: a resync when one is due or asked for, else the changes since the
    /// high-water mark; an incremental listing that breaks an assumption turns into a
    /// resync within the same sweep. A failed sweep makes the next one a resync.
    pub fn sweep(&mut self, client: &Client, input: &SweepInput) -> Result<JobsSweep, NbuError> {
        self.sweep_observed(client, input, &mut NoJobsObserver)
    }

    /// [`JobsTracker::sweep`], telling `observer` about every job record read.
    pub fn sweep_observed(
        &mut self,
        client: &Client,
        input: &SweepInput,
        observer: &mut dyn JobsObserver,
    ) -> Result<JobsSweep, NbuError> {
        let window_start = input.now.saturating_sub(millis(input.window));
        let before = self.received_full + self.received_incremental;
        let mut reason = self.resync_due(input);
        let result = match reason {
            Some(reason) => self.resync(client, input, window_start, reason, observer),
            None => match self.incremental(client, input, window_start, observer) {
                Ok(None) => Ok(SweepKind::Incremental),
                Ok(Some(broken)) => {
                    log::warn!(site = client.site(), reason = broken; "jobs listing untrustworthy, resyncing");
                    reason = Some(broken);
                    self.resync(client, input, window_start, broken, observer)
                }
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(kind) => Ok(JobsSweep {
                kind,
                window_start,
                full_reason: reason,
                records: self.received_full + self.received_incremental - before,
                tracked: self.table.len(),
            }),
            Err(e) => {
                self.high_water = None;
                self.resync_reason = Some("failed sweep");
                Err(e)
            }
        }
    }

    fn resync_due(&mut self, input: &SweepInput) -> Option<&'static str> {
        if let Some(reason) = self.resync_reason.take() {
            return Some(reason);
        }
        if self.high_water.is_none() {
            return Some(if self.last_resync.is_none() {
                "first sweep"
            } else {
                "no lastUpdateTime seen"
            });
        }
        if self.version != Some(input.version) {
            return Some("api version changed");
        }
        if input.resync_interval.is_zero() {
            return Some("jobsResyncInterval is 0");
        }
        let since = self.last_resync.map_or(i64::MAX, |t| input.now.saturating_sub(t));
        // A clock set back also resyncs: the schedule cannot tell how long it has been.
        (since >= millis(input.resync_interval) || since < 0).then_some("schedule")
    }

    /// Downloads every needed job into a fresh table. The newest `lastUpdateTime` is read
    /// first: every change after it is then caught by the next incremental sweep, even one
    /// made while this download ran.
    fn resync(
        &mut self,
        client: &Client,
        input: &SweepInput,
        window_start: UnixMillis,
        reason: &'static str,
        observer: &mut dyn JobsObserver,
    ) -> Result<SweepKind, NbuError> {
        log::debug!(site = client.site(), reason = reason; "jobs resync");
        observer.full_download();
        // The old table is not needed any more (the published summary is separate), so
        // it goes before the new one fills.
        self.table = JobTable::default();
        self.high_water = None;
        self.last_resync = Some(input.now);
        self.version = Some(input.version);
        let mut newest = None;
        let mut probe_cap = crate::nbu::RecordCap::new(1, "jobs");
        let records = &mut self.received_full;
        client.stream_jobs(
            input.version,
            JobsQuery::Newest,
            input.deadline,
            &mut probe_cap,
            &mut |job| {
                *records += 1;
                newest = job.last_update_time;
            },
        )?;
        let mut cap = client.jobs_cap();
        let table = &mut self.table;
        for query in [JobsQuery::Unfinished, JobsQuery::EndedSince(window_start)] {
            client.stream_jobs(input.version, query, input.deadline, &mut cap, &mut |job| {
                *records += 1;
                observer.job(&job);
                table.receive(&job);
            })?;
        }
        self.settle(window_start)?;
        self.high_water = newest;
        Ok(SweepKind::Full)
    }

    /// Folds the changes since the high-water mark into the table. `Ok(Some(why))` when the
    /// listing breaks an assumption (the table is then not to be trusted).
    fn incremental(
        &mut self,
        client: &Client,
        input: &SweepInput,
        window_start: UnixMillis,
        observer: &mut dyn JobsObserver,
    ) -> Result<Option<Broken>, NbuError> {
        let Some(high_water) = self.high_water else {
            return Ok(Some("no high-water mark"));
        };
        let since = high_water.saturating_sub(millis(OVERLAP));
        let mut newest = high_water;
        let mut previous = i64::MIN;
        let mut broken: Option<Broken> = None;
        let mut cap = client.jobs_cap();
        let table = &mut self.table;
        let records = &mut self.received_incremental;
        client.stream_jobs(
            input.version,
            JobsQuery::UpdatedAfter(since),
            input.deadline,
            &mut cap,
            &mut |job| {
                *records += 1;
                let check = match job.last_update_time {
                    None => Err("a changed job without lastUpdateTime"),
                    Some(t) if t <= since => Err("the server ignored the lastUpdateTime filter"),
                    Some(t) if t < previous => Err("lastUpdateTime went backwards in a listing sorted by it"),
                    Some(_) if job.job_id == 0 => Err("a changed job without jobId"),
                    Some(t) => Ok(t),
                };
                match check {
                    Ok(t) => {
                        previous = t;
                        newest = newest.max(t);
                        observer.job(&job);
                        table.receive(&job);
                    }
                    Err(why) => {
                        broken.get_or_insert(why);
                    }
                }
            },
        )?;
        if broken.is_some() {
            return Ok(broken);
        }
        self.settle(window_start)?;
        if self.table.len() > client.max_jobs() {
            return Err(NbuError::Pagination {
                endpoint: JOBS_ENDPOINT,
                detail: format!(
                    "tracking {} jobs, more than {}; refusing to hold more",
                    self.table.len(),
                    client.max_jobs()
                ),
            });
        }
        self.high_water = Some(newest);
        Ok(None)
    }

    fn settle(&mut self, window_start: UnixMillis) -> Result<(), NbuError> {
        self.table
            .settle(window_start)
            .map_err(|detail| NbuError::Pagination {
                endpoint: JOBS_ENDPOINT,
                detail,
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::nbu::stub::{deadline_in, fast_options, site, Recorded, Reply, Stub};

    const T0: UnixMillis = 1_750_000_000_000;
    const MIN: i64 = 60_000;

    fn job(id: i64, state: &str, end: Option<i64>, last_update: i64) -> Job {
        Job {
            job_id: id,
            job_type: "BACKUP".into(),
            policy_type: "STANDARD".into(),
            state: state.into(),
            start_time: Some(last_update - MIN),
            end_time: end,
            kilobytes_transferred: 10,
            last_update_time: Some(last_update),
            ..Job::default()
        }
    }

    #[test]
    fn a_tracked_job_is_64_bytes() {
        assert_eq!(std::mem::size_of::<TrackedJob>(), 64);
    }

    #[test]
    fn the_last_record_wins_and_unneeded_jobs_are_evicted() {
        let window_start = T0 - 60 * MIN;
        let mut table = JobTable::default();
        for j in [
            job(5, "ACTIVE", None, T0 - 5 * MIN),
            job(3, "DONE", Some(T0 - 2 * MIN), T0 - 2 * MIN),
            job(0, "QUEUED", None, T0),
            job(0, "QUEUED", None, T0),
            job(5, "DONE", Some(T0 - MIN), T0 - MIN),
            job(9, "DONE", Some(window_start - 1), window_start - 1), // ended before the window
        ] {
            table.receive(&j);
        }
        table.settle(window_start).unwrap();
        let ids: Vec<i64> = table.jobs.iter().map(|j| j.job_id).collect();
        assert_eq!(ids, [0, 0, 3, 5]);
        assert_eq!(&*table.labels.shared(table.jobs[3].label(STATE)), "DONE");
        // An update of a tracked job replaces it in place; time moving on evicts it.
        table.receive(&job(3, "DONE", Some(T0 - 2 * MIN), T0));
        table.receive(&job(4, "ACTIVE", None, T0));
        table.settle(T0 - MIN).unwrap();
        let ids: Vec<i64> = table.jobs.iter().map(|j| j.job_id).collect();
        assert_eq!(ids, [0, 0, 4, 5]);
        let summary = crate::collect::summary::JobsSummary::from_table(&table, T0 - MIN);
        assert_eq!(summary.jobs_seen, 4);
        assert_eq!(summary.state_count[&("BACKUP".into(), "QUEUED".into())], 2);
    }

    /// A stub primary: `full` answers the resync queries, `changes` the incremental one
    /// (with the `gt` value it was asked for); every jobs page is one page.
    fn primary(
        newest: i64,
        full: Vec<Job>,
        changes: impl Fn(i64) -> Vec<Job> + Send + Sync + 'static,
    ) -> Stub {
        let page = |jobs: Vec<Job>| {
            let data: Vec<_> = jobs
                .iter()
                .map(|j| {
                    let time = |t: Option<i64>| t.map(crate::timefmt::format_rfc3339_millis);
                    json!({"id": j.job_id.to_string(), "attributes": {
                        "jobId": j.job_id, "jobType": j.job_type, "policyType": j.policy_type,
                        "state": j.state, "startTime": time(j.start_time), "endTime": time(j.end_time),
                        "lastUpdateTime": time(j.last_update_time)}})
                })
                .collect();
            Reply::json(200, json!({"data": data}).to_string())
        };
        Stub::start(move |r: &Recorded, _| {
            let filter = r.param("filter").unwrap_or_default().to_string();
            if r.param("sort") == Some("-lastUpdateTime") {
                return page(vec![job(1, "DONE", Some(newest), newest)]);
            }
            if let Some(t) = filter.strip_prefix("lastUpdateTime gt ") {
                let since = crate::timefmt::parse_rfc3339(t).unwrap_or(0);
                return page(changes(since));
            }
            if filter == "state ne 'DONE'" {
                return page(full.iter().filter(|j| j.state != "DONE").cloned().collect());
            }
            page(full.iter().filter(|j| j.state == "DONE").cloned().collect())
        })
    }

    fn input(now: i64, resync_interval: Duration) -> SweepInput {
        SweepInput {
            version: ApiVersion::V13_0,
            now,
            window: Duration::from_secs(3600),
            resync_interval,
            deadline: deadline_in(5000),
        }
    }

    fn client(stub: &Stub) -> Client {
        Client::new(&site(stub.port(), "K"), fast_options(), None).unwrap()
    }

    #[test]
    fn after_a_resync_only_changes_are_asked_for_from_the_servers_newest_time() {
        // The primary's clock is 10 minutes ahead of ours: the high-water mark is its own.
        let server_now = T0 + 10 * MIN;
        let full = vec![
            job(7, "ACTIVE", None, server_now - 3 * MIN),
            job(8, "DONE", Some(T0 - 5 * MIN), T0 - 5 * MIN),
        ];
        let stub = primary(server_now, full, move |_| {
            vec![job(7, "DONE", Some(server_now + MIN), server_now + MIN)]
        });
        let client = client(&stub);
        let mut tracker = JobsTracker::new();
        let first = tracker
            .sweep(&client, &input(T0, Duration::from_secs(3600)))
            .unwrap();
        assert_eq!(
            (first.kind, first.full_reason, first.records, first.tracked),
            (SweepKind::Full, Some("first sweep"), 3, 2)
        );
        let second = tracker
            .sweep(&client, &input(T0 + 5 * MIN, Duration::from_secs(3600)))
            .unwrap();
        assert_eq!(
            (second.kind, second.records, second.tracked),
            (SweepKind::Incremental, 1, 2)
        );
        let summary = crate::collect::summary::JobsSummary::from_table(tracker.table(), second.window_start);
        assert_eq!(summary.state_count[&("BACKUP".into(), "DONE".into())], 2);
        let requests = stub.requests();
        let params: Vec<(Option<&str>, Option<&str>, Option<&str>)> = requests
            .iter()
            .map(|r| (r.param("filter"), r.param("sort"), r.param("page[limit]")))
            .collect();
        assert_eq!(
            params[3],
            (
                Some("lastUpdateTime gt 2025-06-15T15:16:30.000Z"),
                Some("lastUpdateTime"),
                Some("100")
            ),
            "server newest (T0 + 10 min = 15:16:40) minus the 10 s overlap"
        );
        assert_eq!(params[0], (None, Some("-lastUpdateTime"), Some("1")));
        assert_eq!(tracker.records_received(), (3, 1));
    }

    #[test]
    fn a_listing_that_breaks_an_assumption_is_resynced_in_the_same_sweep() {
        let cases: [(&str, Vec<Job>); 3] = [
            (
                "lastUpdateTime went backwards in a listing sorted by it",
                vec![
                    job(7, "ACTIVE", None, T0 + 2 * MIN),
                    job(8, "ACTIVE", None, T0 + MIN),
                ],
            ),
            (
                "a changed job without jobId",
                vec![job(0, "ACTIVE", None, T0 + MIN)],
            ),
            (
                "the server ignored the lastUpdateTime filter",
                vec![job(7, "ACTIVE", None, T0 - 20 * MIN)],
            ),
        ];
        for (why, changes) in cases {
            let stub = primary(T0, vec![job(7, "QUEUED", None, T0 - MIN)], move |_| {
                changes.clone()
            });
            let client = client(&stub);
            let mut tracker = JobsTracker::new();
            tracker
                .sweep(&client, &input(T0, Duration::from_secs(3600)))
                .unwrap();
            let sweep = tracker
                .sweep(&client, &input(T0 + 5 * MIN, Duration::from_secs(3600)))
                .unwrap();
            assert_eq!(
                (sweep.kind, sweep.full_reason),
                (SweepKind::Full, Some(why)),
                "{why}"
            );
            assert_eq!(stub.requests().len(), 3 + 1 + 3, "{why}");
        }
    }

    #[test]
    fn resyncs_on_schedule_on_request_after_a_failure_and_on_a_new_version() {
        let stub = primary(T0, vec![job(7, "ACTIVE", None, T0 - MIN)], |_| Vec::new());
        let client = client(&stub);
        let mut tracker = JobsTracker::new();
        let hour = Duration::from_secs(3600);
        let kind = |tracker: &mut JobsTracker, input: SweepInput| {
            let s = tracker.sweep(&client, &input).unwrap();
            (s.kind, s.full_reason)
        };
        assert_eq!(kind(&mut tracker, input(T0, hour)).0, SweepKind::Full);
        assert_eq!(
            kind(&mut tracker, input(T0 + 59 * MIN, hour)).0,
            SweepKind::Incremental
        );
        assert_eq!(
            kind(&mut tracker, input(T0 + 60 * MIN, hour)),
            (SweepKind::Full, Some("schedule"))
        );
        assert_eq!(
            kind(&mut tracker, input(T0 + 61 * MIN, Duration::ZERO)),
            (SweepKind::Full, Some("jobsResyncInterval is 0"))
        );
        tracker.request_resync("reload");
        assert_eq!(
            kind(&mut tracker, input(T0 + 62 * MIN, hour)),
            (SweepKind::Full, Some("reload"))
        );
        let mut v12 = input(T0 + 63 * MIN, hour);
        v12.version = ApiVersion::V12_0;
        assert_eq!(
            kind(&mut tracker, v12),
            (SweepKind::Full, Some("api version changed"))
        );
        // A failed sweep (the deadline has passed) makes the next one a resync.
        let mut late = input(T0 + 64 * MIN, hour);
        late.version = ApiVersion::V12_0;
        late.deadline = Instant::now() - Duration::from_millis(1);
        assert!(tracker.sweep(&client, &late).is_err());
        let mut next = input(T0 + 65 * MIN, hour);
        next.version = ApiVersion::V12_0;
        assert_eq!(kind(&mut tracker, next), (SweepKind::Full, Some("failed sweep")));
    }
}
