//! `Event`: every input of the reload worker's control loop, sent on the one channel that
//! signals, the file watcher, HTTP and `ReloadControl` share. Senders only describe what
//! happened; they never touch state.

use std::sync::mpsc::Sender;

use super::attempt::{Attempt, Trigger};

/// Every input of the daemon's control loop.
#[derive(Debug)]
pub enum Event {
    /// Run a reload now (after coalescing). `reply` receives the attempt that served it.
    Reload {
        trigger: Trigger,
        force: bool,
        reply: Option<Sender<Attempt>>,
    },
    /// Something changed in a watched directory; the worker debounces these.
    FileChanged,
    /// The file watcher reported an error (overflow, lost watch); re-arm it.
    WatcherFailed(String),
    /// A `ReloadControl` guard was released; run what was held back.
    Resume,
    /// Stop the daemon gracefully.
    Shutdown,
}
