//! The file-watch input: a `notify` watcher on the config file's directory (never the file
//! itself, whose inode editors and kubelet replace), plus the directory of the symlink
//! target when the config path is a symlink (`..data/config.yaml` on Kubernetes), and the
//! same for every file the config refers to (`apiKeyFile`, `caFile`: a rotated key in a
//! Secret mount is a config change).
//!
//! Any event that may concern the config (its name, a name in its symlink chain, a
//! kubelet `..data`-style name, a rescan or an event without a path) becomes
//! `Event::FileChanged`; debouncing and reading belong to the reload worker, which trusts
//! content hashes, not event kinds. Watch errors become `Event::WatcherFailed`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::Sender;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use parking_lot::Mutex;

use crate::state::Event;

/// What the worker wants from the watcher: a real inotify watch, or none (tests inject a
/// failure to exercise the polling fallback).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchMode {
    Notify,
    /// Behave as if the watcher could not be created.
    Unavailable,
}

/// The watched directories and the names in them that matter.
#[derive(Clone, Debug, Default, PartialEq)]
struct Targets {
    dirs: BTreeSet<PathBuf>,
    names: BTreeSet<OsString>,
}

/// Works out which directories to watch for `config_path` and which names matter:
/// the path's own directory and name, and for each symlink hop the target's directory
/// and name.
fn targets_for(config_path: &Path) -> Targets {
    let mut t = Targets::default();
    let mut current = config_path.to_path_buf();
    // Bounded: a symlink loop must not spin here.
    for _ in 0..16 {
        let dir = match current.parent() {
            Some(p) if p.as_os_str().is_empty() => PathBuf::from("."),
            Some(p) => p.to_path_buf(),
            None => PathBuf::from("/"),
        };
        t.dirs.insert(dir.clone());
        if let Some(name) = current.file_name() {
            t.names.insert(name.to_os_string());
        }
        match std::fs::read_link(&current) {
            Ok(target) => {
                current = if target.is_absolute() {
                    target
                } else {
                    dir.join(target)
                }
            }
            Err(_) => break,
        }
    }
    // The canonical path covers links in intermediate components (`..data/config.yaml`).
    if let Ok(canonical) = std::fs::canonicalize(config_path) {
        if let Some(dir) = canonical.parent() {
            t.dirs.insert(dir.to_path_buf());
        }
        if let Some(name) = canonical.file_name() {
            t.names.insert(name.to_os_string());
        }
    }
    t
}

/// Opening or reading a file (as the reload worker does) is not a change; closing a file
/// that was open for writing is.
fn is_read_only_access(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    match kind {
        notify::EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
        notify::EventKind::Access(_) => true,
        _ => false,
    }
}

/// Whether an event on `path` may concern the config.
fn is_relevant(names: &BTreeSet<OsString>, path: &Path) -> bool {
    match path.file_name() {
        Some(name) => names.contains(name) || name.to_string_lossy().starts_with(".."),
        None => true,
    }
}

/// The union of `targets_for` over several files.
fn targets_for_all(paths: &[PathBuf]) -> Targets {
    let mut all = Targets::default();
    for path in paths {
        let t = targets_for(path);
        all.dirs.extend(t.dirs);
        all.names.extend(t.names);
    }
    all
}

/// A live directory watch. Dropping it stops the watch.
pub struct ConfigWatch {
    config_path: PathBuf,
    /// Files the running config refers to; watched like the config itself.
    referenced: Vec<PathBuf>,
    watcher: RecommendedWatcher,
    watched: Targets,
    names: Arc<Mutex<BTreeSet<OsString>>>,
}

impl ConfigWatch {
    /// Starts watching. Fails when the watcher cannot be created or no directory can be
    /// watched (inotify limits, a missing directory); the worker then polls.
    pub fn start(
        config_path: &Path,
        referenced: &[PathBuf],
        mode: WatchMode,
        events: Sender<Event>,
    ) -> Result<ConfigWatch, String> {
        if mode == WatchMode::Unavailable {
            return Err("file watching disabled".into());
        }
        let names: Arc<Mutex<BTreeSet<OsString>>> = Arc::default();
        let handler_names = Arc::clone(&names);
        let watcher =
            notify::recommended_watcher(move |result: notify::Result<notify::Event>| match result {
                Ok(event) => {
                    // Our own reads of the config open and close it: those events change
                    // nothing and would feed back into endless reloads.
                    if is_read_only_access(&event.kind) {
                        return;
                    }
                    let relevant = event.need_rescan()
                        || event.paths.is_empty()
                        || event.paths.iter().any(|p| is_relevant(&handler_names.lock(), p));
                    if relevant {
                        let _ = events.send(Event::FileChanged);
                    }
                }
                Err(e) => {
                    let _ = events.send(Event::WatcherFailed(e.to_string()));
                }
            })
            .map_err(|e| format!("cannot create file watcher: {e}"))?;
        let mut watch = ConfigWatch {
            config_path: config_path.to_path_buf(),
            referenced: referenced.to_vec(),
            watcher,
            watched: Targets::default(),
            names,
        };
        watch.refresh()?;
        Ok(watch)
    }

