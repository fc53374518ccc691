//! The integration suite: one binary, every test against the simulated NetBackup, every
//! server on 127.0.0.1:0, every wait bounded by a deadline.

mod support;

mod abuse;
mod binary;
mod check_config;
mod collection;
mod faults;
mod golden;
mod http_api;
mod incremental;
mod module_cycles;
mod properties;
mod reload;
mod reload_edges;
mod secrets;
