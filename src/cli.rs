//! The command line: `run` (the default), `check-config`, `reload` (the synchronous reload
//! client for `systemctl reload`), `demo` (the exporter against a built-in simulated
//! NetBackup) and `simulate` (the simulator alone).
//!
//! Maps each command's result to an exit code; the work lives in `daemon`, `config`,
//! `reload` and `sim`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::config;
use crate::daemon::{Daemon, DaemonOptions};
use crate::logging::LogFormat;
use crate::notify::Notifier;
use crate::reload::signals::Registered;
use crate::sim::{DataSpec, SimData, SimOptions, SimServer};
use crate::timefmt::{now_millis, parse_go_duration};

/// Prometheus exporter for Veritas NetBackup, with configuration hot reload.
#[derive(Parser, Debug)]
#[command(name = "nbu-exporter", version = crate::version::LONG, about)]
pub struct Cli {
    /// Config file (YAML). Same keys as the Go nbu_exporter.
    #[arg(short, long, global = true, default_value = "config.yaml")]
    pub config: PathBuf,
    /// Same as --log.level debug.
    #[arg(short, long, global = true, conflicts_with = "log_level")]
    pub debug: bool,
    /// Log level (error, warn, info, debug, trace); overrides server.logLevel, which
    /// reloads then leave alone.
    #[arg(long = "log.level", global = true, value_name = "LEVEL", value_parser = crate::logging::level_arg)]
    pub log_level: Option<log::LevelFilter>,
    /// Log format (logfmt, json); overrides server.logFormat, which reloads then leave
    /// alone.
    #[arg(long = "log.format", global = true, value_name = "FORMAT", value_parser = LogFormat::from_str)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the exporter (the default).
    Run,
    /// Validate a config file with the daemon's own loader; exit 0 if valid, 1 if not.
    CheckConfig {
        /// The file to check (default: --config).
        path: Option<PathBuf>,
    },
    /// Reload a running exporter and wait for the outcome of that reload.
    /// Exit 0 applied or unchanged, 1 rejected, 2 unreachable or timed out.
    Reload {
        /// Send SIGHUP to this process (what systemd's $MAINPID gives).
        #[arg(long)]
        pid: Option<i32>,
        /// The exporter's base URL, e.g. http://127.0.0.1:2112 (default: from the config).
        #[arg(long)]
        url: Option<String>,
        /// How long to wait for the outcome (Go duration syntax).
        #[arg(long, default_value = "10s")]
        timeout: String,
    },
    /// Run the exporter against a built-in simulated NetBackup (two sites) on loopback.
    Demo {
        /// Port for the exporter.
        #[arg(long, default_value_t = 2112)]
        port: u16,
        /// Jobs in the larger simulated site.
        #[arg(long, default_value_t = 2000)]
        jobs: usize,
    },
    /// Run only the simulated NetBackup server (for trying configs by hand).
    Simulate {
        #[arg(long, default_value_t = 1556)]
        port: u16,
        #[arg(long, default_value = "demo-api-key")]
        api_key: String,
        #[arg(long, default_value_t = 500)]
        jobs: usize,
        #[arg(long, default_value_t = 20)]
        storage_units: usize,
    },
}

impl Cli {
    /// Whether the command runs the daemon and so must own SIGHUP/SIGTERM/SIGINT.
    pub fn needs_signals(&self) -> bool {
        matches!(
            self.command,
            None | Some(Command::Run) | Some(Command::Demo { .. }) | Some(Command::Simulate { .. })
        )
    }
}

pub fn run(cli: Cli, signals: Option<Registered>) -> ExitCode {
    if let Some(level) = cli.log_level {
        crate::logging::pin_level(level, "--log.level");
    } else if cli.debug {
        crate::logging::pin_level(log::LevelFilter::Debug, "--debug");
    }
    if let Some(format) = cli.log_format {
        crate::logging::pin_format(format, "--log.format");
    }
    match cli.command {
        None | Some(Command::Run) => run_daemon(&cli.config, signals),
        Some(Command::CheckConfig { path }) => check_config(path.as_deref().unwrap_or(&cli.config)),
        Some(Command::Reload { pid, url, timeout }) => {
            crate::reload::client::run(&cli.config, pid, url, &timeout)
        }
        Some(Command::Demo { port, jobs }) => demo(port, jobs, signals),
        Some(Command::Simulate {
            port,
            api_key,
            jobs,
            storage_units,
        }) => simulate(port, &api_key, jobs, storage_units, signals),
    }
}

