//! Configuration reload: the inputs that ask for one (`signals`, the file watcher in
//! `watch`), the single worker that performs them (`worker`), and the `reload` command
//! that asks a running daemon for one (`command`).
//!
//! Inputs only send `state::Event`s; they never touch state. The worker is the only writer
//! of the running generation. The vocabulary (events, triggers, attempts, the status board
//! and `ReloadControl`) lives in `state`, below both this module and the HTTP server, so
//! that neither imports the other's users back. This module must not know how NetBackup is
//! polled or how metrics are rendered; it hands site changes to `collect` and listener
//! changes to `http_server`.

pub mod apply;
pub mod command;
pub mod signals;
pub mod watch;
pub mod worker;
