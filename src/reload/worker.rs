//! The reload worker: the daemon's control loop and the only writer of the running
//! generation.
//!
//! One loop receives every `Event`, coalesces triggers, debounces file events, runs the
//! safety-net content poll, re-arms a failed watcher and honours `ReloadControl` holds.
//! A reload reads the file once (waiting for it to stop changing), parses and validates
//! it outside any lock with the same code as startup and `check-config`, compares the
//! content hash, diffs, and hands the new config to `apply`, which prepares every fallible
//! piece and only then swaps and commits. The daemon starts this loop after applying the
//! first generation through the same `apply` and takes the `Applier` back for shutdown.
//!
//! Coalescing: asynchronous triggers (signal, watch, poll) that arrive while a reload runs,
//! or within `ASYNC_SPACING` after it, are merged into one follow-up reload, so a burst of
//! 1,000 SIGHUPs gives at most two. A silent check (a poll or watch event that found the
//! running content) is not a reload and starts no spacing. HTTP reloads are synchronous
//! requests and run at once.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::apply::Applier;
use super::watch::{ConfigWatch, WatchMode};
use crate::config::{self, diff::diff, Loaded};
use crate::sd_notify::Notifier;
use crate::state::{Attempt, Event, ReloadOutcome, ReloadState, SharedState, Trigger};
use crate::timefmt::format_go_duration;

/// How the environment is read for `${VAR}` expansion.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Minimum spacing between two reloads started by asynchronous triggers.
pub const ASYNC_SPACING: Duration = Duration::from_millis(200);
/// A burst of file events never delays a reload longer than this.
const MAX_WATCH_WAIT: Duration = Duration::from_secs(10);
/// How long a missing config file is waited for (editors that unlink then create).
const MISSING_GRACE: Duration = Duration::from_secs(2);
/// How often a failed watcher is re-created.
const REARM_EVERY: Duration = Duration::from_secs(5);
/// How often a moved-away listener is checked for the end of its drain.
const REAP_EVERY: Duration = Duration::from_millis(100);
/// A config larger than this is refused unread.
const MAX_CONFIG_BYTES: u64 = config::MAX_CONFIG_BYTES;
/// Phase timeout for reading and validating.
const VALIDATE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a file that changes while being read is re-read.
const STABLE_READ_TRIES: u32 = 10;
const STABLE_READ_PAUSE: Duration = Duration::from_millis(20);

/// Triggers waiting to be served by one reload.
#[derive(Default)]
struct Pending {
    triggers: Vec<Trigger>,
    force: bool,
    waiters: Vec<mpsc::Sender<Attempt>>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.triggers.is_empty()
    }

    fn has_http(&self) -> bool {
        self.triggers.contains(&Trigger::Http)
    }

    /// The label of the merged reload: the most explicit trigger wins.
    fn trigger(&self) -> Trigger {
        [Trigger::Http, Trigger::Signal, Trigger::Watch, Trigger::Poll]
            .into_iter()
            .find(|t| self.triggers.contains(t))
            .unwrap_or(Trigger::Poll)
    }
}

enum ReadError {
    Missing,
    Other(String),
}

/// What the worker reads from: the config path and environment, its event channel, the
/// watcher armed at startup (if any) and the service-manager notifier.
pub(crate) struct WorkerInputs {
    pub path: PathBuf,
    pub env: EnvFn,
    pub events: Receiver<Event>,
    pub watch_mode: WatchMode,
    pub watch: Option<ConfigWatch>,
    pub notifier: Notifier,
    pub load_options: config::LoadOptions,
}

pub struct Worker {
    path: PathBuf,
    env: EnvFn,
    load_options: Arc<config::LoadOptions>,
    shared: Arc<SharedState>,
    applier: Applier,
    events: Receiver<Event>,
    watch_mode: WatchMode,
    watch: Option<ConfigWatch>,
    notifier: Notifier,
    pending: Pending,
    watch_deadline: Option<Instant>,
    first_watch_event: Option<Instant>,
    next_poll: Option<Instant>,
    /// The interval `next_poll` was planned with; a reload that changes it re-plans.
    poll_every: Option<Duration>,
    rearm_at: Option<Instant>,
    spacing_until: Instant,
    missing_since: Option<Instant>,
    /// SHA-256 of the inputs (config bytes and the files it names) of the last rejected
    /// attempt: watch and poll skip them quietly.
    last_rejected_raw: Option<[u8; 32]>,
    reader: Reader,
}

