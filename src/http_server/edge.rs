//! The edge: what the front enforces on a connection before tiny_http sees a request. The
//! TLS server configuration, basic authentication, the cross-site check on state-changing
//! requests, and the extra response headers, all from the web config.
//!
//! An `Edge` is built in a reload's prepare step (it cannot fail: `config::web` has
//! checked and built everything) and swapped into the listener at commit. A connection
//! takes the edge current when it is accepted and keeps it to its end, so a rotated
//! certificate serves new connections while those in flight finish with the old one.
//! It must not know routes beyond the probes that `auth` exempts.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;
use rustls::ServerConfig;

use super::auth::{self, BasicAuth, Denial, RequestFacts, Verdicts};
use crate::config::WebConfig;
use crate::metrics::ExporterMetrics;

pub struct Edge {
    tls: Option<Arc<ServerConfig>>,
    auth: Option<BasicAuth>,
    /// `Name: value\r\n` lines added to every answer.
    headers: String,
    verdicts: Arc<Verdicts>,
}

impl Edge {
    /// The first edge of a daemon; it counts bcrypt verifications on the daemon's
    /// `nbu_exporter_http_password_verifications_total`, and later edges share its verdict
    /// cache.
    pub fn first(web: Option<&WebConfig>, metrics: &ExporterMetrics) -> Edge {
        Edge::with(web, Arc::new(Verdicts::new(metrics.password_verifications())))
    }

    /// A plain edge with nothing enabled and an unregistered counter, until a daemon sets
    /// its own.
    pub fn open() -> Edge {
        let counter = prometheus::IntCounter::new("unregistered", "unregistered")
            .expect("valid static metric definition");
        Edge::with(None, Arc::new(Verdicts::new(counter)))
    }

    /// The edge for a new web config, keeping the verdicts already cached.
    pub fn next(&self, web: Option<&WebConfig>) -> Edge {
        Edge::with(web, Arc::clone(&self.verdicts))
    }

    fn with(web: Option<&WebConfig>, verdicts: Arc<Verdicts>) -> Edge {
        Edge {
            tls: web
                .and_then(|w| w.tls.as_ref())
                .map(|t| Arc::clone(&t.server_config)),
            auth: web.and_then(|w| BasicAuth::new(&w.users)),
            headers: web
                .map(|w| {
                    w.headers
                        .iter()
                        .map(|(name, value)| format!("{name}: {value}\r\n"))
                        .collect()
                })
                .unwrap_or_default(),
            verdicts,
        }
    }

    /// bcrypt verifications so far (shared across reloads).
    pub fn verifications(&self) -> u64 {
        self.verdicts.verifications()
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    pub(super) fn tls(&self) -> Option<&Arc<ServerConfig>> {
        self.tls.as_ref()
    }

    /// Extra header lines for every answer.
    pub(super) fn headers(&self) -> &str {
        &self.headers
    }

    /// Whether the request may go on to tiny_http: not cross-site, then authenticated.
    /// `deadline` bounds a wait for another bcrypt verification.
    pub(super) fn admit(&self, facts: &RequestFacts, deadline: Instant) -> Result<(), Denial> {
        if let Some(denial) = auth::cross_site(facts, self.tls.is_some()) {
            return Err(denial);
        }
        match &self.auth {
            Some(auth) => auth.check(facts, &self.verdicts, deadline),
            None => Ok(()),
        }
    }
}

/// The edge a listener's new connections take.
pub(super) type EdgeCell = Arc<RwLock<Arc<Edge>>>;
