//! The daemon: the only place that knows every thread. It wires them, in written-out
//! steps: startup (load, then generation 1 applied through `reload::apply` exactly as a
//! reload applies every later one), the inputs and the reload worker, and shutdown.
//!
//! Threads: `signals` (forwards SIGHUP/SIGTERM/SIGINT), `reload` (the control loop in
//! `reload::worker`, sole writer of the generation), `http-PORT-accept` (the accept front,
//! plus a short-lived `http-PORT-conn` per connection), `http-PORT-N` (tiny_http workers),
//! `poll-SITE` (one per NetBackup site, plus a short-lived `jobs-SITE` per sweep), and
//! notify's own watcher thread.
//!
//! It builds nothing a generation runs on (that is `reload::apply`) and runs no reload
//! (that is `reload::worker`); no module imports it.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{self, LoadError};
use crate::logging;
use crate::metrics::exporter::ExporterMetrics;
use crate::nbu::ClientOptions;
use crate::reload::apply::{Applier, PrepareError};
use crate::reload::signals::{Registered, SignalThread};
use crate::reload::watch::{ConfigWatch, WatchMode};
use crate::reload::worker::{EnvFn, Worker, WorkerInputs};
use crate::sd_notify::Notifier;
use crate::state::{Event, ReloadOutcome, SharedState, Trigger};
use crate::sys;

/// How long shutdown waits for in-flight scrapes, then for pollers.
const HTTP_GRACE: Duration = Duration::from_secs(10);
const POLLER_GRACE: Duration = Duration::from_secs(3);

pub struct DaemonOptions {
    pub config_path: PathBuf,
    pub env: EnvFn,
    /// Signal handlers registered first thing in `main`; tests run without.
    pub signals: Option<Registered>,
    pub watch_mode: WatchMode,
    pub client_options: ClientOptions,
    pub notifier: Notifier,
    /// Command-line additions to every load (`--web.config.file`).
    pub load_options: config::LoadOptions,
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
            load_options: config::LoadOptions::default(),
        }
    }
}

/// Why the daemon did not start; the process then exits with status 1.
#[derive(Debug)]
pub enum StartError {
    /// The config file is missing, unreadable or invalid; every problem is listed.
    Config(LoadError),
    /// Generation 1 cannot be applied: the port is taken, the log file cannot be opened,
    /// a client cannot be built or a poller cannot start.
    Apply(PrepareError),
    /// One of the daemon's own threads cannot be started.
    Thread {
        name: &'static str,
        source: std::io::Error,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => e.fmt(f),
            StartError::Apply(e) => e.fmt(f),
            StartError::Thread { name, source } => write!(f, "cannot start the {name}: {source}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(e) => Some(e),
            StartError::Apply(e) => Some(e),
            StartError::Thread { source, .. } => Some(source),
        }
    }
}

/// A running daemon. Dropping it does not stop it; call `shutdown` or `wait`.
pub struct Daemon {
    shared: Arc<SharedState>,
    control: Option<JoinHandle<()>>,
    signals: Option<SignalThread>,
}

