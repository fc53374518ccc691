//! The daemon: the only place that knows every thread. Startup, the run-time components a
//! reload prepares and commits, and shutdown, in written-out steps.
//!
//! Threads: `signals` (forwards SIGHUP/SIGTERM/SIGINT), `reload` (the control loop in
//! `reload::worker`, sole writer of the generation), `http-PORT-accept` (the accept front,
//! plus a short-lived `http-PORT-conn` per connection), `http-PORT-N` (tiny_http workers),
//! `poll-SITE` (one per NetBackup site, plus a short-lived `jobs-SITE` per sweep), and
//! notify's own watcher thread.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};

use crate::collect::site::{PollSettings, PollerThread, SiteRuntime};
use crate::config::{self, Config, Loaded, SiteConfig};
use crate::http::{self, Listener};
use crate::logging;
use crate::metrics::ExporterMetrics;
use crate::nbu::{Client, ClientOptions, RequestObserver, RequestOutcome};
use crate::notify::Notifier;
use crate::reload::signals::{Registered, SignalThread};
use crate::reload::watch::{ConfigWatch, WatchMode};
use crate::reload::worker::{Worker, WorkerInputs};
use crate::reload::{Attempt, Event, Outcome, Trigger};
use crate::state::{Generation, Shared};
use crate::timefmt::now_millis;

/// How the environment is read for `${VAR}` expansion.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How long shutdown waits for in-flight scrapes, then for pollers.
const HTTP_GRACE: Duration = Duration::from_secs(10);
/// How long a listener a reload moved away from keeps accepting before it drains.
const MOVE_GRACE: Duration = Duration::from_secs(1);
const POLLER_GRACE: Duration = Duration::from_secs(3);

pub struct DaemonOptions {
    pub config_path: PathBuf,
    pub env: EnvFn,
    /// Signal handlers registered first thing in `main`; tests run without.
    pub signals: Option<Registered>,
    pub watch_mode: WatchMode,
    pub client_options: ClientOptions,
    pub notifier: Notifier,
}

impl DaemonOptions {
    pub fn new(config_path: impl Into<PathBuf>) -> DaemonOptions {
        DaemonOptions {
            config_path: config_path.into(),
            env: Arc::new(config::process_env),
            signals: None,
            watch_mode: WatchMode::Notify,
            client_options: ClientOptions::default(),
            notifier: Notifier::disabled(),
        }
    }
}

/// A running daemon. Dropping it does not stop it; call `shutdown` or `wait`.
pub struct Daemon {
    shared: Arc<Shared>,
    control: Option<JoinHandle<()>>,
    signals: Option<SignalThread>,
}