impl Worker {
    pub(crate) fn new(shared: Arc<SharedState>, applier: Applier, inputs: WorkerInputs) -> Worker {
        let WorkerInputs {
            path,
            env,
            events,
            watch_mode,
            watch,
            notifier,
            load_options,
        } = inputs;
        Worker {
            path,
            env,
            load_options: Arc::new(load_options),
            shared,
            applier,
            events,
            watch_mode,
            watch,
            notifier,
            pending: Pending::default(),
            watch_deadline: None,
            first_watch_event: None,
            next_poll: None,
            poll_every: None,
            rearm_at: None,
            spacing_until: Instant::now(),
            missing_since: None,
            last_rejected_raw: None,
            reader: Reader::default(),
        }
    }

    /// Runs until `Event::Shutdown`, then stops the watcher and answers no one waiting,
    /// and returns the applier (listeners and pollers) for the daemon to shut down.
    pub(crate) fn run(mut self) -> Applier {
        match self.watch.take() {
            Some(watch) => {
                self.watch = Some(watch);
                self.set_watcher_up(true);
            }
            None => self.arm_watch(),
        }
        self.schedule_poll(Instant::now());
        loop {
            let received = match self.next_wakeup() {
                Some(at) => self.events.recv_deadline(at),
                None => self.events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let mut stop = match received {
                Ok(event) => self.take(event),
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            // Coalesce: take everything already queued before acting.
            while !stop {
                match self.events.try_recv() {
                    Ok(event) => stop = self.take(event),
                    Err(_) => break,
                }
            }
            if stop {
                break;
            }
            self.fire_timers(Instant::now());
            if !self.pending.is_empty()
                && !self.shared.control.is_deferred()
                && (self.pending.has_http() || Instant::now() >= self.spacing_until)
            {
                self.serve_pending();
            }
            self.applier.reap();
        }
        // Answer anyone still waiting so no HTTP worker hangs on shutdown.
        self.pending.waiters.clear();
        self.watch = None;
        self.applier
    }

    /// Handles one event; returns true on shutdown.
    fn take(&mut self, event: Event) -> bool {
        match event {
            Event::Shutdown => return true,
            Event::Reload {
                trigger,
                force,
                reply,
            } => {
                self.pending.triggers.push(trigger);
                self.pending.force |= force;
                self.pending.waiters.extend(reply);
            }
            Event::FileChanged => {
                let now = Instant::now();
                let first = *self.first_watch_event.get_or_insert(now);
                let debounce = self.shared.current().config.reload.debounce;
                self.watch_deadline = Some((now + debounce).min(first + MAX_WATCH_WAIT));
            }
            Event::WatcherFailed(message) => {
                log::warn!(error:% = message; "config watcher failed; re-arming, polling meanwhile");
                self.watch = None;
                self.set_watcher_up(false);
                self.rearm_at = Some(Instant::now() + Duration::from_secs(1));
                // Events may have been lost: check the content once things settle.
                let debounce = self.shared.current().config.reload.debounce;
                self.watch_deadline.get_or_insert(Instant::now() + debounce);
            }
            Event::Resume => {}
        }
        false
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let mut at = [
            self.watch_deadline,
            self.next_poll,
            self.rearm_at,
            self.missing_since.map(|t| t + MISSING_GRACE),
        ]
        .into_iter()
        .flatten()
        .min();
        if !self.pending.is_empty() && !self.shared.control.is_deferred() {
            at = Some(at.map_or(self.spacing_until, |t| t.min(self.spacing_until)));
        }
        if self.applier.is_draining() {
            let reap_at = Instant::now() + REAP_EVERY;
            at = Some(at.map_or(reap_at, |t| t.min(reap_at)));
        }
        at
    }

    fn fire_timers(&mut self, now: Instant) {
        if self.watch_deadline.is_some_and(|d| now >= d) {
            self.watch_deadline = None;
            self.first_watch_event = None;
            self.pending.triggers.push(Trigger::Watch);
        }
        if self.next_poll.is_some_and(|d| now >= d) {
            self.pending.triggers.push(Trigger::Poll);
            self.schedule_poll(now);
        }
        if self.missing_since.is_some_and(|t| now >= t + MISSING_GRACE)
            && !self.pending.triggers.contains(&Trigger::Watch)
        {
            // Still missing after the grace: the next attempt reports it.
            self.pending.triggers.push(Trigger::Watch);
        }
        if self.rearm_at.is_some_and(|d| now >= d) {
            self.rearm_at = None;
            self.arm_watch();
        }
    }

    fn schedule_poll(&mut self, now: Instant) {
        self.next_poll = self
            .shared
            .current()
            .config
            .reload
            .poll_interval
            .map(|every| now + every);
    }

    fn arm_watch(&mut self) {
        let referenced = self.shared.current().config.referenced_files();
        match ConfigWatch::start(
            &self.path,
            &referenced,
            self.watch_mode,
            self.shared.events.clone(),
        ) {
            Ok(watch) => {
                self.watch = Some(watch);
                self.set_watcher_up(true);
            }
            Err(e) => {
                if self.watch_mode == WatchMode::Notify {
                    log::warn!(error:% = e; "config watcher unavailable; falling back to polling");
                    self.rearm_at = Some(Instant::now() + REARM_EVERY);
                }
                self.set_watcher_up(false);
            }
        }
    }

    fn set_watcher_up(&self, up: bool) {
        self.shared.metrics.set_watcher_up(up);
        let mode = if up {
            "inotify".to_string()
        } else {
            match self.shared.current().config.reload.poll_interval {
                Some(every) => format!("polling every {}", format_go_duration(every)),
                None => "none (watcher down and polling disabled)".to_string(),
            }
        };
        self.shared.status.set_watcher(&mode);
    }

    fn serve_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let trigger = pending.trigger();
        let asynchronous = !pending.has_http();
        // This reload reads the files after every file event taken so far, so those events
        // need no check of their own: the rename before a SIGHUP is served by the SIGHUP.
        self.watch_deadline = None;
        self.first_watch_event = None;
        // A poll is a silent check: the service manager only hears of real reloads.
        let tell_manager = trigger != Trigger::Poll;
        if tell_manager {
            self.notifier.reloading();
        }
        let attempt = self.reload_once(trigger, pending.force);
        let holds_back = asynchronous && attempt.as_ref().is_some_and(starts_spacing);
        let current = self.shared.current();
        if tell_manager || attempt.is_some() {
            let status = match &attempt {
                Some(a) if a.result.is_success() => {
                    format!(
                        "generation {} {} {}",
                        current.number,
                        a.result,
                        clock_time(a.at_unix_ms)
                    )
                }
                Some(a) => format!(
                    "reload {}: {}; serving generation {}",
                    a.result,
                    a.problems
                        .first()
                        .cloned()
                        .or_else(|| a.reason.clone())
                        .unwrap_or_default(),
                    current.number
                ),
                None => format!("generation {} running", current.number),
            };
            if tell_manager {
                self.notifier.ready(&status);
            } else {
                self.notifier.status(&status);
            }
        }
        if let Some(a) = attempt {
            for waiter in pending.waiters {
                let _ = waiter.send(a.clone());
            }
        }
        // A silent check that found nothing to do (a poll or watch event with the running
        // content) holds nothing back: a SIGHUP right after the 30 s poll runs at once, and
        // so does one right after the watcher re-checked a file a SIGHUP had applied.
        if holds_back {
            self.spacing_until = Instant::now() + ASYNC_SPACING;
        }
        self.refresh_watch();
        // The poll interval may have changed with the new config.
        if self.poll_every != current.config.reload.poll_interval {
            self.schedule_poll(Instant::now());
        }
        if self.watch.is_none() {
            self.set_watcher_up(false);
        }
    }

    fn refresh_watch(&mut self) {
        let referenced = self.shared.current().config.referenced_files();
        if let Some(watch) = self.watch.as_mut() {
            watch.set_referenced(referenced);
            if let Err(e) = watch.refresh() {
                log::warn!(error:% = e; "config watcher lost; re-arming, polling meanwhile");
                self.watch = None;
                self.set_watcher_up(false);
                self.rearm_at = Some(Instant::now() + Duration::from_secs(1));
            }
        }
    }

    /// One reload. `None` means nothing worth recording happened (a poll or a watch event
    /// that found the content unchanged or already rejected, or a file briefly missing).
    fn reload_once(&mut self, trigger: Trigger, force: bool) -> Option<Attempt> {
        let started = Instant::now();
        let quiet_allowed = matches!(trigger, Trigger::Watch | Trigger::Poll) && !force;
        self.shared.status.set_state(ReloadState::Validating);

        let path = self.path.clone();
        let env = Arc::clone(&self.env);
        let options = Arc::clone(&self.load_options);
        let validated = self.reader.run(VALIDATE_TIMEOUT, move || {
            let bytes = read_stable(&path)?;
            let loaded = config::load_from_bytes_with(&path, &bytes, &*env, &options);
            // What was read, the files the config names included: a fixed key file beside
            // an unchanged config is not "the same rejected file".
            let inputs = match &loaded {
                Ok(loaded) => loaded.sha256,
                Err(error) => error.inputs_sha256,
            };
            Ok((inputs, loaded))
        });
        let (raw_hash, loaded) = match validated {
            None => {
                let reason = format!(
                    "reading and validating took longer than {}s",
                    VALIDATE_TIMEOUT.as_secs()
                );
                return Some(self.failed(trigger, reason, started));
            }
            Some(Err(ReadError::Missing)) if quiet_allowed => {
                let since = *self.missing_since.get_or_insert(started);
                if started < since + MISSING_GRACE {
                    self.shared.status.set_state(ReloadState::Idle);
                    return None;
                }
                self.missing_since = None;
                let reason = format!(
                    "config file {} is missing; keeping the running config",
                    self.path.display()
                );
                return Some(self.failed(trigger, reason, started));
            }
            Some(Err(ReadError::Missing)) => {
                let reason = format!(
                    "config file {} is missing; keeping the running config",
                    self.path.display()
                );
                return Some(self.failed(trigger, reason, started));
            }
            Some(Err(ReadError::Other(reason))) => {
                return Some(self.failed(trigger, reason, started));
            }
            Some(Ok(pair)) => pair,
        };
        self.missing_since = None;
        if quiet_allowed && self.last_rejected_raw == Some(raw_hash) {
            self.shared.status.set_state(ReloadState::Failed);
            return None;
        }
        let loaded: Loaded = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                self.last_rejected_raw = Some(raw_hash);
                let problems: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
                let reason = format!("invalid configuration ({} problem(s))", problems.len());
                return Some(self.finish(
                    trigger,
                    ReloadOutcome::Rejected,
                    Some(reason),
                    problems,
                    vec![],
                    started,
                ));
            }
        };
        let current = self.shared.current();
        if loaded.sha256 == current.sha256 && !force {
            self.last_rejected_raw = None;
            let was_failing = self.shared.status.snapshot().state == ReloadState::Failed;
            if trigger == Trigger::Poll && !was_failing {
                self.shared.status.set_state(ReloadState::Idle);
                return None;
            }
            return Some(self.finish(trigger, ReloadOutcome::Unchanged, None, vec![], vec![], started));
        }
        let changes = diff(&current.config, &loaded.config);
        let change_keys = if force && changes.is_empty() {
            vec!["(forced re-apply)".to_string()]
        } else {
            changes.keys()
        };

