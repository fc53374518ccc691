//! Applying a configuration: the one way the run-time pieces of a generation (the HTTP
//! listener, the log file and level, NetBackup clients, site runtimes and their poller
//! threads) are built, for the first generation at startup and for every later one.
//!
//! `Applier::prepare` does every step that can fail -- bind a new listener and start its
//! (waiting) workers, open a new log file, build clients, spawn paused pollers -- and
//! touches nothing that runs; on error the preparation is dropped. `Applier::commit`
//! cannot fail: it swaps the generation in, then sets logging, retires, starts and updates
//! pollers, and opens the new listener last. Startup is the first reload: it prepares from
//! no running generation (nothing bound, no log file, no sites), so every piece is built;
//! only the caller's answer to a failure differs (exit 1 instead of keeping the running
//! generation).
//!
//! It owns the listeners and poller threads between reloads and hands them to shutdown.
//! It must not know what asked for a reload, how the file was read, or what a scrape
//! renders.

use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::collect::site::{CollectionObserver, PollSettings, PollerThread, SiteRuntime, SweepReport};
use crate::config::{Config, Loaded, SiteConfig};
use crate::http_server::{self, BindError, Edge, Listener};
use crate::logging;
use crate::metrics::exporter::ExporterMetrics;
use crate::nbu::{Client, ClientOptions, RequestObserver, RequestOutcome, SetupError};
use crate::state::{Generation, SharedState};

/// How long a listener a reload moved away from keeps accepting before it drains.
const MOVE_GRACE: Duration = Duration::from_secs(1);
/// How long a listener that never served a live generation, or one still draining at
/// shutdown, gets to finish.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Why a configuration could not be prepared. Nothing running was touched.
#[derive(Debug)]
pub enum PrepareError {
    /// The new `server.host`/`server.port` cannot be bound.
    Listener(BindError),
    /// The new listener's threads cannot be started.
    HttpWorkers(std::io::Error),
    /// The new `server.logName` cannot be opened; logging's message names the file.
    LogFile(String),
    /// A site's NetBackup client cannot be built (TLS setup, base URL).
    Client { site: String, source: SetupError },
    /// A site's poller thread cannot be started.
    Poller { site: String, source: std::io::Error },
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrepareError::Listener(e) => e.fmt(f),
            PrepareError::HttpWorkers(e) => write!(f, "cannot start HTTP workers: {e}"),
            PrepareError::LogFile(message) => f.write_str(message),
            PrepareError::Client { site, source } => write!(f, "nbuservers[{site}]: {source}"),
            PrepareError::Poller { site, source } => {
                write!(f, "cannot start a poller thread for site {site}: {source}")
            }
        }
    }
}

impl std::error::Error for PrepareError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PrepareError::Listener(e) => Some(e),
            PrepareError::HttpWorkers(e) => Some(e),
            PrepareError::LogFile(_) => None,
            PrepareError::Client { source, .. } => Some(source),
            PrepareError::Poller { source, .. } => Some(source),
        }
    }
}

/// Everything a new generation needs, built off-line. Nothing in it is visible until
/// `commit`, which must follow: its paused pollers wait for it.
pub(crate) struct Prepared {
    generation: Arc<Generation>,
    pieces: Pieces,
}

/// What `commit` puts to work besides the generation itself, and what `undo` drops when a
/// preparation fails half-way.
#[derive(Default)]
struct Pieces {
    listener: Option<Listener>,
    /// The edge for a changed web config (TLS, authentication, headers).
    edge: Option<Arc<Edge>>,
    /// `Some` when the log file changes (`Some(None)`: back to standard error only).
    log_file: Option<Option<(PathBuf, File)>>,
    spawned: Vec<Arc<SiteRuntime>>,
    threads: Vec<PollerThread>,
    /// Runtimes kept with new settings, and whether they sweep at once (new client).
    updates: Vec<(Arc<SiteRuntime>, PollSettings, bool)>,
    /// Runtimes to retire, with the `reason` label of the cache flush.
    retire: Vec<(Arc<SiteRuntime>, &'static str)>,
}

impl Prepared {
    /// The generation `commit` will make live.
    pub(crate) fn generation(&self) -> Arc<Generation> {
        Arc::clone(&self.generation)
    }
}

/// The run-time pieces of the running generation that outlive a reload: the serving
/// listener, listeners still draining after a move, and every poller thread.
pub(crate) struct Applier {
    metrics: Arc<ExporterMetrics>,
    client_options: ClientOptions,
    listener: Option<Listener>,
    /// What the serving listener holds connections to (`None` before startup); its
    /// basic-auth verdict cache carries over to the next edge.
    edge: Option<Arc<Edge>>,
    /// Listeners a reload moved away from, each with the time it stops accepting; then
    /// they finish their in-flight requests.
    draining: Vec<(Listener, Instant)>,
    /// Live and retiring poller threads; finished ones are reaped.
    pollers: Vec<PollerThread>,
}

impl Applier {
    /// An applier with nothing running yet: the first `prepare` builds everything.
    pub(crate) fn new(metrics: Arc<ExporterMetrics>, client_options: ClientOptions) -> Applier {
        Applier {
            metrics,
            client_options,
            listener: None,
            edge: None,
            draining: Vec::new(),
            pollers: Vec::new(),
        }
    }