    /// Sets the referenced files (after a reload changed them); `refresh` applies it.
    pub fn set_referenced(&mut self, referenced: Vec<PathBuf>) {
        self.referenced = referenced;
    }

    /// Re-resolves the symlink chain and moves the watches to match. Call after every
    /// event burst: a kubelet swap or `ln -sfn` points the config at a new directory.
    pub fn refresh(&mut self) -> Result<(), String> {
        let mut paths = vec![self.config_path.clone()];
        paths.extend(self.referenced.iter().cloned());
        let wanted = targets_for_all(&paths);
        if wanted == self.watched {
            return Ok(());
        }
        *self.names.lock() = wanted.names.clone();
        for gone in self.watched.dirs.difference(&wanted.dirs) {
            let _ = self.watcher.unwatch(gone);
        }
        let mut errors = Vec::new();
        let mut watching = BTreeSet::new();
        for dir in &wanted.dirs {
            if self.watched.dirs.contains(dir) {
                watching.insert(dir.clone());
                continue;
            }
            match self.watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    watching.insert(dir.clone());
                }
                Err(e) => errors.push(format!("{}: {e}", dir.display())),
            }
        }
        // The config's own directory is the one that must be watched.
        let own_dir_ok = self.config_path.parent().is_none_or(|p| {
            let p = if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            };
            watching.contains(p)
        });
        self.watched = Targets {
            dirs: watching,
            names: wanted.names,
        };
        if own_dir_ok {
            Ok(())
        } else {
            Err(format!("cannot watch config directory: {}", errors.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_layout_targets() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("..2026_01_01")).unwrap();
        std::fs::write(d.join("..2026_01_01/config.yaml"), "x").unwrap();
        std::os::unix::fs::symlink("..2026_01_01", d.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/config.yaml", d.join("config.yaml")).unwrap();
        let t = targets_for(&d.join("config.yaml"));
        let canonical_dir = std::fs::canonicalize(d.join("..2026_01_01")).unwrap();
        assert!(t.dirs.contains(d), "{t:?}");
        assert!(t.dirs.contains(&canonical_dir), "{t:?}");
        assert!(is_relevant(&t.names, &d.join("..data_tmp")));
        assert!(is_relevant(&t.names, &d.join("config.yaml")));
        assert!(!is_relevant(&t.names, &d.join(".config.yaml.swp")));
        assert!(!is_relevant(&t.names, &d.join("4913")));
    }

    #[test]
    fn absolute_symlinks_root_and_nameless_paths() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("real")).unwrap();
        std::fs::write(d.join("real/nbu.yaml"), "x").unwrap();
        std::os::unix::fs::symlink(d.join("real/nbu.yaml"), d.join("config.yaml")).unwrap();
        let t = targets_for(&d.join("config.yaml"));
        assert!(t.dirs.contains(&d.join("real")), "{t:?}");
        assert!(t.names.contains(&OsString::from("nbu.yaml")), "{t:?}");

        let root = targets_for(Path::new("/"));
        assert!(root.dirs.contains(Path::new("/")), "{root:?}");
        // An event without a file name (the directory itself) may concern the config.
        assert!(is_relevant(&t.names, Path::new("/")));
    }

    #[test]
    fn a_missing_directory_cannot_be_watched() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, _rx) = crossbeam_channel::unbounded();
        let err = ConfigWatch::start(&dir.path().join("gone/config.yaml"), &[], WatchMode::Notify, tx)
            .err()
            .expect("no directory to watch");
        assert!(err.starts_with("cannot watch config directory: "), "{err}");
    }

    #[test]
    fn a_bare_file_name_watches_the_current_directory() {
        let (tx, _rx) = crossbeam_channel::unbounded();
        let watch = ConfigWatch::start(
            Path::new("nbu-exporter-no-such-config.yaml"),
            &[],
            WatchMode::Notify,
            tx,
        )
        .expect("the current directory can be watched");
        assert!(watch.watched.dirs.contains(Path::new(".")), "{:?}", watch.watched);
    }
}
