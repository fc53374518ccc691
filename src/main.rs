//! Entry point: parse the command line, cap glibc's malloc arenas for the daemon, register
//! signal handlers before any other thread starts, run the chosen command and map its result
//! to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = nbu_exporter::cli::Cli::parse();
    // Signals first: a SIGHUP during startup must be queued, never kill the process.
    let signals = if cli.needs_signals() {
        two_malloc_arenas();
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

/// The environment variable glibc reads, once, when the process starts.
#[cfg(target_env = "gnu")]
const MALLOC_ARENA_MAX: &str = "MALLOC_ARENA_MAX";

/// Makes the daemon run with at most two glibc malloc arenas, however it was started.
///
/// glibc gives busy threads arenas of their own (up to 8 per core) and keeps freed memory
/// in each: RSS is higher and creeps (docs/performance.md; no allocator crate measured
/// better). glibc reads `MALLOC_ARENA_MAX` only at process start and `mallopt` would need
/// `unsafe`, so a daemon started without it executes itself once more with it set: same
/// pid, arguments and descriptors, before any thread or signal handler exists. A value the
/// operator chose (`MALLOC_ARENA_MAX`, or `arena_max` in `GLIBC_TUNABLES`) is kept.
/// Returns when nothing needs doing or the re-execution failed (then glibc's default holds).
#[cfg(target_env = "gnu")]
fn two_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(MALLOC_ARENA_MAX).is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("arena_max"))
    {
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
        .env(MALLOC_ARENA_MAX, "2")
        .exec();
    eprintln!(
        "warning: cannot restart with {MALLOC_ARENA_MAX}=2 error={error}; glibc's default malloc arenas apply"
    );
}

/// Other C libraries have no per-thread arenas to cap.
#[cfg(not(target_env = "gnu"))]
fn two_malloc_arenas() {}