fn run_daemon(path: &Path, signals: Option<Registered>) -> ExitCode {
    let mut options = DaemonOptions::new(path);
    options.signals = signals;
    options.notifier = Notifier::from_env();
    match Daemon::start(options) {
        Ok(daemon) => {
            daemon.wait();
            ExitCode::SUCCESS
        }
        Err(e) => {
            crate::logging::init(log::LevelFilter::Info);
            // One line per problem, so a config with several stays readable.
            for problem in format!("{e:#}").lines() {
                log::error!(error = problem; "startup failed");
            }
            // Standard error is the log stream; the plain text is for a person at a
            // terminal only.
            if std::io::stderr().is_terminal() {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(1)
        }
    }
}

fn check_config(path: &Path) -> ExitCode {
    match config::load(path, &config::process_env) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            println!("{}", config::summary(&loaded));
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut err = std::io::stderr().lock();
            for p in &e.problems {
                let _ = writeln!(err, "{}: {p}", e.path.display());
            }
            let _ = writeln!(
                err,
                "{}: {} problem(s); config not valid",
                e.path.display(),
                e.problems.len()
            );
            ExitCode::from(1)
        }
    }
}

/// The API key the demo's simulated servers accept.
const DEMO_KEY: &str = "demo-api-key";

fn demo(port: u16, jobs: usize, signals: Option<Registered>) -> ExitCode {
    crate::logging::init(log::LevelFilter::Info);
    let now = now_millis();
    let big = DataSpec {
        jobs,
        active_jobs: 25,
        queued_jobs: 12,
        storage_units: 150,
        tape_units: 6,
        seed: 7,
    };
    let started = (|| -> std::io::Result<(SimServer, SimServer)> {
        Ok((
            SimServer::start(SimOptions::new(DEMO_KEY, SimData::generate(&big, now)))?,
            SimServer::start(SimOptions::new(DEMO_KEY, SimData::known(now)))?,
        ))
    })();
    let (paris, london) = match started {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: cannot start the simulated NetBackup servers: {e}");
            return ExitCode::from(1);
        }
    };
    let dir = std::env::temp_dir().join(format!("nbu-exporter-demo-{}", std::process::id()));
    let config_path = dir.join("config.yaml");
    let yaml = format!(
        "# nbu-exporter demo config: edit and save to see a hot reload.\n\
         server:\n  host: 127.0.0.1\n  port: {port}\n  uri: /metrics\n  scrapingInterval: 1h\n  collectionInterval: 30s\n  enableLifecycle: true\n\
         nbuservers:\n\
         \x20 - site: paris\n    scheme: http\n    host: 127.0.0.1\n    port: {}\n    apiKey: {DEMO_KEY}\n\
         \x20 - site: london\n    scheme: http\n    host: 127.0.0.1\n    port: {}\n    apiKey: {DEMO_KEY}\n",
        paris.port(),
        london.port()
    );
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt;
        // 0600: the file holds an API key (a demo one, but the exporter checks anyway).
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&config_path)?;
        file.write_all(yaml.as_bytes())
    });
    if let Err(e) = written {
        eprintln!("error: cannot write the demo config in {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    let mut options = DaemonOptions::new(&config_path);
    options.signals = signals;
    let code = match Daemon::start(options) {
        Ok(daemon) => {
            println!("nbu-exporter demo is running");
            let addr = daemon.local_addr();
            println!("  metrics:        http://{addr}/metrics");
            println!("  reload status:  http://{addr}/-/config-status");
            println!(
                "  simulated NetBackup: paris {}  london {}",
                paris.base_url(),
                london.base_url()
            );
            println!(
                "  config: {}  (edit it, or: curl -X POST http://{addr}/-/reload)",
                config_path.display()
            );
            println!("press Ctrl-C to stop");
            let _ = std::io::stdout().flush();
            daemon.wait();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.to_string().contains("cannot listen") {
                eprintln!("hint: pick another port with `nbu-exporter demo --port 9555`");
            }
            ExitCode::from(1)
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    paris.shutdown();
    london.shutdown();
    code
}

fn simulate(
    port: u16,
    api_key: &str,
    jobs: usize,
    storage_units: usize,
    signals: Option<Registered>,
) -> ExitCode {
    let spec = DataSpec {
        jobs,
        active_jobs: jobs / 50,
        queued_jobs: jobs / 100,
        storage_units,
        tape_units: 2,
        seed: 1,
    };
    let mut options = SimOptions::new(api_key, SimData::generate(&spec, now_millis()));
    options.bind = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = match SimServer::start(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the simulator on 127.0.0.1:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "simulated NetBackup at {} (API key {api_key:?}); Ctrl-C to stop",
        server.base_url()
    );
    let _ = std::io::stdout().flush();
    // Wait for SIGINT/SIGTERM through the registered handlers.
    if let Some(registered) = signals {
        let (tx, rx) = crossbeam_channel::unbounded();
        if let Ok(thread) = registered.start(tx) {
            loop {
                match rx.recv() {
                    Ok(crate::reload::Event::Shutdown) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            thread.close();
        }
    }
    server.shutdown();
    ExitCode::SUCCESS
}

/// Parses `--timeout` for the reload client.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    parse_go_duration(text).and_then(|d| {
        if d.is_zero() {
            Err("timeout must be > 0".into())
        } else {
            Ok(d)
        }
    })
}

/// A deadline-bounded wait used by the reload client.
pub(crate) fn until<T>(deadline: Instant, step: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(step);
    }
}