    /// Builds everything `loaded` needs that can fail, against `running` (`None` at
    /// startup): a listener on a new address, a new log file, clients for new or changed
    /// sites, runtimes (with paused pollers) for new or moved sites. Touches nothing that
    /// is running; on error, what was built is dropped.
    pub(crate) fn prepare(
        &mut self,
        loaded: &Loaded,
        running: Option<&Generation>,
        force: bool,
    ) -> Result<Prepared, PrepareError> {
        let mut pieces = Pieces::default();
        match self.build(&mut pieces, &loaded.config, running, force) {
            Ok(sites) => {
                let number = running.map_or(1, |g| g.number + 1);
                Ok(Prepared {
                    generation: Arc::new(Generation::new(number, loaded, sites)),
                    pieces,
                })
            }
            Err(e) => {
                self.undo(pieces);
                Err(e)
            }
        }
    }

    /// Fills `b` and returns the new generation's sites, in config order.
    fn build(
        &mut self,
        b: &mut Pieces,
        new: &Config,
        running: Option<&Generation>,
        force: bool,
    ) -> Result<Vec<Arc<SiteRuntime>>, PrepareError> {
        // What runs now; the empty generation before startup has no listener, writes to
        // standard error only and has no site.
        let old_server = running.map(|g| &g.config.server);
        let old_sites: &[Arc<SiteRuntime>] = running.map_or(&[], |g| &g.sites);

        if force || old_server.is_none_or(|s| s.web != new.server.web) {
            let web = new.server.web.as_deref();
            b.edge = Some(Arc::new(match &self.edge {
                Some(current) => current.next(web),
                None => Edge::first(web, &self.metrics),
            }));
        }
        let moved = old_server.is_none_or(|s| s.host != new.server.host || s.port != new.server.port);
        if moved {
            let mut listener =
                Listener::bind(&new.server.host, new.server.port).map_err(PrepareError::Listener)?;
            if let Some(edge) = b.edge.as_ref().or(self.edge.as_ref()) {
                listener.set_edge(Arc::clone(edge));
            }
            listener
                .serve(http_server::WORKERS)
                .map_err(PrepareError::HttpWorkers)?;
            b.listener = Some(listener);
        }
        let old_log_name = old_server.and_then(|s| s.log_name.as_ref());
        if new.server.log_name.as_ref() != old_log_name {
            b.log_file = Some(match &new.server.log_name {
                Some(path) => Some((
                    path.clone(),
                    logging::open_file(path).map_err(PrepareError::LogFile)?,
                )),
                None => None,
            });
        }
        let mut sites = Vec::with_capacity(new.sites.len());
        for site in &new.sites {
            let existing = old_sites.iter().find(|r| r.name() == site.name);
            match existing {
                Some(runtime) if *runtime.address() == site.address() => {
                    let current = runtime.settings();
                    let client_changed = force || current.site != *site;
                    let cadence_changed = current.interval != new.server.collection_interval
                        || current.timeout != new.server.collection_timeout
                        || current.window != new.server.scraping_interval
                        || current.resync_interval != new.server.jobs_resync_interval
                        // The opt-in collectors: `SiteRuntime::update` applies them.
                        || current.collectors != new.collectors;
                    if client_changed || cadence_changed {
                        let client = if client_changed {
                            self.build_client(site)?
                        } else {
                            Arc::clone(&current.client)
                        };
                        b.updates.push((
                            Arc::clone(runtime),
                            poll_settings(new, site, client),
                            client_changed,
                        ));
                    }
                    sites.push(Arc::clone(runtime));
                }
                moved_or_new => {
                    let client = self.build_client(site)?;
                    let (runtime, thread) =
                        SiteRuntime::spawn(poll_settings(new, site, client), self.collection_observer())
                            .map_err(|source| PrepareError::Poller {
                                site: site.name.clone(),
                                source,
                            })?;
                    b.threads.push(thread);
                    b.spawned.push(Arc::clone(&runtime));
                    sites.push(runtime);
                    if let Some(old_runtime) = moved_or_new {
                        b.retire.push((Arc::clone(old_runtime), "address_changed"));
                    }
                }
            }
        }
        for runtime in old_sites {
            if !new.sites.iter().any(|s| s.name == runtime.name()) {
                b.retire.push((Arc::clone(runtime), "removed"));
            }
        }
        Ok(sites)
    }

