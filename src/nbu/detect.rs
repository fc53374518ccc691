//! API version detection: which version of `ApiVersion::DETECTION_ORDER` a NetBackup
//! server speaks, found by probing `GET /admin/jobs` newest first.
//!
//! It drives `nbu::client` and decodes the probe with `nbu::jobs`; neither knows about it.
//! It must not know how a detected version is cached (that is the poller's business).

use std::time::Instant;

use super::client::{Client, Get};
use super::error::NbuError;
use super::jobs::decode_jobs_page;
use crate::api_version::ApiVersion;

/// The request label of version detection probes.
pub const PROBE_ENDPOINT: &str = "version-probe";

impl Client {
    /// The configured API version, or the detected one when none is configured.
    pub fn resolve_version(&self, deadline: Instant) -> Result<ApiVersion, NbuError> {
        match self.configured_version {
            Some(version) => Ok(version),
            None => self.detect_version(deadline),
        }
    }

    /// Probes `GET /admin/jobs?page[limit]=1` with each version of
    /// `ApiVersion::DETECTION_ORDER`, newest first: 406 tries the next version, 2xx with a
    /// jobs body wins, 401/403 stops at once, anything else (after retries) is the error.
    pub fn detect_version(&self, deadline: Instant) -> Result<ApiVersion, NbuError> {
        for version in ApiVersion::DETECTION_ORDER {
            let get = Get {
                endpoint: PROBE_ENDPOINT,
                path: "/admin/jobs",
                query: &[("page[limit]", "1")],
                version,
            };
            match self.get(&get, deadline) {
                Ok(body) => {
                    decode_jobs_page(&body).map_err(|e| self.decode_error(&get, e, &body))?;
                    log::debug!(site:% = self.site(), version:% = version; "api version detected");
                    return Ok(version);
                }
                Err(NbuError::NotAcceptable { .. }) => {
                    log::debug!(site:% = self.site(), version:% = version; "api version refused");
                }
                Err(e) => return Err(e),
            }
        }
        Err(NbuError::NoSupportedVersion {
            tried: ApiVersion::DETECTION_ORDER.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nbu::stub::{
        client_for, codes, deadline_in, fast_options, site, Recorded, Reply, Stub, KEY, ONE_JOB,
    };

    /// The key never shows in an error's `Display` or `Debug`.
    fn assert_no_key(err: &NbuError) {
        assert!(!err.to_string().contains(KEY), "{err}");
        assert!(!format!("{err:?}").contains(KEY), "{err:?}");
    }

    fn versions(requests: &[Recorded]) -> Vec<&str> {
        requests.iter().map(Recorded::accept_version).collect()
    }

    #[test]
    fn detection_moves_past_406_without_retrying() {
        let stub = Stub::start(|r, _| match r.accept_version() {
            "12.0" => Reply::json(200, ONE_JOB),
            _ => Reply::status(406),
        });
        let (client, seen) = client_for(&stub, fast_options());
        assert_eq!(client.resolve_version(deadline_in(5000)), Ok(ApiVersion::V12_0));
        assert_eq!(versions(&stub.requests()), ["14.0", "13.0", "12.0"]);
        assert_eq!(codes(&seen), ["406", "406", "200"]);
    }

    #[test]
    fn detection_stops_at_once_on_401_and_403() {
        for status in [401, 403] {
            let stub = Stub::start(move |_, _| Reply::status(status));
            let (client, _) = client_for(&stub, fast_options());
            let err = client.detect_version(deadline_in(5000)).unwrap_err();
            assert!(err.is_auth(), "{err}");
            assert_eq!(versions(&stub.requests()), ["14.0"], "HTTP {status}");
            assert_no_key(&err);
        }
        let stub = Stub::start(|_, _| Reply::status(401));
        let (client, _) = client_for(&stub, fast_options());
        assert_eq!(
            client.detect_version(deadline_in(5000)).unwrap_err().to_string(),
            "version-probe: authentication failed (HTTP 401): check apiKey"
        );
    }

    #[test]
    fn detection_reports_when_every_version_is_refused() {
        let stub = Stub::start(|_, _| Reply::status(406));
        let (client, _) = client_for(&stub, fast_options());
        let err = client.detect_version(deadline_in(5000)).unwrap_err();
        assert!(err.is_not_acceptable());
        assert_eq!(
            err,
            NbuError::NoSupportedVersion {
                tried: ApiVersion::DETECTION_ORDER.to_vec()
            }
        );
        assert_eq!(versions(&stub.requests()), ["14.0", "13.0", "12.0", "10.0"]);
    }

    #[test]
    fn detection_rejects_a_proxy_page_that_answers_200() {
        let stub = Stub::start(|_, _| Reply::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<html><body>Welcome to the corporate proxy</body></html>".to_vec(),
        });
        let (client, seen) = client_for(&stub, fast_options());
        let err = client.detect_version(deadline_in(5000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "version-probe: cannot decode the response from http://127.0.0.1:{}/netbackup/admin/jobs: \
                 expected JSON, got Content-Type \"text/html\"; body starts: \
                 <html><body>Welcome to the corporate proxy</body></html>",
                stub.port()
            )
        );
        assert_eq!(codes(&seen), ["200"]);
    }

    #[test]
    fn configured_version_needs_no_request() {
        let stub = Stub::start(|_, _| Reply::status(500));
        let mut config = site(stub.port(), KEY);
        config.api_version = Some(ApiVersion::V10_0);
        let client = Client::new(&config, fast_options(), None).unwrap();
        assert_eq!(client.resolve_version(deadline_in(5000)), Ok(ApiVersion::V10_0));
        assert!(stub.requests().is_empty());
    }
}