impl Daemon {
    /// Loads the config, binds the listener, starts pollers, HTTP, signals and the reload
    /// worker. Fails (for exit code 1) on an invalid config, a busy port or a thread that
    /// cannot start.
    pub fn start(options: DaemonOptions) -> anyhow::Result<Daemon> {
        let DaemonOptions {
            config_path,
            env,
            signals,
            watch_mode,
            client_options,
            notifier,
        } = options;
        let started = Instant::now();
        let loaded = config::load(&config_path, &*env).map_err(|e| anyhow!("{e}"))?;
        let cfg = &loaded.config;
        logging::init(cfg.server.log_level);
        for warning in &loaded.warnings {
            log::warn!("config warning: {warning}");
        }
        if let Some(path) = &cfg.server.log_name {
            logging::set_file(Some((
                path.clone(),
                logging::open_file(path).map_err(|e| anyhow!(e))?,
            )));
        }

        match http::raise_fd_limit() {
            Some((before, after)) if after > before => {
                log::debug!("open file limit raised from {before} to {after}");
            }
            Some((limit, _)) if limit < 4096 => log::warn!(
                "open file limit is {limit} and cannot be raised; raise LimitNOFILE= (systemd) or ulimit -n"
            ),
            _ => {}
        }
        let metrics = Arc::new(ExporterMetrics::new());
        let mut listener = Listener::bind(&cfg.server.host, cfg.server.port).map_err(|e| anyhow!(e))?;
        let (events_tx, events_rx) = crossbeam_channel::unbounded::<Event>();

        let mut runtimes = Vec::new();
        let mut pollers = Vec::new();
        for site in &cfg.sites {
            let client = build_client(site, &client_options, &metrics).map_err(|e| anyhow!(e))?;
            let (runtime, thread) =
                SiteRuntime::spawn(poll_settings(cfg, site, client), Arc::clone(&metrics))
                    .context("cannot start a poller thread")?;
            metrics.init_site(&site.name);
            runtimes.push(runtime);
            pollers.push(thread);
        }
        let generation = Generation {
            number: 1,
            config: Arc::new(cfg.clone()),
            sha256: loaded.sha256,
            sha_short: loaded.sha256_short(),
            sites: runtimes.clone(),
        };
        let shared = Arc::new(Shared::new(
            generation,
            Arc::clone(&metrics),
            events_tx.clone(),
            listener.local_addr(),
        ));
        listener
            .serve(&shared, http::WORKERS)
            .context("cannot start HTTP workers")?;
        for runtime in &runtimes {
            runtime.start();
        }

        // Watch before declaring the start done, then check once that the file still holds
        // what was loaded: a change made in between is queued as a reload, one made later
        // is the watcher's.
        let watch = match ConfigWatch::start(
            &config_path,
            &cfg.referenced_files(),
            watch_mode,
            events_tx.clone(),
        ) {
            Ok(watch) => Some(watch),
            Err(e) => {
                if watch_mode == WatchMode::Notify {
                    log::warn!("config watcher unavailable error={e}; falling back to polling");
                }
                None
            }
        };
        if config::load(&config_path, &*env).map(|l| l.sha256).ok() != Some(loaded.sha256) {
            let _ = events_tx.send(Event::Reload {
                trigger: Trigger::Poll,
                force: false,
                reply: None,
            });
        }
        let attempt = Attempt {
            id: 1,
            trigger: Trigger::Startup,
            result: Outcome::Applied,
            generation: 1,
            reason: None,
            problems: Vec::new(),
            changes: Vec::new(),
            at_unix_ms: now_millis(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        };
        record_metrics(&metrics, &attempt, started.elapsed());
        shared.status.record(attempt, &loaded.sha256_short());
        log::info!(
            "nbu-exporter started version={} listen={} metrics_path={} sites={} generation=1 sha256={}",
            env!("CARGO_PKG_VERSION"),
            listener.local_addr(),
            cfg.server.uri,
            cfg.sites
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
            loaded.sha256_short()
        );
        notifier.ready(&format!(
            "generation 1 applied; serving {} site(s)",
            cfg.sites.len()
        ));

        let signal_thread = match signals {
            Some(registered) => Some(
                registered
                    .start(events_tx.clone())
                    .context("cannot start the signal thread")?,
            ),
            None => None,
        };
        let runtime = Runtime {
            shared: Arc::clone(&shared),
            listener: Some(listener),
            draining: Vec::new(),
            pollers,
            client_options,
        };
        let inputs = WorkerInputs {
            path: config_path,
            env,
            events: events_rx,
            watch_mode,
            watch,
            notifier,
        };
        let worker = Worker::new(Arc::clone(&shared), runtime, inputs);
        let control = std::thread::Builder::new()
            .name("reload".into())
            .spawn(move || worker.run())
            .context("cannot start the reload worker")?;
        Ok(Daemon {
            shared,
            control: Some(control),
            signals: signal_thread,
        })
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The address `/metrics` is served on now.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.listen_addr()
    }

    /// Asks for a graceful stop without waiting.
    pub fn request_shutdown(&self) {
        let _ = self.shared.events.send(Event::Shutdown);
    }

    /// Blocks until the daemon has stopped (a signal or `request_shutdown`).
    pub fn wait(mut self) {
        if let Some(control) = self.control.take() {
            let _ = control.join();
        }
        if let Some(signals) = self.signals.take() {
            signals.close();
        }
    }

    /// Stops gracefully and waits.
    pub fn shutdown(self) {
        self.request_shutdown();
        self.wait();
    }
}

fn poll_settings(cfg: &Config, site: &SiteConfig, client: Arc<Client>) -> PollSettings {
    PollSettings {
        site: site.clone(),
        client,
        interval: cfg.server.collection_interval,
        timeout: cfg.server.collection_timeout,
        window: cfg.server.scraping_interval,
        resync_interval: cfg.server.jobs_resync_interval,
    }
}

fn build_client(
    site: &SiteConfig,
    options: &ClientOptions,
    metrics: &Arc<ExporterMetrics>,
) -> Result<Arc<Client>, String> {
    let counter = metrics.nbu_requests_total.clone();
    let name = site.name.clone();
    let observer: RequestObserver = Arc::new(move |outcome: &RequestOutcome| {
        counter
            .with_label_values(&[name.as_str(), outcome.endpoint, outcome.code])
            .inc();
    });
    Client::new(site, options.clone(), Some(observer))
        .map(Arc::new)
        .map_err(|e| format!("nbuservers[{}]: {e}", site.name))
}

/// Updates the reload metrics for one finished attempt.
pub(crate) fn record_metrics(metrics: &ExporterMetrics, attempt: &Attempt, duration: Duration) {
    let now = attempt.at_unix_ms as f64 / 1000.0;
    metrics
        .config_reloads_total
        .with_label_values(&[attempt.trigger.as_str(), attempt.result.as_str()])
        .inc();
    metrics.config_last_reload_attempt_timestamp_seconds.set(now);
    metrics
        .config_reload_duration_seconds
        .observe(duration.as_secs_f64());
    if attempt.result.is_success() {
        metrics.config_last_reload_successful.set(1);
        metrics.config_last_reload_success_timestamp_seconds.set(now);
    } else {
        metrics.config_last_reload_successful.set(0);
    }
}

/// Everything a reload may replace, prepared off-line. Dropping it through `abandon`
/// undoes the preparation; nothing in it is visible until `commit`.
pub(crate) struct Prepared {
    generation: Generation,
    listener: Option<Listener>,
    log_file: Option<Option<(PathBuf, std::fs::File)>>,
    spawned: Vec<Arc<SiteRuntime>>,
    threads: Vec<PollerThread>,
    updates: Vec<(Arc<SiteRuntime>, PollSettings, bool)>,
    retire: Vec<(Arc<SiteRuntime>, &'static str)>,
}

/// The run-time components owned by the reload worker.
pub(crate) struct Runtime {
    shared: Arc<Shared>,
    listener: Option<Listener>,
    /// Listeners a reload moved away from, each with the time it stops accepting; then
    /// they finish their in-flight requests.
    draining: Vec<(Listener, Instant)>,
    /// Live and retiring poller threads; finished ones are reaped.
    pollers: Vec<PollerThread>,
    client_options: ClientOptions,
}

impl Runtime {
    /// Builds everything the new config needs that can fail: a listener on a new
    /// address, a new log file, clients for changed sites, runtimes (with paused pollers)
    /// for new or moved sites. Touches nothing that is running.
    pub(crate) fn prepare(
        &mut self,
        loaded: &Loaded,
        old: &Generation,
        force: bool,
    ) -> Result<Prepared, String> {
        let new = &loaded.config;
        let mut p = Prepared {
            generation: Generation {
                number: old.number + 1,
                config: Arc::new(new.clone()),
                sha256: loaded.sha256,
                sha_short: loaded.sha256_short(),
                sites: Vec::new(),
            },
            listener: None,
            log_file: None,
            spawned: Vec::new(),
            threads: Vec::new(),
            updates: Vec::new(),
            retire: Vec::new(),
        };
        match self.prepare_into(&mut p, new, old, force) {
            Ok(()) => Ok(p),
            Err(e) => {
                self.abandon(p);
                Err(e)
            }
        }
    }

