//! `ReloadControl`: a public way to hold reloads off during a critical section.
//!
//! While any `DeferGuard` lives, the reload worker queues every trigger instead of acting
//! on it; nothing is lost, and when the last guard drops the queued work runs. It knows
//! nothing of what a reload does.
//!
//! ```no_run
//! # fn f(control: nbu_exporter::state::ReloadControl) {
//! let guard = control.defer();
//! // ... a critical section that must not see the config change under it ...
//! drop(guard); // queued reloads run now
//! # }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::event::Event;

#[derive(Clone)]
pub struct ReloadControl {
    holds: Arc<AtomicUsize>,
    events: Sender<Event>,
}

/// Holds reloads off until dropped.
#[must_use = "reloads are held off only while the guard lives"]
pub struct DeferGuard {
    control: ReloadControl,
}

impl ReloadControl {
    pub fn new(events: Sender<Event>) -> ReloadControl {
        ReloadControl {
            holds: Arc::new(AtomicUsize::new(0)),
            events,
        }
    }

    /// Holds off reloads until the returned guard is dropped. Guards nest.
    pub fn defer(&self) -> DeferGuard {
        self.holds.fetch_add(1, Ordering::SeqCst);
        DeferGuard {
            control: self.clone(),
        }
    }

    /// Whether any guard is alive.
    pub fn is_deferred(&self) -> bool {
        self.holds.load(Ordering::SeqCst) > 0
    }
}

impl Drop for DeferGuard {
    fn drop(&mut self) {
        if self.control.holds.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _ = self.control.events.send(Event::Resume);
        }
    }
}
