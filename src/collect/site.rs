//! One NetBackup site at run time: its snapshot cache, its current poll settings (client,
//! cadence, deadline, window, collectors) and the poller thread that sweeps jobs and
//! storage, which owns the site's collector parts scheduler (`parts`) and joins it.
//!
//! A `SiteRuntime` is bound to one NetBackup address for its whole life. When a reload
//! changes the address, the reload worker retires the runtime and builds a new one with an
//! empty cache, so a sweep still running against the old server publishes only into the
//! retired runtime, which nothing reads. Settings that do not change the address (API key,
//! TLS, intervals) are swapped in place and keep the cache. The per-client book lives here
//! too, so it goes with the cache. A collector disabled by a reload loses its data and
//! self-metrics in `update`, before the reload answers.
//!
//! It must not know about HTTP, reload triggers, the config file or the exporter's
//! self-metrics: each collector run, a part's support and removal, and the expiry of the
//! certificate the primary presents are told to a `CollectionObserver` its owner supplies.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::collect::collectors::{self, Part, CLIENT_BACKUPS, PARTS};
use crate::collect::freshness::FreshnessBook;
use crate::collect::jobs::{JobsObserver, JobsTracker, SweepInput, SweepKind};
use crate::collect::parts::{parts_loop, PartOutcome, PartsCmd, PartsHost};
use crate::collect::snapshot::{CollectorRun, PartState, SiteSnapshot, Sourced};
use crate::collect::summary::JobsSummary;
use crate::config::SiteAddress;
use crate::nbu::ApiVersion;
use crate::timefmt::now_millis;

pub use super::settings::PollSettings;

