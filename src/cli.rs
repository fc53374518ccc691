//! The command line: `run` (the default), `check-config`, `fetch-ca` (show and save a
//! primary's CA), `reload` (the synchronous reload client for `systemctl reload`), `demo`
//! (the exporter against a built-in simulated NetBackup) and `simulate` (the simulator
//! alone).
//!
//! Maps each command's result to an exit code; the work lives in `daemon`, `config`,
//! `reload` and `demo`. A binary built without the `demo` feature has no simulator: it
//! hides `demo` and `simulate` from `--help` and answers them with an error saying so.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use clap::{Parser, Subcommand};

use crate::config;
use crate::daemon::{Daemon, DaemonOptions};
use crate::logging::LogFormat;
use crate::reload::signals::Registered;
use crate::sd_notify::Notifier;

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
    /// Web config file (TLS, basic auth, headers; exporter-toolkit format). Wins over
    /// server.webConfigFile, which is then not read; the file's content still reloads.
    #[arg(long = "web.config.file", global = true, value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
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
    /// With --connect, then contact every site (TCP, TLS, API key, API version, one request
    /// per enabled collector part); exit 2 if any of those fails.
    CheckConfig {
        /// The file to check (default: --config).
        path: Option<PathBuf>,
        /// Also contact every site, in parallel, each within its timeout.
        #[arg(long)]
        connect: bool,
    },
    /// Show the CA certificates a NetBackup primary publishes (GET /security/cacert) with
    /// their SHA-256 fingerprints, and save them for caFile with --out. This one request does
    /// not verify the server's certificate; compare the fingerprints with
    /// `nbcertcmd -listCACertDetails` on the primary before trusting the file.
    FetchCa {
        /// The primary: https://HOST:1556/netbackup, or just HOST or HOST:PORT.
        url: String,
        /// Write the certificates as a PEM file for caFile (nothing is written without it).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Give up after this long (Go duration syntax).
        #[arg(long, default_value = "30s")]
        timeout: String,
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
        /// Jobs in the larger simulated site.
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
            Some(Command::CheckConfig { .. } | Command::Reload { .. } | Command::FetchCa { .. }) => false,
        }
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
    let load_options = config::LoadOptions {
        web_config_file: cli.web_config_file.clone(),
    };
    match cli.command {
        None | Some(Command::Run) => run_daemon(&cli.config, &load_options, signals),
        Some(Command::CheckConfig { path, connect }) => {
            check_config(path.as_deref().unwrap_or(&cli.config), &load_options, connect)
        }
        Some(Command::FetchCa { url, out, timeout }) => match crate::timefmt::parse_go_duration(&timeout) {
            Ok(timeout) => crate::fetch_ca::run(&url, out.as_deref(), timeout),
            Err(e) => {
                eprintln!("error: --timeout {timeout:?}: {e}");
                ExitCode::from(2)
            }
        },
        Some(Command::Reload { pid, url, timeout }) => {
            crate::reload::command::run(&cli.config, pid, url, &timeout)
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

fn run_daemon(path: &Path, load_options: &config::LoadOptions, signals: Option<Registered>) -> ExitCode {
    let mut options = DaemonOptions::new(path);
    options.signals = signals;
    options.load_options = load_options.clone();
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

fn check_config(path: &Path, load_options: &config::LoadOptions, connect: bool) -> ExitCode {
    match config::load_with(path, &config::process_env, load_options) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            println!("{}", config::summary(&loaded));
            if connect {
                return crate::connect_check::run(&loaded.config);
            }
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