        self.shared.status.set_state(ReloadState::Applying);
        match self.applier.prepare(&loaded, Some(&current), force) {
            Ok(prepared) => {
                self.applier.commit(prepared, &self.shared);
                for warning in &loaded.warnings {
                    log::warn!(warning:% = warning; "config warning");
                }
                self.last_rejected_raw = None;
                Some(self.finish(
                    trigger,
                    ReloadOutcome::Applied,
                    None,
                    vec![],
                    change_keys,
                    started,
                ))
            }
            Err(reason) => {
                self.shared.status.set_state(ReloadState::RollingBack);
                self.last_rejected_raw = Some(raw_hash);
                let reason = format!("cannot apply: {reason}");
                Some(self.finish(
                    trigger,
                    ReloadOutcome::Rejected,
                    Some(reason.clone()),
                    vec![reason],
                    change_keys,
                    started,
                ))
            }
        }
    }

    /// An attempt that failed before validation could say anything: one reason, no
    /// problems, no changes.
    fn failed(&mut self, trigger: Trigger, reason: String, started: Instant) -> Attempt {
        self.finish(
            trigger,
            ReloadOutcome::Failed,
            Some(reason),
            vec![],
            vec![],
            started,
        )
    }

    fn finish(
        &mut self,
        trigger: Trigger,
        result: ReloadOutcome,
        reason: Option<String>,
        problems: Vec<String>,
        changes: Vec<String>,
        started: Instant,
    ) -> Attempt {
        let attempt = self
            .shared
            .record_attempt(trigger, result, reason, problems, changes, started);
        log_attempt(&attempt);
        attempt
    }
}