/// What a site's poller tells its observer.
pub enum SweepReport<'a> {
    /// How one collector run went (the jobs and storage sweep's, or a part's).
    Collector(&'a CollectorRun),
    /// Whether the site's API version has a collector part's endpoint.
    Supported { collector: &'a str, supported: bool },
    /// A reload disabled a collector part: its self-metrics go with its series.
    Disabled { collector: &'a str },
    /// The `notAfter` (Unix seconds) of the certificate the primary presents; `None` when
    /// the site speaks plain HTTP, so it has none.
    TlsCertExpiry(Option<i64>),
    /// NetBackup records received by a sweep, by source (`jobs_full`, `jobs_incremental`,
    /// `storage`).
    Records { source: &'static str, count: u64 },
    /// Jobs the site tracks between sweeps.
    JobsTracked(usize),
    /// A successful jobs sweep of `kind` (`full` or `incremental`).
    JobsSweep { kind: &'static str },
}

/// Told what a site's poller found (site name, report).
pub type CollectionObserver = Arc<dyn Fn(&str, SweepReport<'_>) + Send + Sync>;

enum PollerCmd {
    /// Begin polling (sent after the generation holding this runtime is live).
    Start,
    /// Settings changed; sweep at once when `sweep_now`, else just re-plan the next sweep.
    Refresh {
        sweep_now: bool,
    },
    Stop,
}

pub struct SiteRuntime {
    name: String,
    address: SiteAddress,
    snapshot: RwLock<Arc<SiteSnapshot>>,
    settings: RwLock<Arc<PollSettings>>,
    commands: Sender<PollerCmd>,
    parts_commands: Sender<PartsCmd>,
    retired: AtomicBool,
    sweeps: AtomicU64,
    observer: CollectionObserver,
    freshness: Mutex<FreshnessBook>,
    /// Set by `update` when the key, the API version or the window changed: the jobs
    /// tracked so far may not be what the new settings would download.
    resync: AtomicBool,
    /// What the poller is waiting for between sweeps (`None` while it sweeps): a reload
    /// wakes it only when the new interval makes the sweep due sooner than that.
    waiting: Mutex<Option<Wait>>,
}

/// A poller's wait between sweeps: the start of its last sweep and the due time it
/// planned from the interval then in force.
#[derive(Clone, Copy, Debug)]
struct Wait {
    started: Instant,
    due: Instant,
}

impl Wait {
    /// Whether `interval` makes the next sweep due before the time waited for. A reload
    /// that shortens the interval, then lengthens it, then shortens it again (a config
    /// toggled back and forth) wakes the poller once, not every other time.
    fn sooner_with(&self, interval: Duration) -> bool {
        self.started + interval < self.due
    }
}

/// The thread of a runtime; joined on shutdown or when it has finished after retirement.
pub struct PollerThread {
    pub site: String,
    pub handle: JoinHandle<()>,
}

impl SiteRuntime {
    /// Creates the runtime and spawns its poller, which waits for `start`.
    pub fn spawn(
        settings: PollSettings,
        observer: CollectionObserver,
    ) -> std::io::Result<(Arc<SiteRuntime>, PollerThread)> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (parts_tx, parts_rx) = std::sync::mpsc::channel();
        let name = settings.site.name.clone();
        let mut book = FreshnessBook::default();
        if settings.collectors.per_client.enabled {
            book.set_allowlist(&settings.collectors.allowlist);
        }
        let runtime = Arc::new(SiteRuntime {
            name: name.clone(),
            address: settings.site.address(),
            snapshot: RwLock::new(Arc::new(SiteSnapshot::empty(&name))),
            settings: RwLock::new(Arc::new(settings)),
            commands: tx,
            parts_commands: parts_tx.clone(),
            retired: AtomicBool::new(false),
            sweeps: AtomicU64::new(0),
            observer: Arc::clone(&observer),
            freshness: Mutex::new(book),
            resync: AtomicBool::new(false),
            waiting: Mutex::new(None),
        });
        let parts_runtime = Arc::clone(&runtime);
        let parts = std::thread::Builder::new()
            .name(format!("parts-{}", truncate(&name, 9)))
            .spawn(move || parts_loop(&*parts_runtime, &parts_rx, &parts_tx))?;
        let thread_runtime = Arc::clone(&runtime);
        let spawned = std::thread::Builder::new()
            .name(format!("poll-{}", truncate(&name, 10)))
            .spawn(move || {
                poll_loop(&thread_runtime, &rx, &observer);
                // The parts scheduler got `Stop` with the poller; it ends once its runs
                // in flight have (each bounded by its deadline).
                if parts.join().is_err() {
                    log::error!(site = thread_runtime.name(); "collector parts scheduler panicked");
                }
            });
        match spawned {
            Ok(handle) => Ok((runtime, PollerThread { site: name, handle })),
            Err(e) => {
                runtime.retire();
                Err(e)
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn address(&self) -> &SiteAddress {
        &self.address
    }

    /// The latest published snapshot.
    pub fn snapshot(&self) -> Arc<SiteSnapshot> {
        Arc::clone(&self.snapshot.read())
    }

    /// Whether at least one sweep (successful or not) has finished.
    pub fn has_swept(&self) -> bool {
        self.sweeps.load(Ordering::SeqCst) > 0
    }

    pub fn settings(&self) -> Arc<PollSettings> {
        Arc::clone(&self.settings.read())
    }

    /// Lets the poller and the collector parts begin.
    pub fn start(&self) {
        let _ = self.commands.send(PollerCmd::Start);
        let _ = self.parts_commands.send(PartsCmd::Start);
    }

    /// Swaps in new settings; `sweep_now` asks for an immediate sweep (new credentials).
    /// A collector part the new settings disable loses its data and its self-metrics here,
    /// so the next scrape no longer shows it; one they enable runs at once. A new key, API
    /// version or window makes the next jobs sweep a full download.
    pub fn update(&self, settings: PollSettings, sweep_now: bool) {
        let current = self.settings();
        // With no opt-in part on before or after, the parts scheduler has nothing to
        // re-plan; not waking it halves the threads a reload wakes.
        let parts_affected = current.collectors.any_enabled() || settings.collectors.any_enabled();
        let settings_interval = settings.interval;
        if current.site.api_key != settings.site.api_key
            || current.site.api_version != settings.site.api_version
            || current.window != settings.window
        {
            self.resync.store(true, Ordering::SeqCst);
        }
        {
            // Lock order, as in `publish_part`: snapshot, then settings.
            let mut snapshot = self.snapshot.write();
            let new_collectors = settings.collectors.clone();
            let old = std::mem::replace(&mut *self.settings.write(), Arc::new(settings));
            let mut next: Option<SiteSnapshot> = None;
            for part in &PARTS {
                if old.collectors.get(part.key).enabled && !new_collectors.get(part.key).enabled {
                    next.get_or_insert_with(|| (**snapshot).clone())
                        .parts
                        .remove(part.label);
                    (self.observer)(
                        &self.name,
                        SweepReport::Disabled {
                            collector: part.label,
                        },
                    );
                }
            }
            let mut book = self.freshness.lock();
            if !new_collectors.per_client.enabled {
                book.clear();
            } else if old.collectors.allowlist != new_collectors.allowlist
                || !old.collectors.per_client.enabled
            {
                book.set_allowlist(&new_collectors.allowlist);
                let next = next.get_or_insert_with(|| (**snapshot).clone());
                if let Some(PartState {
                    data: Some((value, _)),
                    ..
                }) = next.parts.get_mut(CLIENT_BACKUPS)
                {
                    *value = Arc::new(book.view());
                }
            }
            if let Some(next) = next {
                *snapshot = Arc::new(next);
            }
        }
        // The poller reads its settings when a sweep starts and when its wait ends, so it
        // is woken only when it must act sooner: a sweep now, or an interval that makes
        // the sweep due before the time it waits for. Checked after the new settings are
        // in place, under the lock the poller plans its wait with (`plan_wait`): either
        // the poller planned with the new interval, or this sees the older plan.
        let sooner = self
            .waiting
            .lock()
            .is_some_and(|wait| wait.sooner_with(settings_interval));
        if sweep_now || sooner {
            let _ = self.commands.send(PollerCmd::Refresh { sweep_now });
        }
        if parts_affected {
            let _ = self.parts_commands.send(PartsCmd::Refresh);
        }
    }

    /// The poller's next due time after the sweep that began at `started`, from the
    /// interval in force, recorded for `update` under the same lock.
    fn plan_wait(&self, started: Instant) -> Instant {
        let mut waiting = self.waiting.lock();
        let due = started + self.settings().interval;
        *waiting = Some(Wait { started, due });
        due
    }

    /// The poller stopped waiting (a sweep begins): nothing to wake until it plans again.
    fn end_wait(&self) {
        *self.waiting.lock() = None;
    }

    /// Stops the poller and the parts and makes later publishes no-ops. Does not wait: a
    /// request in flight ends by its own deadline.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        let _ = self.commands.send(PollerCmd::Stop);
        let _ = self.parts_commands.send(PartsCmd::Stop);
    }

    /// Publishes the jobs and storage sweep's snapshot, keeping the parts' current data.
    fn publish(&self, mut snapshot: SiteSnapshot) {
        if self.retired.load(Ordering::SeqCst) {
            return;
        }
        {
            let mut current = self.snapshot.write();
            snapshot.parts = current.parts.clone();
            *current = Arc::new(snapshot);
        }
        self.sweeps.fetch_add(1, Ordering::SeqCst);
        let _ = self.parts_commands.send(PartsCmd::Swept);
    }

    /// Folds one collector part's outcome into the snapshot, with its self-metrics. Does
    /// nothing once retired or when the part has been disabled meanwhile (checked under
    /// the snapshot lock, which `update` holds while it disables parts).
    pub(crate) fn publish_part(&self, part: &'static Part, outcome: PartOutcome) {
        let mut current = self.snapshot.write();
        if self.retired.load(Ordering::SeqCst) || !self.settings.read().collectors.get(part.key).enabled {
            return;
        }
        let mut next = (**current).clone();
        let state = next.parts.entry(part.label).or_insert(PartState {
            supported: true,
            data: None,
            last_run: None,
        });
        let (site, label) = (self.name.as_str(), part.label);
        match outcome {
            PartOutcome::Unsupported => {
                state.supported = false;
                state.data = None;
                state.last_run = None;
                (self.observer)(
                    site,
                    SweepReport::Supported {
                        collector: label,
                        supported: false,
                    },
                );
            }
            PartOutcome::Ran { result, duration } => {
                state.supported = true;
                let run = CollectorRun {
                    collector: label,
                    success: result.is_ok(),
                    duration,
                };
                (self.observer)(
                    site,
                    SweepReport::Supported {
                        collector: label,
                        supported: true,
                    },
                );
                (self.observer)(site, SweepReport::Collector(&run));
                state.last_run = Some(run);
                match result {
                    Ok(value) => state.data = Some((value, now_millis())),
                    Err(e) => log::error!(site = site, collector = label, error:% = e; "collection failed"),
                }
            }
            PartOutcome::Refreshed(value) => {
                if state.supported {
                    state.data = Some((value, now_millis()));
                }
            }
        }
        *current = Arc::new(next);
    }

    /// The jobs hook of per-client freshness: every job record the sweep read, folded into
    /// the book, whose view becomes the per-client part's data.
    fn observe_jobs(&self, feed: JobsFeed, window_start: crate::timefmt::UnixMillis) {
        if !self.settings().collectors.per_client.enabled {
            return;
        }
        let view = {
            let mut book = self.freshness.lock();
            book.begin_jobs(window_start);
            if feed.full {
                book.full_download();
            }
            for job in &feed.jobs {
                book.observe(job);
            }
            book.end_jobs();
            book.view()
        };
        if let Some(part) = collectors::part(CLIENT_BACKUPS) {
            self.publish_part(part, PartOutcome::Refreshed(Arc::new(view)));
        }
    }
}

/// The allowlisted clients' job records of one jobs sweep, gathered while it reads them
/// and handed to the per-client book afterwards, so its lock is never held across a
/// NetBackup request.
#[derive(Default)]
struct JobsFeed {
    allowlist: std::collections::BTreeSet<String>,
    full: bool,
    jobs: Vec<crate::nbu::Job>,
}

impl JobsObserver for JobsFeed {
    fn full_download(&mut self) {
        self.full = true;
        self.jobs.clear();
    }

    fn job(&mut self, job: &crate::nbu::Job) {
        if self.allowlist.contains(&job.client_name) {
            self.jobs.push(job.clone());
        }
    }
}

impl PartsHost for SiteRuntime {
    fn site(&self) -> &str {
        &self.name
    }

    fn settings(&self) -> Arc<PollSettings> {
        SiteRuntime::settings(self)
    }

    fn api_version(&self) -> Option<ApiVersion> {
        self.snapshot.read().api_version
    }

    fn freshness(&self) -> &Mutex<FreshnessBook> {
        &self.freshness
    }

    fn publish_part(&self, part: &'static Part, outcome: PartOutcome) {
        SiteRuntime::publish_part(self, part, outcome)
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn poll_loop(runtime: &SiteRuntime, commands: &Receiver<PollerCmd>, observer: &CollectionObserver) {
    loop {
        match commands.recv() {
            Ok(PollerCmd::Start) => break,
            Ok(PollerCmd::Refresh { .. }) => continue,
            Ok(PollerCmd::Stop) | Err(_) => return,
        }
    }
    // The version found by detection, valid for the client it was found with.
    let mut detected: Option<(usize, ApiVersion)> = None;
    let mut jobs = JobsTracker::new();
    loop {
        let settings = runtime.settings();
        let started = Instant::now();
        if runtime.resync.swap(false, Ordering::SeqCst) {
            jobs.request_resync("reload changed the key, API version or window");
        }
        sweep(runtime, &settings, &mut detected, &mut jobs, observer);
        if runtime.retired.load(Ordering::SeqCst) {
            return;
        }
        if let Some(expiry) = super::tls_expiry::read(&settings.site, started + settings.timeout) {
            observer(runtime.name(), SweepReport::TlsCertExpiry(expiry));
        }
        // Planned afresh each time: a reload may have changed the interval meanwhile.
        let mut next_due = runtime.plan_wait(started);
        loop {
            match super::recv_until(commands, next_due) {
                Ok(PollerCmd::Refresh { sweep_now: true }) => break,
                Ok(PollerCmd::Refresh { sweep_now: false }) => next_due = runtime.plan_wait(started),
                Ok(PollerCmd::Start) => continue,
                Ok(PollerCmd::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                // A longer interval is applied without waking this thread (see `update`):
                // the sweep is due only once the current one has passed.
                Err(RecvTimeoutError::Timeout) => {
                    next_due = runtime.plan_wait(started);
                    if Instant::now() >= next_due {
                        break;
                    }
                }
            }
        }
        runtime.end_wait();
    }
}

/// One sweep of one site: resolve the API version, fetch jobs and storage in parallel
/// under one deadline, and publish. A failed source keeps its last good data (so its
/// timestamp ages); `up` says whether this sweep reached NetBackup.
fn sweep(
    runtime: &SiteRuntime,
    settings: &PollSettings,
    detected: &mut Option<(usize, ApiVersion)>,
    tracker: &mut JobsTracker,
    observer: &CollectionObserver,
) {
    let site = runtime.name();
    let started = Instant::now();
    let deadline = started + settings.timeout;
    let client_id = Arc::as_ptr(&settings.client) as usize;
    let known = settings
        .site
        .api_version
        .or_else(|| detected.filter(|(id, _)| *id == client_id).map(|(_, v)| v));
    let version = match known {
        Some(v) => Ok(v),
        None => settings
            .client
            .detect_version(deadline)
            .map_err(|e| e.to_string()),
    };
    let mut next = (*runtime.snapshot()).clone();
    next.collectors.clear();
    let mut errors = Vec::new();
    match version {
        Err(e) => {
            let elapsed = started.elapsed();
            next.up = false;
            for collector in ["jobs", "storage"] {
                next.collectors.push(CollectorRun {
                    collector,
                    success: false,
                    duration: elapsed,
                });
            }
            errors.push(format!("version detection: {e}"));
        }
        Ok(version) => {
            if settings.site.api_version.is_none() {
                *detected = Some((client_id, version));
            }
            let input = SweepInput {
                version,
                now: now_millis(),
                window: settings.window,
                resync_interval: settings.resync_interval,
                deadline,
            };
            let client = &settings.client;
            let received_before = tracker.records_received();
            let mut feed = JobsFeed::default();
            if settings.collectors.per_client.enabled {
                feed.allowlist = settings.collectors.allowlist.iter().cloned().collect();
            }
            // Errors become (is_not_acceptable, message) so both fetches report alike.
            let describe = |e: crate::nbu::NbuError| (e.is_not_acceptable(), e.to_string());
            let (jobs, storage) = std::thread::scope(|scope| {
                let jobs_thread = std::thread::Builder::new()
                    .name(format!("jobs-{}", truncate(site, 10)))
                    .spawn_scoped(scope, || {
                        let t = Instant::now();
                        let swept = tracker.sweep_observed(client, &input, &mut feed);
                        (swept.map_err(describe), t.elapsed())
                    });
                let t = Instant::now();
                let storage = (
                    client.fetch_storage_listing(version, deadline).map_err(describe),
                    t.elapsed(),
                );
                let jobs = match jobs_thread {
                    Ok(handle) => handle.join().unwrap_or_else(|_| {
                        (Err((false, "jobs fetch panicked".to_string())), Duration::ZERO)
                    }),
                    Err(e) => (
                        Err((false, format!("cannot start jobs fetch: {e}"))),
                        Duration::ZERO,
                    ),
                };
                (jobs, storage)
            });
            let now = now_millis();
            let received = tracker.records_received();
            let records = [
                ("jobs_full", received.0 - received_before.0),
                ("jobs_incremental", received.1 - received_before.1),
            ];
            for (source, count) in records {
                observer(site, SweepReport::Records { source, count });
            }
            observer(site, SweepReport::JobsTracked(tracker.tracked()));
            let jobs = (
                jobs.0.map(|sweep| {
                    observer(
                        site,
                        SweepReport::JobsSweep {
                            kind: sweep.kind.as_str(),
                        },
                    );
                    if sweep.kind == SweepKind::Full {
                        log::debug!(
                            site = site,
                            reason = sweep.full_reason.unwrap_or(""),
                            records = sweep.records,
                            tracked = sweep.tracked;
                            "jobs resynced"
                        );
                    }
                    runtime.observe_jobs(std::mem::take(&mut feed), sweep.window_start);
                    JobsSummary::from_table(tracker.table(), sweep.window_start)
                }),
                jobs.1,
            );
            let storage = (
                storage.0.map(|listing| {
                    let count = listing.received as u64;
                    observer(
                        site,
                        SweepReport::Records {
                            source: "storage",
                            count,
                        },
                    );
                    listing.units
                }),
                storage.1,
            );
            let mut outcome = SweepOutcome {
                next: &mut next,
                errors: &mut errors,
                any_ok: false,
                not_acceptable: false,
            };
            outcome.take("jobs", jobs, now, |n, data| n.jobs = Some(data));
            outcome.take("storage", storage, now, |n, data| n.storage = Some(data));
            let (any_ok, not_acceptable) = (outcome.any_ok, outcome.not_acceptable);
            if not_acceptable {
                // The server no longer speaks the detected version (downgrade): detect again.
                *detected = None;
            }
            next.up = any_ok;
            next.api_version = Some(version);
        }
    }
    for run in &next.collectors {
        observer(site, SweepReport::Collector(run));
    }
    if errors.is_empty() {
        next.last_error = None;
        log::debug!(site = site, ms = started.elapsed().as_millis(); "sweep done");
    } else {
        let joined = errors.join("; ");
        log::error!(site = site, up = next.up as u8, error = joined.as_str(); "collection failed");
        next.last_error = Some(joined);
    }
    runtime.publish(next);
}

/// `collector: message`, unless the message already starts with the collector's name:
/// NetBackup errors name their endpoint, and the jobs endpoint is also called `jobs`.
fn error_line(collector: &str, message: String) -> String {
    let named = message
        .strip_prefix(collector)
        .is_some_and(|rest| rest.starts_with(": "));
    if named {
        message
    } else {
        format!("{collector}: {message}")
    }
}

/// Folds one collector's result into the snapshot being built: data and success on `Ok`,
/// a failed run (keeping the last good data) and an error line on `Err`.
struct SweepOutcome<'a> {
    next: &'a mut SiteSnapshot,
    errors: &'a mut Vec<String>,
    any_ok: bool,
    not_acceptable: bool,
}

impl SweepOutcome<'_> {
    fn take<T>(
        &mut self,
        collector: &'static str,
        (result, duration): (Result<T, (bool, String)>, Duration),
        now: crate::timefmt::UnixMillis,
        store: impl FnOnce(&mut SiteSnapshot, Sourced<T>),
    ) {
        let success = result.is_ok();
        match result {
            Ok(value) => {
                self.any_ok = true;
                store(
                    self.next,
                    Sourced {
                        value: Arc::new(value),
                        collected_at: now,
                    },
                );
            }
            Err((is_406, message)) => {
                self.not_acceptable |= is_406;
                self.errors.push(error_line(collector, message));
            }
        }
        self.next.collectors.push(CollectorRun {
            collector,
            success,
            duration,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{error_line, Wait};

    /// A config toggled between two intervals 100 times wakes the poller once: after the
    /// first shortening it waits for the shorter due time, which no later toggle beats.
    #[test]
    fn a_toggled_interval_wakes_the_poller_once() {
        let started = Instant::now();
        let (long, short) = (Duration::from_secs(360), Duration::from_secs(300));
        let mut wait = Wait {
            started,
            due: started + long,
        };
        let mut wakes = 0;
        for i in 0..100 {
            let interval = if i % 2 == 0 { short } else { long };
            if wait.sooner_with(interval) {
                wakes += 1;
                // The woken poller plans again with the interval now in force.
                wait.due = started + interval;
            }
        }
        assert_eq!(wakes, 1);
        assert_eq!(
            wait.due,
            started + short,
            "the sweep stays due at the shorter time"
        );
        // Shorter than anything waited for so far: woken again.
        assert!(wait.sooner_with(Duration::from_secs(299)));
        // The same or a longer interval never wakes it; its own timeout re-plans.
        assert!(!wait.sooner_with(short));
        assert!(!wait.sooner_with(Duration::from_secs(3600)));
    }

    #[test]
    fn error_lines_name_the_collector_once() {
        let cases = [
            ("jobs", "jobs: HTTP 503 from x", "jobs: HTTP 503 from x"),
            (
                "storage",
                "storage-units: HTTP 503 from x",
                "storage: storage-units: HTTP 503 from x",
            ),
            ("jobs", "jobsfoo: x", "jobs: jobsfoo: x"),
            ("jobs", "version detection: x", "jobs: version detection: x"),
        ];
        for (collector, message, want) in cases {
            assert_eq!(error_line(collector, message.to_string()), want);
        }
    }
}
