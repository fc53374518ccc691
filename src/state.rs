//! What every thread of the daemon shares: the running config generation behind one
//! `parking_lot::RwLock<Arc<_>>`, the exporter's self-metrics, the reload record, and the
//! vocabulary the threads talk in (`Event`, `Trigger`, `ReloadOutcome`, `Attempt`).
//!
//! Readers clone the `Arc` and drop the guard before doing any work, so no lock is ever
//! held across I/O and one scrape uses one generation from start to end. Only
//! `reload::apply`'s commit calls `swap` (for generation 1 at startup, then on the reload
//! worker's thread). This module sits below both the HTTP server and the reload
//! pipeline, which meet only here: it must not know how generations are built, how a
//! reload runs, or how requests are served.

mod attempt;
mod control;
mod event;
mod status;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;
use parking_lot::{Mutex, RwLock};

use crate::collect::site::SiteRuntime;
use crate::config::{Config, Loaded};
use crate::metrics::exporter::ExporterMetrics;
use crate::timefmt::now_millis;

pub use attempt::{Attempt, ReloadOutcome, Trigger};
pub use control::{DeferGuard, ReloadControl};
pub use event::Event;
pub use status::{ReloadState, StatusBoard, StatusSnapshot, HISTORY_LEN};

/// One applied configuration with the site runtimes it runs. Built only by
/// `Generation::new`, which the reload pipeline's `prepare` calls for every generation.
pub struct Generation {
    /// 1 at startup, +1 per applied reload.
    pub number: u64,
    pub config: Arc<Config>,
    pub sha256: [u8; 32],
    /// First 12 hex characters of `sha256`.
    pub sha_short: String,
    /// In config order; a runtime is shared with the previous generation when its site's
    /// address did not change.
    pub sites: Vec<Arc<SiteRuntime>>,
}

impl Generation {
    /// Generation `number`, running `loaded` with `sites` (in config order).
    pub fn new(number: u64, loaded: &Loaded, sites: Vec<Arc<SiteRuntime>>) -> Generation {
        Generation {
            number,
            config: Arc::new(loaded.config.clone()),
            sha256: loaded.sha256,
            sha_short: loaded.sha256_short(),
            sites,
        }
    }

    /// Whether every site has finished its first sweep, successful or not.
    pub fn ready(&self) -> bool {
        self.sites.iter().all(|s| s.has_swept())
    }
}

/// The hub every thread holds an `Arc` of.
pub struct SharedState {
    current: RwLock<Arc<Generation>>,
    pub metrics: Arc<ExporterMetrics>,
    pub status: StatusBoard,
    pub events: Sender<Event>,
    pub control: ReloadControl,
    /// The address the HTTP listener is bound to now (changes when a reload moves it).
    listen_addr: Mutex<SocketAddr>,
}

impl SharedState {
    /// The state around the first generation, before any listener has opened (the
    /// listen address reads `0.0.0.0:0` until one does).
    pub fn new(first: Arc<Generation>, metrics: Arc<ExporterMetrics>, events: Sender<Event>) -> SharedState {
        SharedState {
            current: RwLock::new(first),
            metrics,
            status: StatusBoard::new(),
            control: ReloadControl::new(events.clone()),
            events,
            listen_addr: Mutex::new(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))),
        }
    }

    /// The running generation. The read guard is dropped before this returns.
    pub fn current(&self) -> Arc<Generation> {
        Arc::clone(&self.current.read())
    }

    /// Replaces the running generation and returns the previous one. A pointer swap
    /// under the write guard: it cannot fail and does no I/O.
    pub(crate) fn swap(&self, next: Arc<Generation>) -> Arc<Generation> {
        std::mem::replace(&mut *self.current.write(), next)
    }

    pub fn listen_addr(&self) -> SocketAddr {
        *self.listen_addr.lock()
    }

    pub(crate) fn set_listen_addr(&self, addr: SocketAddr) {
        *self.listen_addr.lock() = addr;
    }

    /// Records a finished reload attempt (startup's included) against the generation
    /// running now: numbers it, puts it on the status board and in the reload metrics.
    /// Returns it for the log line and the waiters.
    pub(crate) fn record_attempt(
        &self,
        trigger: Trigger,
        result: ReloadOutcome,
        reason: Option<String>,
        problems: Vec<String>,
        changes: Vec<String>,
        started: Instant,
    ) -> Attempt {
        let elapsed = started.elapsed();
        let current = self.current();
        let attempt = Attempt {
            id: self.status.next_attempt_id(),
            trigger,
            result,
            generation: current.number,
            reason,
            problems,
            changes,
            at_unix_ms: now_millis(),
            duration_ms: elapsed.as_secs_f64() * 1000.0,
        };
        self.metrics.record_reload(
            trigger.as_str(),
            result.as_str(),
            result.is_success(),
            attempt.at_unix_ms,
            elapsed,
        );
        self.status.record(attempt.clone(), &current.sha_short);
        attempt
    }
}