impl Daemon {
    /// Loads the config and applies it as generation 1 (listener, log file, clients,
    /// pollers), then starts the watcher, the signal thread and the reload worker. Fails
    /// (for exit code 1) on an invalid config, a busy port or a thread that cannot start.
    pub fn start(options: DaemonOptions) -> Result<Daemon, StartError> {
        let DaemonOptions {
            config_path,
            env,
            signals,
            watch_mode,
            client_options,
            notifier,
            load_options,
        } = options;
        let started = Instant::now();

        // 1. Load and validate. Any problem is a startup failure.
        let loaded = config::load_with(&config_path, &*env, &load_options).map_err(StartError::Config)?;
        let cfg = &loaded.config;
        logging::set_format(cfg.server.log_format);

        // 2. The logger at the configured level, then the process's open-file limit.
        logging::init(cfg.server.log_level);
        for warning in &loaded.warnings {
            log::warn!(warning:% = warning; "config warning");
        }
        raise_open_file_limit();
        if let Some(flag) = &load_options.web_config_file {
            log::info!(
                web_config_file:% = flag.display();
                "web config from --web.config.file; server.webConfigFile is not read, the file's content still reloads"
            );
        }

        // 3. Generation 1, applied as every reload applies a generation, from nothing:
        //    prepare binds the listener, opens the log file, builds the clients and spawns
        //    paused pollers; commit publishes it, sets logging, starts the pollers and opens
        //    the listener. A failure exits: there is no running generation to keep.
        let metrics = Arc::new(ExporterMetrics::new());
        let (events_tx, events_rx) = crossbeam_channel::unbounded::<Event>();
        let mut applier = Applier::new(Arc::clone(&metrics), client_options);
        let prepared = applier.prepare(&loaded, None, false).map_err(StartError::Apply)?;
        // Nothing reads the state before the commit: the listener's workers wait for it,
        // and the inputs and the worker start below.
        let shared = Arc::new(SharedState::new(
            prepared.generation(),
            metrics,
            events_tx.clone(),
        ));
        applier.commit(prepared, &shared);

        // 4. Watch before declaring the start done, then check once that the file still
        //    holds what was loaded: a change made in between is queued as a reload, one
        //    made later is the watcher's.
        let watch = match ConfigWatch::start(
            &config_path,
            &cfg.referenced_files(),
            watch_mode,
            events_tx.clone(),
        ) {
            Ok(watch) => Some(watch),
            Err(e) => {
                if watch_mode == WatchMode::Notify {
                    log::warn!(error:% = e; "config watcher unavailable; falling back to polling");
                }
                None
            }
        };
        if config::load_with(&config_path, &*env, &load_options)
            .map(|l| l.sha256)
            .ok()
            != Some(loaded.sha256)
        {
            let _ = events_tx.send(Event::Reload {
                trigger: Trigger::Poll,
                force: false,
                reply: None,
            });
        }

        // 5. Generation 1 is attempt 1 (trigger `startup`); then READY=1.
        shared.record_attempt(
            Trigger::Startup,
            ReloadOutcome::Applied,
            None,
            Vec::new(),
            Vec::new(),
            started,
        );
        log::info!(
            version = crate::version::VERSION,
            revision = crate::version::REVISION,
            listen:% = shared.listen_addr(),
            tls = cfg.server.web.as_ref().is_some_and(|w| w.tls.is_some()),
            basic_auth_users = cfg.server.web.as_ref().map_or(0, |w| w.users.len()),
            metrics_path = cfg.server.uri.as_str(),
            sites:% = cfg.sites.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(","),
            generation = 1,
            sha256:% = loaded.sha256_short();
            "nbu-exporter started"
        );
        notifier.ready(&format!(
            "generation 1 applied; serving {} site(s)",
            cfg.sites.len()
        ));

        // 6. The inputs that were waiting (a SIGHUP during startup is queued), and the
        //    control loop, which shuts everything down when it ends.
        let signal_thread = match signals {
            Some(registered) => {
                Some(
                    registered
                        .start(events_tx.clone())
                        .map_err(|source| StartError::Thread {
                            name: "signal thread",
                            source,
                        })?,
                )
            }
            None => None,
        };
        let inputs = WorkerInputs {
            path: config_path,
            env,
            events: events_rx,
            watch_mode,
            watch,
            notifier: notifier.clone(),
            load_options,
        };
        let worker = Worker::new(Arc::clone(&shared), applier, inputs);
        let for_shutdown = Arc::clone(&shared);
        let control = std::thread::Builder::new()
            .name("reload".into())
            .spawn(move || {
                let applier = worker.run();
                shutdown(applier, &for_shutdown, &notifier);
            })
            .map_err(|source| StartError::Thread {
                name: "reload worker",
                source,
            })?;
        Ok(Daemon {
            shared,
            control: Some(control),
            signals: signal_thread,
        })
    }

    pub fn shared(&self) -> &Arc<SharedState> {
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

/// Raises the soft open-file limit to the hard one, and warns when it stays low.
fn raise_open_file_limit() {
    match sys::raise_fd_limit() {
        Some((before, after)) if after > before => {
            log::debug!(from = before, to = after; "open file limit raised");
        }
        Some((limit, _)) if limit < 4096 => log::warn!(
            limit = limit,
            hint = "raise LimitNOFILE= (systemd) or ulimit -n";
            "open file limit is low and cannot be raised"
        ),
        _ => {}
    }
}

/// Graceful stop, once the control loop has ended: STOPPING=1, the listeners drain
/// (in-flight scrapes finish, `HTTP_GRACE`), then the pollers are retired and joined
/// (`POLLER_GRACE`).
fn shutdown(mut applier: Applier, shared: &SharedState, notifier: &Notifier) {
    notifier.stopping();
    log::info!("shutting down");
    if !applier.close_listeners(HTTP_GRACE) {
        log::warn!("shutdown: some HTTP requests did not finish in time");
    }
    applier.stop_pollers(&shared.current(), POLLER_GRACE);
    log::info!("stopped");
    log::logger().flush();
}