/// Whether an asynchronous attempt holds the next asynchronous triggers back for
/// `ASYNC_SPACING`. Every reload does, except a silent check: a watch event or poll that
/// found the running content (`unchanged`), which is not a reload.
fn starts_spacing(attempt: &Attempt) -> bool {
    let silent_check = attempt.result == ReloadOutcome::Unchanged
        && matches!(attempt.trigger, Trigger::Watch | Trigger::Poll);
    !silent_check
}

/// `HH:MM:SS` (UTC) of a Unix-millisecond time, for the one-line service status.
fn clock_time(at: crate::timefmt::UnixMillis) -> String {
    let stamp = crate::timefmt::format_rfc3339_millis(at);
    stamp.get(11..19).unwrap_or_default().to_string()
}

fn log_attempt(a: &Attempt) {
    let duration_ms = (a.duration_ms * 10.0).round() / 10.0;
    match a.result {
        ReloadOutcome::Applied => log::info!(
            trigger:% = a.trigger,
            generation = a.generation,
            duration_ms = duration_ms,
            changes:% = a.changes.join(",");
            "config reload applied"
        ),
        ReloadOutcome::Unchanged => log::info!(
            trigger:% = a.trigger,
            generation = a.generation,
            duration_ms = duration_ms;
            "config reload unchanged"
        ),
        ReloadOutcome::Rejected | ReloadOutcome::Failed => {
            let detail = if a.problems.is_empty() {
                a.reason.clone().unwrap_or_default()
            } else {
                a.problems.join("; ")
            };
            log::warn!(
                trigger:% = a.trigger,
                generation = a.generation,
                duration_ms = duration_ms,
                reason = a.reason.as_deref().unwrap_or(""),
                problem_count = a.problems.len(),
                problems:% = detail;
                "config reload {}", a.result
            );
        }
    }
}

