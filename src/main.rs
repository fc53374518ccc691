//! Entry point: parse the command line, register signal handlers before any other thread
//! starts, run the chosen command and map its result to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = nbu_exporter::cli::Cli::parse();
    // Signals first: a SIGHUP during startup must be queued, never kill the process.
    let signals = if cli.needs_signals() {
        match nbu_exporter::reload::signals::register() {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: cannot install signal handlers: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    nbu_exporter::cli::run(cli, signals)
}