    fn prepare_into(
        &mut self,
        p: &mut Prepared,
        new: &Config,
        old: &Generation,
        force: bool,
    ) -> Result<(), String> {
        let metrics = Arc::clone(&self.shared.metrics);
        let old_server = &old.config.server;
        if new.server.host != old_server.host || new.server.port != old_server.port {
            let mut listener = Listener::bind(&new.server.host, new.server.port)?;
            // Serving before the swap is harmless: handlers read whichever generation is
            // current, and the old listener keeps serving until the swap.
            listener
                .serve(&self.shared, http::WORKERS)
                .map_err(|e| format!("cannot start HTTP workers: {e}"))?;
            p.listener = Some(listener);
        }
        if new.server.log_name != old_server.log_name {
            p.log_file = Some(match &new.server.log_name {
                Some(path) => Some((path.clone(), logging::open_file(path)?)),
                None => None,
            });
        }
        for site in &new.sites {
            let existing = old.sites.iter().find(|r| r.name() == site.name);
            match existing {
                Some(runtime) if *runtime.address() == site.address() => {
                    let current = runtime.settings();
                    let client_changed = force || current.site != *site;
                    let cadence_changed = current.interval != new.server.collection_interval
                        || current.timeout != new.server.collection_timeout
                        || current.window != new.server.scraping_interval
                        || current.resync_interval != new.server.jobs_resync_interval;
                    if client_changed || cadence_changed {
                        let client = if client_changed {
                            build_client(site, &self.client_options, &metrics)?
                        } else {
                            Arc::clone(&current.client)
                        };
                        p.updates.push((
                            Arc::clone(runtime),
                            poll_settings(new, site, client),
                            client_changed,
                        ));
                    }
                    p.generation.sites.push(Arc::clone(runtime));
                }
                moved_or_new => {
                    let client = build_client(site, &self.client_options, &metrics)?;
                    let (runtime, thread) =
                        SiteRuntime::spawn(poll_settings(new, site, client), Arc::clone(&metrics)).map_err(
                            |e| format!("cannot start a poller thread for site {}: {e}", site.name),
                        )?;
                    p.threads.push(thread);
                    p.spawned.push(Arc::clone(&runtime));
                    p.generation.sites.push(runtime);
                    if let Some(old_runtime) = moved_or_new {
                        p.retire.push((Arc::clone(old_runtime), "address_changed"));
                    }
                }
            }
        }
        for runtime in &old.sites {
            if !new.sites.iter().any(|s| s.name == runtime.name()) {
                p.retire.push((Arc::clone(runtime), "removed"));
            }
        }
        Ok(())
    }