/// A job for the reader thread.
type ReadJob = Box<dyn FnOnce() + Send>;

/// The thread that reads and validates the config, kept between reloads. A read runs
/// there, not on the worker, so that a stuck read (a hung network filesystem) fails the
/// attempt instead of the whole control loop. The thread is kept because starting one
/// per reload maps and unmaps its stacks every time, for a read that takes well under a
/// millisecond.
/// Its channels are std's, which park at once instead of spinning and yielding the CPU
/// first as crossbeam's blocking receive does.
#[derive(Default)]
struct Reader {
    jobs: Option<mpsc::Sender<ReadJob>>,
}

impl Reader {
    /// Runs `f` on the reader thread and waits at most `timeout`. A reader that overran
    /// (or died) is left to finish on its own, and the next read starts a new thread.
    fn run<T: Send + 'static>(
        &mut self,
        timeout: Duration,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: ReadJob = Box::new(move || {
            let _ = tx.send(f());
        });
        let jobs = match self.jobs.take() {
            Some(jobs) => jobs,
            None => Self::start()?,
        };
        // A send fails only when the thread is gone; the job, and with it its sender,
        // is then dropped and the wait below ends at once.
        let _ = jobs.send(job);
        let result = rx.recv_timeout(timeout).ok();
        if result.is_some() {
            self.jobs = Some(jobs);
        }
        result
    }

    fn start() -> Option<mpsc::Sender<ReadJob>> {
        let (jobs, queue) = mpsc::channel::<ReadJob>();
        let spawned = std::thread::Builder::new()
            .name("reload-read".into())
            .spawn(move || {
                for job in queue {
                    job();
                }
            });
        match spawned {
            Ok(_) => Some(jobs),
            Err(e) => {
                log::error!(error:% = e; "cannot start the config reader thread");
                None
            }
        }
    }
}

