//! One NetBackup site at run time: its snapshot cache, its current poll settings (client,
//! cadence, deadline, window) and the poller thread that sweeps it.
//!
//! A `SiteRuntime` is bound to one NetBackup address for its whole life. When a reload
//! changes the address, the reload worker retires the runtime and builds a new one with an
//! empty cache, so a sweep still running against the old server publishes only into the
//! retired runtime, which nothing reads. Settings that do not change the address (API key,
//! TLS, intervals) are swapped in place and keep the cache.
//!
//! It must not know about HTTP, reload triggers or the config file.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::RwLock;

use crate::collect::jobs::{JobsTracker, SweepInput, SweepKind};
use crate::collect::snapshot::{CollectorRun, SiteSnapshot, Sourced};
use crate::collect::summary::JobsSummary;
use crate::config::{SiteAddress, SiteConfig};
use crate::metrics::ExporterMetrics;
use crate::nbu::{ApiVersion, Client};
use crate::timefmt::now_millis;

/// What a poller needs for a sweep; replaced as a whole on reload.
pub struct PollSettings {
    pub site: SiteConfig,
    pub client: Arc<Client>,
    /// Time between sweep starts.
    pub interval: Duration,
    /// Hard deadline of one sweep.
    pub timeout: Duration,
    /// The jobs look-back window.
    pub window: Duration,
    /// Time between full jobs downloads; zero: every sweep is one.
    pub resync_interval: Duration,
}

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
    retired: AtomicBool,
    sweeps: AtomicU64,
    /// Set by `update` when the key, the API version or the window changed: the jobs
    /// tracked so far may not be what the new settings would download.
    resync: AtomicBool,
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
        metrics: Arc<ExporterMetrics>,
    ) -> std::io::Result<(Arc<SiteRuntime>, PollerThread)> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let name = settings.site.name.clone();
        let runtime = Arc::new(SiteRuntime {
            name: name.clone(),
            address: settings.site.address(),
            snapshot: RwLock::new(Arc::new(SiteSnapshot::empty(&name))),
            settings: RwLock::new(Arc::new(settings)),
            commands: tx,
            retired: AtomicBool::new(false),
            sweeps: AtomicU64::new(0),
            resync: AtomicBool::new(false),
        });
        let thread_runtime = Arc::clone(&runtime);
        let handle = std::thread::Builder::new()
            .name(format!("poll-{}", truncate(&name, 10)))
            .spawn(move || poll_loop(&thread_runtime, &rx, &metrics))?;
        Ok((runtime, PollerThread { site: name, handle }))
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

    /// Lets the poller begin.
    pub fn start(&self) {
        let _ = self.commands.send(PollerCmd::Start);
    }

    /// Swaps in new settings; `sweep_now` asks for an immediate sweep (new credentials). A
    /// new key, API version or window makes the next jobs sweep a full download.
    pub fn update(&self, settings: PollSettings, sweep_now: bool) {
        let current = self.settings();
        if current.site.api_key != settings.site.api_key
            || current.site.api_version != settings.site.api_version
            || current.window != settings.window
        {
            self.resync.store(true, Ordering::SeqCst);
        }
        *self.settings.write() = Arc::new(settings);
        let _ = self.commands.send(PollerCmd::Refresh { sweep_now });
    }

    /// Stops the poller and makes later publishes no-ops. Does not wait: a sweep in flight
    /// ends by its own deadline.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        let _ = self.commands.send(PollerCmd::Stop);
    }

    fn publish(&self, snapshot: SiteSnapshot) {
        if self.retired.load(Ordering::SeqCst) {
            return;
        }
        *self.snapshot.write() = Arc::new(snapshot);
        self.sweeps.fetch_add(1, Ordering::SeqCst);
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn poll_loop(runtime: &SiteRuntime, commands: &Receiver<PollerCmd>, metrics: &ExporterMetrics) {
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
        sweep(runtime, &settings, &mut detected, &mut jobs, metrics);
        if runtime.retired.load(Ordering::SeqCst) {
            return;
        }
        let mut next_due = started + runtime.settings().interval;
        loop {
            match commands.recv_deadline(next_due) {
                Ok(PollerCmd::Refresh { sweep_now: true }) => break,
                Ok(PollerCmd::Refresh { sweep_now: false }) => {
                    next_due = started + runtime.settings().interval
                }
                Ok(PollerCmd::Start) => continue,
                Ok(PollerCmd::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
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
    metrics: &ExporterMetrics,
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
            // Errors become (is_not_acceptable, message) so both fetches report alike.
            let describe = |e: crate::nbu::NbuError| (e.is_not_acceptable(), e.to_string());
            let (jobs, storage) = std::thread::scope(|scope| {
                let jobs_thread = std::thread::Builder::new()
                    .name(format!("jobs-{}", truncate(site, 10)))
                    .spawn_scoped(scope, || {
                        let t = Instant::now();
                        (tracker.sweep(client, &input).map_err(describe), t.elapsed())
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
            metrics.add_nbu_records(site, "jobs_full", received.0 - received_before.0);
            metrics.add_nbu_records(site, "jobs_incremental", received.1 - received_before.1);
            metrics.set_jobs_tracked(site, tracker.tracked());
            let jobs = (
                jobs.0.map(|sweep| {
                    metrics.count_jobs_sweep(site, sweep.kind.as_str());
                    if sweep.kind == SweepKind::Full {
                        log::debug!(
                            "jobs resynced site={site} reason={:?} records={} tracked={}",
                            sweep.full_reason.unwrap_or(""),
                            sweep.records,
                            sweep.tracked
                        );
                    }
                    JobsSummary::from_table(tracker.table(), sweep.window_start)
                }),
                jobs.1,
            );
            let storage = (
                storage.0.map(|listing| {
                    metrics.add_nbu_records(site, "storage", listing.received as u64);
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
        metrics
            .collection_duration_seconds
            .with_label_values(&[site, run.collector])
            .set(run.duration.as_secs_f64());
        metrics
            .collection_success
            .with_label_values(&[site, run.collector])
            .set(if run.success { 1.0 } else { 0.0 });
    }
    if errors.is_empty() {
        next.last_error = None;
        log::debug!("sweep done site={site} ms={}", started.elapsed().as_millis());
    } else {
        let joined = errors.join("; ");
        log::error!(
            "collection failed site={site} up={} error={joined}",
            next.up as u8
        );
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
    use super::error_line;

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
