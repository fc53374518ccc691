//! Entry point: parse the command line, set glibc's malloc settings for the daemon, register
//! signal handlers before any other thread starts, run the chosen command and map its result
//! to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = nbu_exporter::cli::Cli::parse();
    // Signals first: a SIGHUP during startup must be queued, never kill the process.
    let signals = if cli.needs_signals() {
        malloc_settings();
        nbu_exporter::sys::name_process_after_program();
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

/// Makes the daemon run with glibc's malloc settings of `sys::malloc_environment` (two
/// arenas, no per-thread cache), however it was started.
///
/// glibc reads them only at process start and `mallopt` would need `unsafe`, so a daemon
/// started without them executes itself once more with them set: same pid, arguments and
/// descriptors, before any thread or signal handler exists. Settings the operator chose are
/// kept. Returns when nothing needs doing or the re-execution failed (then glibc's
/// defaults hold).
#[cfg(target_env = "gnu")]
fn malloc_settings() {
    use nbu_exporter::sys::{malloc_environment, GLIBC_TUNABLES, MALLOC_ARENA_MAX};
    use std::os::unix::process::CommandExt;
    let arena_max = std::env::var(MALLOC_ARENA_MAX).ok();
    let tunables = std::env::var(GLIBC_TUNABLES).ok();
    let set = malloc_environment(arena_max.as_deref(), tunables.as_deref());
    if set.is_empty() {
        return;
    }
    let mut args = std::env::args_os();
    let Some(program) = args.next() else {
        return;
    };
    // `/proc/self/exe` still names this binary when its file was replaced by an upgrade.
    let error = std::process::Command::new("/proc/self/exe")
        .arg0(program)
        .args(args)
        .envs(set.iter().map(|(name, value)| (name, value)))
        .exec();
    eprintln!("warning: cannot restart with glibc malloc settings error={error}; glibc's defaults apply");
}

/// Other C libraries have neither setting.
#[cfg(not(target_env = "gnu"))]
fn malloc_settings() {}