/// Reads the config once it has stopped changing: size, mtime and inode must be the
/// same before and after the read, so a writer caught mid-way is waited for.
fn read_stable(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::os::unix::fs::MetadataExt;
    let describe = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ReadError::Missing
        } else {
            ReadError::Other(format!("cannot read config file {}: {e}", path.display()))
        }
    };
    for _ in 0..STABLE_READ_TRIES {
        let before = std::fs::metadata(path).map_err(describe)?;
        if before.len() > MAX_CONFIG_BYTES {
            return Err(ReadError::Other(format!(
                "config file {} is {} bytes, more than the {} byte limit",
                path.display(),
                before.len(),
                MAX_CONFIG_BYTES
            )));
        }
        let bytes = std::fs::read(path).map_err(describe)?;
        let after = std::fs::metadata(path).map_err(describe)?;
        let same = before.ino() == after.ino()
            && before.len() == after.len()
            && before.mtime_nsec() == after.mtime_nsec()
            && before.mtime() == after.mtime()
            && bytes.len() as u64 == after.len();
        if same {
            return Ok(bytes);
        }
        std::thread::sleep(STABLE_READ_PAUSE);
    }
    Err(ReadError::Other(format!(
        "config file {} kept changing while being read",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_thread_is_kept_and_replaced_after_an_overrun() {
        let mut reader = Reader::default();
        let id = || std::thread::current().id();
        let first = reader.run(Duration::from_secs(10), id).expect("first read");
        let second = reader.run(Duration::from_secs(10), id).expect("second read");
        assert_eq!(first, second, "consecutive reads share one thread");
        assert_ne!(first, id(), "reads run off the worker's thread");

        // A stuck read fails the attempt; it is released only after the wait gave up.
        let (release, stuck) = crossbeam_channel::bounded::<()>(1);
        let overran = reader.run(Duration::from_millis(50), move || {
            let _ = stuck.recv_timeout(Duration::from_secs(10));
        });
        assert!(overran.is_none());
        let third = reader
            .run(Duration::from_secs(10), id)
            .expect("read after an overrun");
        assert_ne!(third, first, "the next read runs on a new thread");
        let _ = release.send(());
    }

    fn attempt(trigger: Trigger, result: ReloadOutcome) -> Attempt {
        Attempt {
            id: 1,
            trigger,
            result,
            generation: 1,
            reason: None,
            problems: vec![],
            changes: vec![],
            at_unix_ms: 0,
            duration_ms: 0.0,
        }
    }

    /// The watcher's re-check of a rename that a SIGHUP already applied finds the running
    /// content; it must not make the next SIGHUP wait (issue 8: 0.3 s after a reload a
    /// SIGHUP waited about 100 ms for the window this check had opened).
    #[test]
    fn only_real_reloads_open_the_coalescing_window() {
        for trigger in [Trigger::Watch, Trigger::Poll] {
            assert!(
                !starts_spacing(&attempt(trigger, ReloadOutcome::Unchanged)),
                "{trigger}"
            );
        }
        // A SIGHUP that finds the running content is still a reload: a burst of them
        // gives at most two.
        assert!(starts_spacing(&attempt(
            Trigger::Signal,
            ReloadOutcome::Unchanged
        )));
        for trigger in [Trigger::Signal, Trigger::Watch, Trigger::Poll] {
            for result in [
                ReloadOutcome::Applied,
                ReloadOutcome::Rejected,
                ReloadOutcome::Failed,
            ] {
                assert!(starts_spacing(&attempt(trigger, result)), "{trigger} {result}");
            }
        }
    }
}
