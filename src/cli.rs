//! The command line: `run` (the default), `check-config`, `reload` (the synchronous reload
//! client for `systemctl reload`), `demo` (the exporter against a built-in simulated
//! NetBackup) and `simulate` (the simulator alone).
//!
//! Maps each command's result to an exit code; the work lives in `daemon`, `config`,
//! `reload` and `demo`. A binary built without the `demo` feature has no simulator: it
//! hides `demo` and `simulate` from `--help` and answers them with an error saying so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config;
use crate::daemon::{Daemon, DaemonOptions};
use crate::notify::Notifier;
use crate::reload::signals::Registered;

/// Prometheus exporter for Veritas NetBackup, with configuration hot reload.
#[derive(Parser, Debug)]
#[command(name = "nbu-exporter", version, about)]
pub struct Cli {
    /// Config file (YAML). Same keys as the Go nbu_exporter.
    #[arg(short, long, global = true, default_value = "config.yaml")]
    pub config: PathBuf,
    /// Log at debug level whatever server.logLevel says.
    #[arg(short, long, global = true)]
    pub debug: bool,
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
    #[cfg_attr(not(feature = "demo"), command(hide = true))]
    Demo {
        /// Port for the exporter.
        #[arg(long, default_value_t = 2112)]
        port: u16,
        /// Jobs per hour arriving at the larger simulated site (they queue, run and end as
        /// time passes).
        #[arg(long, default_value_t = 2000)]
        jobs: usize,
    },
    /// Run only the simulated NetBackup server (for trying configs by hand).
    #[cfg_attr(not(feature = "demo"), command(hide = true))]
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
        match self.command {
            None | Some(Command::Run) => true,
            Some(Command::Demo { .. } | Command::Simulate { .. }) => cfg!(feature = "demo"),
            Some(Command::CheckConfig { .. } | Command::Reload { .. }) => false,
        }
    }
}

pub fn run(cli: Cli, signals: Option<Registered>) -> ExitCode {
    if cli.debug {
        crate::logging::set_floor(log::LevelFilter::Debug);
    }
    match cli.command {
        None | Some(Command::Run) => run_daemon(&cli.config, signals),
        Some(Command::CheckConfig { path }) => check_config(path.as_deref().unwrap_or(&cli.config)),
        Some(Command::Reload { pid, url, timeout }) => {
            crate::reload::client::run(&cli.config, pid, url, &timeout)
        }
        #[cfg(feature = "demo")]
        Some(Command::Demo { port, jobs }) => crate::demo::demo(port, jobs, signals),
        #[cfg(feature = "demo")]
        Some(Command::Simulate {
            port,
            api_key,
            jobs,
            storage_units,
        }) => crate::demo::simulate(port, &api_key, jobs, storage_units, signals),
        #[cfg(not(feature = "demo"))]
        Some(Command::Demo { .. } | Command::Simulate { .. }) => built_without_demo(),
    }
}

/// `demo` and `simulate` in a binary built with `--no-default-features`.
#[cfg(not(feature = "demo"))]
fn built_without_demo() -> ExitCode {
    eprintln!(
        "error: this nbu-exporter was built without the `demo` feature, so it has no simulated \
         NetBackup and no `demo` or `simulate` subcommand; build it with default features \
         (`cargo build --release`) to get them"
    );
    ExitCode::from(2)
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
            log::error!("startup failed: {}", e.to_string().replace('\n', "; "));
            eprintln!("error: {e:#}");
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// `demo` and `simulate` are listed and run exactly when the binary has the simulator;
    /// they parse either way, so a build without it can say why it will not run them.
    #[test]
    fn demo_subcommands_follow_the_demo_feature() {
        let help = Cli::command().render_long_help().to_string();
        assert_eq!(help.contains("\n  demo "), cfg!(feature = "demo"), "{help}");
        assert_eq!(help.contains("\n  simulate "), cfg!(feature = "demo"), "{help}");
        assert!(help.contains("\n  check-config "), "{help}");
        for args in [["nbu-exporter", "demo"], ["nbu-exporter", "simulate"]] {
            let cli = Cli::try_parse_from(args).expect("demo and simulate parse");
            assert_eq!(cli.needs_signals(), cfg!(feature = "demo"), "{args:?}");
        }
        #[cfg(not(feature = "demo"))]
        for command in ["demo", "simulate"] {
            let cli = Cli::parse_from(["nbu-exporter", command]);
            assert_eq!(run(cli, None), ExitCode::from(2), "{command}");
        }
    }
}
