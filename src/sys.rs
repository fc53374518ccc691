//! What the daemon asks of the operating system for the process as a whole: the
//! open-file limit, and the glibc malloc settings it runs with.
//!
//! A small OS-facing module, so that startup does not reach into the HTTP front for it. It
//! holds no descriptor itself and must not know the components that use them.

/// Raises the soft limit on open file descriptors to the hard limit, as Go programs do at
/// startup, and returns the limits before and after. tiny_http's private listener stops
/// accepting for good on its first accept error, so running out of descriptors must stay
/// out of reach: systemd's default soft limit (1024) is low enough for a connection burst
/// to reach, its default hard limit (524288) is not.
pub fn raise_fd_limit() -> Option<(u64, u64)> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(soft), Some(hard)) = (limit.current, limit.maximum) else {
        // Unlimited (None) on either side: nothing to raise or nothing to raise it to.
        return None;
    };
    if soft >= hard {
        return Some((soft, soft));
    }
    let raised = Rlimit {
        current: Some(hard),
        maximum: Some(hard),
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some((soft, hard)),
        Err(_) => Some((soft, soft)),
    }
}

/// The variables glibc reads, once, when the process starts.
pub const MALLOC_ARENA_MAX: &str = "MALLOC_ARENA_MAX";
pub const GLIBC_TUNABLES: &str = "GLIBC_TUNABLES";
const ARENAS: &str = "2";
const TCACHE_TUNABLE: &str = "glibc.malloc.tcache_count=0";

/// The malloc settings the daemon runs with: at most two arenas, and no per-thread cache.
/// Returns the variables to set, given the current values of `MALLOC_ARENA_MAX` and
/// `GLIBC_TUNABLES`; empty when the process already runs with them (or with the
/// operator's own choice of them, which is kept).
///
/// glibc gives busy threads arenas of their own (up to 8 per core) and keeps freed memory
/// in each; and each thread caches up to 7 freed chunks per size class (`tcache`) that
/// only it can reuse. The exporter runs two or three threads per site, most of them idle
/// between sweeps, so memory a sweep frees stays parked where other threads cannot use it.
/// At 50 sites both settings lower RSS and neither moves `/metrics` latency
/// (docs/performance.md).
pub fn malloc_environment(arena_max: Option<&str>, tunables: Option<&str>) -> Vec<(&'static str, String)> {
    let chose = |name: &str| {
        tunables.is_some_and(|t| {
            t.split(':')
                .any(|item| item.split('=').next().is_some_and(|n| n.ends_with(name)))
        })
    };
    let mut set = Vec::new();
    if arena_max.is_none() && !chose("arena_max") {
        set.push((MALLOC_ARENA_MAX, ARENAS.to_string()));
    }
    if !chose("tcache_count") {
        let value = match tunables.filter(|t| !t.is_empty()) {
            Some(t) => format!("{t}:{TCACHE_TUNABLE}"),
            None => TCACHE_TUNABLE.to_string(),
        };
        set.push((GLIBC_TUNABLES, value));
    }
    set
}

/// Gives the process the name of the program it was started as (`nbu-exporter`), as
/// `ps`, `top`, `pgrep` and `killall` show and match it. A daemon that re-executed
/// itself through `/proc/self/exe` (for `malloc_environment`) is otherwise named `exe`,
/// after the file it was executed from. Call before any other thread starts: threads
/// started unnamed inherit the name.
pub fn name_process_after_program() {
    let Some(program) = std::env::args_os().next() else {
        return;
    };
    let Some(name) = std::path::Path::new(&program).file_name() else {
        return;
    };
    // The kernel keeps 15 bytes; a name with a NUL byte cannot be set.
    let mut bytes: Vec<u8> = name.as_encoded_bytes().iter().copied().take(15).collect();
    if bytes.contains(&0) {
        return;
    }
    bytes.push(0);
    if let Ok(name) = std::ffi::CStr::from_bytes_with_nul(&bytes) {
        let _ = rustix::thread::set_name(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_fd_limit_is_raised_to_the_hard_limit() {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let hard = getrlimit(Resource::Nofile)
            .maximum
            .expect("Linux caps open files at fs.nr_open");
        // One below the hard limit: lowering it for this whole test process costs nothing.
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard - 1),
                maximum: Some(hard),
            },
        )
        .expect("lower the soft limit");
        assert_eq!(raise_fd_limit(), Some((hard - 1, hard)));
        assert_eq!(getrlimit(Resource::Nofile).current, Some(hard));
        assert_eq!(raise_fd_limit(), Some((hard, hard)), "already at the hard limit");
    }

    fn check(arena_max: Option<&str>, tunables: Option<&str>, want: &[(&str, &str)]) {
        let got = malloc_environment(arena_max, tunables);
        let got: Vec<(&str, &str)> = got.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(
            got, want,
            "MALLOC_ARENA_MAX={arena_max:?} GLIBC_TUNABLES={tunables:?}"
        );
    }

    #[test]
    fn malloc_settings_are_added_and_the_operators_kept() {
        let tcache = "glibc.malloc.tcache_count=0";
        check(None, None, &[(MALLOC_ARENA_MAX, "2"), (GLIBC_TUNABLES, tcache)]);
        check(
            None,
            Some(""),
            &[(MALLOC_ARENA_MAX, "2"), (GLIBC_TUNABLES, tcache)],
        );
        // Already running with them (the second start): nothing to do, so no loop.
        check(Some("2"), Some(tcache), &[]);
        // The operator's values win.
        check(Some("8"), None, &[(GLIBC_TUNABLES, tcache)]);
        check(
            None,
            Some("glibc.malloc.tcache_count=7"),
            &[(MALLOC_ARENA_MAX, "2")],
        );
        check(
            None,
            Some("glibc.malloc.arena_max=4"),
            &[(
                GLIBC_TUNABLES,
                "glibc.malloc.arena_max=4:glibc.malloc.tcache_count=0",
            )],
        );
        check(
            Some("1"),
            Some("glibc.malloc.arena_max=1:glibc.malloc.tcache_count=3"),
            &[],
        );
        // Other tunables are kept, ours appended.
        check(
            Some("2"),
            Some("glibc.pthread.rseq=0"),
            &[(GLIBC_TUNABLES, "glibc.pthread.rseq=0:glibc.malloc.tcache_count=0")],
        );
    }
}
