//! The systemd notification protocol (`sd_notify`): `READY=1` once serving,
//! `RELOADING=1` + `MONOTONIC_USEC=` when a reload starts, `READY=1` when it ends (also
//! when the config was rejected, or `systemctl reload` under `Type=notify-reload` would
//! hang), `STOPPING=1` on shutdown, and a one-line `STATUS=`.
//!
//! A few lines over a Unix datagram socket; a no-op without `NOTIFY_SOCKET`. It knows
//! nothing of why a state changes.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

#[derive(Clone)]
enum Target {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

/// Sends notifications to the service manager, if there is one.
#[derive(Clone)]
pub struct Notifier {
    target: Option<Target>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
    pub fn from_env() -> Notifier {
        Notifier::for_socket(std::env::var_os("NOTIFY_SOCKET").map(|s| s.to_string_lossy().into_owned()))
    }

    /// A notifier for an explicit socket address (tests), or a no-op for `None`.
    pub fn for_socket(socket: Option<String>) -> Notifier {
        let target = socket
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix('@') {
                Some(name) => Target::Abstract(name.as_bytes().to_vec()),
                None => Target::Path(PathBuf::from(s)),
            });
        Notifier { target }
    }

    pub fn disabled() -> Notifier {
        Notifier { target: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// Marks the start of a reload; systemd needs `MONOTONIC_USEC` in the same datagram.
    pub fn reloading(&self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping");
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", one_line(status)));
    }

    fn send(&self, message: &str) {
        let Some(target) = &self.target else { return };
        let result = UnixDatagram::unbound().and_then(|socket| match target {
            Target::Path(path) => socket.send_to(message.as_bytes(), path),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(message.as_bytes(), &addr)
            }
        });
        if let Err(e) = result {
            log::debug!(error:% = e; "sd_notify failed");
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares `MONOTONIC_USEC` with.
fn monotonic_usec() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_a_fake_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let n = Notifier::for_socket(Some(path.to_string_lossy().into_owned()));
        let recv = || {
            let mut buf = [0u8; 512];
            let len = server.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..len]).into_owned()
        };
        n.ready("generation 1 applied\nsecond line");
        assert_eq!(recv(), "READY=1\nSTATUS=generation 1 applied second line");
        n.reloading();
        let msg = recv();
        let usec: u64 = msg
            .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(usec > 0);
        n.status("reload rejected: x");
        assert_eq!(recv(), "STATUS=reload rejected: x");
        n.stopping();
        assert_eq!(recv(), "STOPPING=1\nSTATUS=stopping");
        Notifier::for_socket(None).ready("nothing happens");
    }
}
