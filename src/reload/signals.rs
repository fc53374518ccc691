//! The signal input: SIGHUP asks for a reload, SIGTERM/SIGINT for a graceful shutdown,
//! and a second SIGTERM/SIGINT exits at once.
//!
//! Signals are registered by `register` in `main` before any other thread exists, so a
//! SIGHUP that arrives during startup is queued instead of killing the process; the thread
//! that forwards them starts later. It only sends `Event`s and knows nothing else.

use std::io;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::state::{Event, Trigger};

/// Registered signals that have not started forwarding yet.
pub struct Registered {
    signals: Signals,
}

/// Installs the handlers. Call first thing in `main`.
pub fn register() -> io::Result<Registered> {
    Ok(Registered {
        signals: Signals::new([SIGHUP, SIGTERM, SIGINT])?,
    })
}

/// The forwarding thread; `close` ends it.
pub struct SignalThread {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl Registered {
    /// Starts forwarding: SIGHUP becomes `Reload{Signal}`, the first SIGTERM/SIGINT
    /// `Shutdown`, the second one exits the process with status 130.
    pub fn start(mut self, events: Sender<Event>) -> io::Result<SignalThread> {
        let handle = self.signals.handle();
        let thread = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut shutdown_requested = false;
                for signal in self.signals.forever() {
                    match signal {
                        SIGHUP => {
                            log::debug!(signal = "SIGHUP"; "signal received");
                            let _ = events.send(Event::Reload {
                                trigger: Trigger::Signal,
                                force: false,
                                reply: None,
                            });
                        }
                        _ if shutdown_requested => {
                            log::warn!("second shutdown signal received; exiting at once");
                            std::process::exit(130);
                        }
                        _ => {
                            shutdown_requested = true;
                            log::info!(
                                signal = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
                                "shutdown requested"
                            );
                            let _ = events.send(Event::Shutdown);
                        }
                    }
                }
            })?;
        Ok(SignalThread {
            handle,
            thread: Some(thread),
        })
    }
}

impl SignalThread {
    pub fn close(mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