    /// Drops a preparation: stops pollers that never started and closes a new listener.
    pub(crate) fn abandon(&mut self, p: Prepared) {
        for runtime in &p.spawned {
            runtime.retire();
        }
        self.pollers.extend(p.threads);
        if let Some(listener) = p.listener {
            listener.shutdown(Duration::from_secs(1));
        }
    }

    /// Makes the prepared generation live. Cannot fail: every fallible step happened in
    /// `prepare`. Order: swap, logging, sites and pollers, HTTP listener last.
    pub(crate) fn commit(&mut self, p: Prepared) -> Arc<Generation> {
        let Prepared {
            generation,
            listener,
            log_file,
            spawned,
            threads,
            updates,
            retire,
        } = p;
        let level = generation.config.server.log_level;
        let generation = Arc::new(generation);
        let _previous = self.shared.swap(Arc::clone(&generation));

        logging::set_level(level);
        if let Some(file) = log_file {
            logging::set_file(file);
        }

        let metrics = &self.shared.metrics;
        for (runtime, reason) in retire {
            runtime.retire();
            if reason == "removed" {
                metrics.forget_site(runtime.name());
            }
            metrics
                .cache_flushes_total
                .with_label_values(&[runtime.name(), reason])
                .inc();
            log::info!("site cache flushed site={} reason={reason}", runtime.name());
        }
        for runtime in &spawned {
            metrics.init_site(runtime.name());
            runtime.start();
        }
        self.pollers.extend(threads);
        for (runtime, settings, sweep_now) in updates {
            runtime.update(settings, sweep_now);
        }

        if let Some(new_listener) = listener {
            self.shared.set_listen_addr(new_listener.local_addr());
            log::info!("listener moved listen={}", new_listener.local_addr());
            if let Some(old) = self.listener.replace(new_listener) {
                // The old port keeps accepting a moment: a client that read the old
                // address just before the move gets its answer rather than a refusal.
                self.draining.push((old, Instant::now() + MOVE_GRACE));
            }
        }
        generation
    }

    /// Whether a moved-away listener is still draining, so the control loop must wake to
    /// close it (its port stays open until then).
    pub(crate) fn is_draining(&self) -> bool {
        !self.draining.is_empty()
    }

    /// Joins threads that have finished: retired pollers, drained listeners.
    pub(crate) fn reap(&mut self) {
        let (done, live): (Vec<_>, Vec<_>) = self.pollers.drain(..).partition(|p| p.handle.is_finished());
        self.pollers = live;
        for p in done {
            let _ = p.handle.join();
        }
        let now = Instant::now();
        self.draining.retain_mut(|(listener, stop_at)| {
            if now < *stop_at {
                return true;
            }
            listener.begin_drain();
            !listener.try_finish()
        });
    }

    /// Graceful stop: stop accepting, let in-flight scrapes finish, stop pollers.
    pub(crate) fn shutdown(mut self, notifier: &Notifier) {
        notifier.stopping();
        log::info!("shutting down");
        if let Some(listener) = self.listener.take() {
            if !listener.shutdown(HTTP_GRACE) {
                log::warn!("shutdown: some HTTP requests did not finish in time");
            }
        }
        for (listener, _) in self.draining.drain(..) {
            listener.shutdown(Duration::from_secs(1));
        }
        for runtime in &self.shared.current().sites {
            runtime.retire();
        }
        let deadline = Instant::now() + POLLER_GRACE;
        for p in self.pollers.drain(..) {
            // A poller blocked in a NetBackup request ends by its own timeout; don't wait past the grace.
            while !p.handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if p.handle.is_finished() {
                let _ = p.handle.join();
            } else {
                log::debug!("shutdown: poller still in a request site={}", p.site);
            }
        }
        log::info!("stopped");
        log::logger().flush();
    }
}