    /// A NetBackup client for `site` whose requests are counted in the self-metrics.
    fn build_client(&self, site: &SiteConfig) -> Result<Arc<Client>, PrepareError> {
        let metrics = Arc::clone(&self.metrics);
        let name = site.name.clone();
        let observer: RequestObserver = Arc::new(move |outcome: &RequestOutcome| {
            metrics.nbu_request(&name, outcome.endpoint, outcome.code);
        });
        Client::new(site, self.client_options.clone(), Some(observer))
            .map(Arc::new)
            .map_err(|source| PrepareError::Client {
                site: site.name.clone(),
                source,
            })
    }

    /// Counts each collector run of a sweep in the self-metrics.
    fn collection_observer(&self) -> CollectionObserver {
        let metrics = Arc::clone(&self.metrics);
        Arc::new(move |site, report| match report {
            SweepReport::Collector(run) => {
                metrics.collection_ran(site, run.collector, run.duration, run.success)
            }
            SweepReport::Supported { collector, supported } => {
                metrics.set_collector_supported(site, collector, supported)
            }
            SweepReport::Disabled { collector } => metrics.forget_collector(site, collector),
            SweepReport::Records { source, count } => metrics.add_nbu_records(site, source, count),
            SweepReport::JobsTracked(jobs) => metrics.set_jobs_tracked(site, jobs),
            SweepReport::JobsSweep { kind } => metrics.count_jobs_sweep(site, kind),
            SweepReport::TlsCertExpiry(Some(not_after)) => metrics.set_tls_cert_expiry(site, not_after),
            SweepReport::TlsCertExpiry(None) => metrics.clear_tls_cert_expiry(site),
        })
    }

    /// Drops a failed preparation: stops pollers that never started and closes a new
    /// listener.
    fn undo(&mut self, pieces: Pieces) {
        for runtime in &pieces.spawned {
            runtime.retire();
        }
        self.pollers.extend(pieces.threads);
        if let Some(listener) = pieces.listener {
            listener.shutdown(CLOSE_GRACE);
        }
    }

