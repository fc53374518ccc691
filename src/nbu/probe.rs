//! One minimal GET for diagnostics (`check-config --connect`): does this key get a 2xx from
//! this path at this API version? The body is only checked to be JSON and then dropped.
//!
//! It drives `nbu::client`, which does not know it. It must not know which paths the
//! collectors use or how a result is shown.

use std::time::Instant;

use super::client::{Client, Get};
use super::error::NbuError;
use crate::api_version::ApiVersion;

/// The request label of diagnostic probes.
pub const CHECK_ENDPOINT: &str = "check";

impl Client {
    /// `GET path?query` with `version`, within `deadline`: `Ok` on 2xx, else the error
    /// (401/403 as `NbuError::Auth`, 406 as `NotAcceptable`, 404 as `Status`, TLS, …).
    pub fn check_get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        version: ApiVersion,
        deadline: Instant,
    ) -> Result<(), NbuError> {
        let get = Get {
            endpoint: CHECK_ENDPOINT,
            path,
            query,
            version,
        };
        self.get(&get, deadline).map(drop)
    }
}
