//! The expiry metric of a site's TLS certificate, refreshed after every sweep with what is
//! left of the sweep's deadline: one extra handshake (`nbu::leaf`) reads the certificate
//! the primary presents and `nbu_exporter_nbu_tls_cert_expiry_timestamp_seconds{site}`
//! takes its `notAfter`.
//!
//! A failed read keeps the last value (the sweep's own error already says what is wrong
//! with the server); a site that speaks plain HTTP has no series. It must not know HTTP
//! serving or the config file format.

use std::time::Instant;

use crate::config::{Scheme, SiteConfig};
use crate::nbu::leaf::presented_leaf_not_after;

/// Reads the certificate `site` presents, if time is left before `deadline`: `Some(None)`
/// for a site without TLS (its series goes), `Some(Some(not_after))` when read, `None`
/// when nothing was learnt (the last value stays).
pub fn read(site: &SiteConfig, deadline: Instant) -> Option<Option<i64>> {
    if site.scheme != Scheme::Https {
        return Some(None);
    }
    let left = deadline
        .saturating_duration_since(Instant::now())
        .min(site.timeout);
    if left.is_zero() {
        log::debug!(site = site.name.as_str(); "tls certificate not read: no time left in the sweep");
        return None;
    }
    match presented_leaf_not_after(&site.host, site.port, left) {
        Ok(not_after) => Some(Some(not_after)),
        Err(e) => {
            log::debug!(site = site.name.as_str(), error:% = e; "tls certificate not read");
            None
        }
    }
}
