//! What the daemon asks of the operating system for the process as a whole: today, the
//! open-file limit.
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
}
