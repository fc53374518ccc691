//! Where the front reaches tiny_http: a Unix socket in a directory of its own that only the
//! exporter's user can enter, so no other local process can bypass the front's limits,
//! TLS or authentication (tiny_http once listened on a loopback TCP port that any local
//! process could connect to).
//!
//! The directory is created fresh (mode 0700, `create_dir` fails rather than reuse an
//! existing path) under `$RUNTIME_DIRECTORY` when systemd gives one (`RuntimeDirectory=`),
//! else under the temporary directory (`$TMPDIR`, `/tmp`). It is removed when its listener
//! is dropped; a listener that a reload moves gets a new one. It must not know HTTP.

use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The socket's file name inside its directory (the reload client looks for it).
pub const SOCKET_NAME: &str = "http.sock";

/// Directories created by this process so far, for unique names.
static CREATED: AtomicU32 = AtomicU32::new(0);

/// A private directory holding the backend socket; removed on drop.
pub(super) struct BackendDir {
    dir: PathBuf,
    socket: PathBuf,
}

impl BackendDir {
    /// Creates the directory and binds the socket in it.
    pub(super) fn bind() -> Result<(BackendDir, UnixListener), String> {
        let base = base_dir();
        let dir = create_private_dir(&base)?;
        let socket = dir.join(SOCKET_NAME);
        let backend = BackendDir {
            dir: dir.clone(),
            socket: socket.clone(),
        };
        let listener = UnixListener::bind(&socket)
            .map_err(|e| format!("cannot listen on {} for the HTTP workers: {e}", socket.display()))?;
        Ok((backend, listener))
    }

    pub(super) fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for BackendDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `$RUNTIME_DIRECTORY` (its first entry: systemd separates several with `:`), else the
/// temporary directory.
fn base_dir() -> PathBuf {
    std::env::var_os("RUNTIME_DIRECTORY")
        .and_then(|dirs| {
            dirs.to_str()
                .and_then(|d| d.split(':').next())
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(std::env::temp_dir)
}

/// A new directory `nbu-exporter-PID-N` under `base`, mode 0700. An existing name is
/// skipped, never reused: whoever made it may own it.
fn create_private_dir(base: &Path) -> Result<PathBuf, String> {
    let pid = std::process::id();
    let mut last_error = None;
    for _ in 0..100 {
        let n = CREATED.fetch_add(1, Ordering::SeqCst);
        let dir = base.join(format!("nbu-exporter-{pid}-{n}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => {
                return Err(format!(
                    "cannot create a private directory in {} for the HTTP workers' socket: {e}",
                    base.display()
                ))
            }
        }
    }
    Err(format!(
        "cannot create a private directory in {} for the HTTP workers' socket: {}",
        base.display(),
        last_error.map_or_else(|| "no free name".to_string(), |e| e.to_string())
    ))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_socket_lives_in_a_private_directory_removed_on_drop() {
        let (backend, _listener) = BackendDir::bind().expect("bind");
        let dir = backend.socket().parent().expect("a directory").to_path_buf();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "group and others cannot enter: {mode:o}");
        assert!(backend.socket().exists());
        let (other, _l2) = BackendDir::bind().expect("a second one");
        assert_ne!(other.socket(), backend.socket(), "each listener has its own");
        drop(backend);
        assert!(!dir.exists(), "removed with its listener");
    }

    #[test]
    fn an_existing_name_is_skipped() {
        let base = tempfile::tempdir().unwrap();
        let pid = std::process::id();
        let next = CREATED.load(Ordering::SeqCst);
        // Names this process could pick next, taken by someone else.
        for n in next..next + 3 {
            std::fs::create_dir(base.path().join(format!("nbu-exporter-{pid}-{n}"))).unwrap();
        }
        let dir = create_private_dir(base.path()).expect("a fresh name");
        assert!(dir.starts_with(base.path()));
        assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 4);
    }
}