    /// Makes the prepared generation live. Cannot fail: every fallible step happened in
    /// `prepare`. Order: swap, logging, sites and pollers, HTTP listener last.
    pub(crate) fn commit(&mut self, p: Prepared, shared: &Arc<SharedState>) -> Arc<Generation> {
        let Prepared {
            generation,
            pieces:
                Pieces {
                    listener,
                    edge,
                    log_file,
                    spawned,
                    threads,
                    updates,
                    retire,
                },
        } = p;
        let _previous = shared.swap(Arc::clone(&generation));

        logging::set_format(generation.config.server.log_format);
        logging::set_level(generation.config.server.log_level);
        if let Some(file) = log_file {
            logging::set_file(file);
        }

        for (runtime, reason) in retire {
            runtime.retire();
            if reason == "removed" {
                self.metrics.forget_site(runtime.name());
            }
            self.metrics.cache_flushed(runtime.name(), reason);
            log::info!(site = runtime.name(), reason = reason; "site cache flushed");
        }
        for runtime in &spawned {
            self.metrics.init_site(runtime.name());
            runtime.start();
        }
        self.pollers.extend(threads);
        for (runtime, settings, sweep_now) in updates {
            runtime.update(settings, sweep_now);
        }

        if let Some(edge) = edge {
            // A moved listener was bound with it already; the serving one takes it for the
            // connections it accepts from now on.
            if let Some(current) = &self.listener {
                current.set_edge(Arc::clone(&edge));
            }
            self.edge = Some(edge);
        }
        if let Some(mut new_listener) = listener {
            new_listener.open(shared);
            shared.set_listen_addr(new_listener.local_addr());
            if let Some(old) = self.listener.replace(new_listener) {
                log::info!(listen:% = shared.listen_addr(); "listener moved");
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

    /// Shutdown, first step: the serving listener stops accepting and gets at most `grace`
    /// for in-flight requests; listeners still draining after a move get `CLOSE_GRACE`.
    /// Returns whether every request finished in time.
    pub(crate) fn close_listeners(&mut self, grace: Duration) -> bool {
        let finished = self.listener.take().is_none_or(|l| l.shutdown(grace));
        for (listener, _) in self.draining.drain(..) {
            listener.shutdown(CLOSE_GRACE);
        }
        finished
    }

    /// Shutdown, second step: retires the sites of `running` and waits at most `grace` for
    /// every poller thread. A poller blocked in a NetBackup request ends by its own
    /// deadline; it is not waited for past the grace.
    pub(crate) fn stop_pollers(&mut self, running: &Generation, grace: Duration) {
        for runtime in &running.sites {
            runtime.retire();
        }
        let deadline = Instant::now() + grace;
        for p in self.pollers.drain(..) {
            while !p.handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if p.handle.is_finished() {
                let _ = p.handle.join();
            } else {
                log::debug!(site = p.site.as_str(); "poller still in a request at shutdown");
            }
        }
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
        collectors: cfg.collectors.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::path::Path;

    use super::*;

    fn loaded(listen_port: u16) -> Loaded {
        // The site's port refuses connections: its poller fails fast, on loopback only.
        let yaml = format!(
            "server:\n  host: 127.0.0.1\n  port: {listen_port}\n\
             nbuservers:\n  - site: paris\n    scheme: http\n    host: 127.0.0.1\n    port: 9\n    apiKey: k\n"
        );
        crate::config::load_from_bytes(Path::new("config.yaml"), yaml.as_bytes(), &|_| None)
            .expect("a valid config")
    }

    fn applier() -> Applier {
        let options = ClientOptions {
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..ClientOptions::default()
        };
        Applier::new(Arc::new(ExporterMetrics::new()), options)
    }

    /// Startup and a reload are the same two steps: from nothing, everything is built;
    /// from the running generation, the same content builds nothing and keeps the runtime.
    #[test]
    fn the_first_generation_is_prepared_from_nothing_and_the_next_from_it() {
        let mut applier = applier();
        let loaded = loaded(0);
        let first = applier
            .prepare(&loaded, None, false)
            .expect("prepare generation 1");
        assert_eq!(first.generation.number, 1);
        assert!(first.pieces.listener.is_some(), "startup binds the listener");
        assert_eq!(first.pieces.spawned.len(), 1, "startup spawns every site");
        assert!(
            first.pieces.log_file.is_none(),
            "no logName: standard error stays"
        );

        let (events, _events) = crossbeam_channel::unbounded();
        let shared = Arc::new(SharedState::new(
            first.generation(),
            Arc::clone(&applier.metrics),
            events,
        ));
        let running = applier.commit(first, &shared);
        assert_ne!(shared.listen_addr().port(), 0, "the listener opened");

        let second = applier
            .prepare(&loaded, Some(&running), false)
            .expect("prepare generation 2");
        assert_eq!(second.generation.number, 2);
        let p = &second.pieces;
        assert!(p.listener.is_none() && p.log_file.is_none());
        assert!(p.spawned.is_empty() && p.updates.is_empty() && p.retire.is_empty());
        assert!(Arc::ptr_eq(&second.generation.sites[0], &running.sites[0]));
        applier.commit(second, &shared);

        assert!(applier.close_listeners(Duration::from_secs(5)));
        applier.stop_pollers(&shared.current(), Duration::from_secs(5));
    }

    /// A caller can tell a busy port from other failures; nothing is left running.
    #[test]
    fn a_busy_port_fails_the_preparation_with_a_listener_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let mut applier = applier();
        let error = applier
            .prepare(&loaded(port), None, false)
            .err()
            .expect("the port is taken");
        assert!(
            matches!(error, PrepareError::Listener(BindError::Listen { .. })),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot listen on 127.0.0.1:{port}: ")),
            "{error}"
        );
        assert!(applier.listener.is_none() && applier.pollers.is_empty());
    }
}
