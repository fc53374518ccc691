//! The integration suite: one binary, every test against the simulated NetBackup, every
//! server on 127.0.0.1:0, every wait bounded by a deadline.

mod support;

mod abuse;
mod binary;
mod check_config;
mod collection;
mod collectors;
mod connect;
mod dashboards;
mod edge;
mod faults;
mod golden;
mod gzip;
mod http_api;
mod incremental;
mod logs;
mod module_cycles;
mod properties;
mod reload;
mod reload_edges;
mod secrets;
mod tls;
