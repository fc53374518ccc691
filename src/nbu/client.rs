//! The NetBackup REST client for one site: authentication, the versioned `Accept`
//! header, API version detection, timeouts bounded by the sweep deadline, retries with
//! backoff, response size and type checks, and a report of every request to an observer.
//!
//! Resources (`nbu::jobs`, `nbu::storage`) and version detection (`nbu::detect`) add their
//! methods on `Client` in their own files, which import this one and never the reverse.
//! This file must not know resources, Prometheus, snapshots or the config file format; it
//! never logs or returns the API key.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::http::header::{CONTENT_TYPE, RETRY_AFTER};
use ureq::http::HeaderValue;
use ureq::Agent;

use super::error::{NbuError, SetupError};
use super::http::{self as h, Failure, Retry};
use crate::api_version::ApiVersion;
use crate::config::{Secret, SiteConfig};

const USER_AGENT: &str = concat!("nbu-exporter/", env!("CARGO_PKG_VERSION"));
const CLIENT_ID: &str = "nbu-exporter";

/// How much of an error body is read to find its `errorMessage`.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// A retry is not worth it when less than this would be left for it.
const MIN_USEFUL_TIME: Duration = Duration::from_millis(100);
/// Buffer sizes of each connection's transport. ureq's defaults (128 KiB each) are zeroed
/// on first use and kept with every pooled connection: two connections a site (jobs and
/// storage run side by side) held half a megabyte a site. The input buffer holds a whole
/// response head (NetBackup's are under 2 KiB) and paces body reads; the output buffer
/// holds a request head (a URL with its filter and a handful of headers).
const INPUT_BUFFER: usize = 32 * 1024;
const OUTPUT_BUFFER: usize = 16 * 1024;

/// One HTTP attempt, as reported to the observer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOutcome<'a> {
    /// `jobs`, `storage-units` or `version-probe`.
    pub endpoint: &'static str,
    /// The HTTP status (`200`, `401`, `503`, …), or `timeout`, `transport`, `too_large`,
    /// `tls_certificate` (the server's certificate is refused) or `tls` (another handshake
    /// failure).
    pub code: &'a str,
    pub duration: Duration,
}

/// Called once per HTTP attempt (retries included), from the thread making the request.
pub type RequestObserver = Arc<dyn Fn(&RequestOutcome) + Send + Sync>;

/// Limits of the client; the defaults suit a production NetBackup primary.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOptions {
    /// Largest response body accepted (after decompression).
    pub max_response_bytes: u64,
    /// Most pages followed in one paginated query.
    pub max_pages: usize,
    /// Most jobs one sweep holds, both jobs queries together (the jobs that ended in the
    /// window plus every unfinished one), before it gives up on the listing as endless.
    ///
    /// The jobs are held until the sweep has summarised them, at about 300 bytes each
    /// (measured: 97,800 jobs took 28 MiB), so 100,000 is about 30 MiB at worst. With the
    /// default 1 h window that is 28 jobs finishing every second, well above what even a
    /// very large NetBackup domain runs; a domain that does reach it with a long window
    /// should shorten the window.
    pub max_jobs: usize,
    /// Most storage units (tape included) one sweep holds before it gives up on the
    /// listing as endless.
    ///
    /// Each held unit takes about 330 bytes (measured: 97,700 units took 31 MiB) and
    /// becomes six series, so 10,000 is about 3 MiB and 60,000 series at worst. Real
    /// domains have tens to a few thousand storage units.
    pub max_storage_units: usize,
    /// Most records one listing of an opt-in collector may return (alerts, drives, tape
    /// volumes, ...), before it is given up as endless. Records are aggregated page by
    /// page, so this bounds time and requests rather than memory.
    pub max_collector_records: usize,
    /// Attempts per request, first one included (0 counts as 1); only transport errors
    /// (not TLS failures), 429 and 5xx retry.
    pub max_attempts: u32,
    /// First backoff; doubled on each retry.
    pub base_backoff: Duration,
    /// Longest single wait, `Retry-After` included.
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            max_response_bytes: 32 * 1024 * 1024,
            max_pages: 10_000,
            max_jobs: 100_000,
            max_storage_units: 10_000,
            max_collector_records: 200_000,
            max_attempts: 3,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// A client for one NetBackup primary server. `Send + Sync`; share it as `Arc<Client>`.
pub struct Client {
    site: String,
    base_url: String,
    api_key: HeaderValue,
    /// Kept only to scrub the key from error texts should a server echo it.
    secret: Secret,
    pub(super) configured_version: Option<ApiVersion>,
    timeout: Duration,
    agent: Agent,
    pub(super) options: ClientOptions,
    observer: Option<RequestObserver>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("site", &self.site)
            .field("base_url", &self.base_url)
            .field("api_key", &"<secret>")
            .field("configured_version", &self.configured_version)
            .field("timeout", &self.timeout)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// One GET, before encoding.
pub(super) struct Get<'a> {
    pub endpoint: &'static str,
    /// Path below the base URL, e.g. `/admin/jobs`.
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub version: ApiVersion,
}

impl Client {
    /// Builds the HTTP agent and TLS settings for `site`. Fails on an unusable caFile, a
    /// base URL that does not parse, or an API key that cannot be sent as a header.
    pub fn new(
        site: &SiteConfig,
        options: ClientOptions,
        observer: Option<RequestObserver>,
    ) -> Result<Client, SetupError> {
        let name = || site.name.clone();
        let base_url = site.base_url();
        match base_url.parse::<ureq::http::Uri>() {
            Ok(uri) if uri.scheme().is_some() && uri.authority().is_some() => {}
            _ => {
                return Err(SetupError::BaseUrl {
                    site: name(),
                    url: base_url,
                })
            }
        }
        let mut api_key = HeaderValue::from_str(site.api_key.expose())
            .map_err(|_| SetupError::ApiKeyNotHeaderSafe { site: name() })?;
        api_key.set_sensitive(true);

        let tls = h::tls_config(site.ca_pem.as_deref(), site.insecure_skip_verify).map_err(|problem| {
            SetupError::CaFile {
                site: name(),
                problem,
            }
        })?;
        if site.insecure_skip_verify {
            log::warn!(
                site = site.name.as_str(),
                insecure_skip_verify = true;
                "tls verification disabled: the NetBackup server's certificate is not checked \
                 and the API key can be intercepted"
            );
        }
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            // A redirect would drop the Authorization header; report it instead of following.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(USER_AGENT)
            .input_buffer_size(INPUT_BUFFER)
            .output_buffer_size(OUTPUT_BUFFER)
            .timeout_global(Some(site.timeout))
            .build();
        Ok(Client {
            site: site.name.clone(),
            base_url,
            api_key,
            secret: site.api_key.clone(),
            configured_version: site.api_version,
            timeout: site.timeout,
            agent: Agent::new_with_config(config),
            options,
            observer,
        })
    }

    /// The site name (the `site` label).
    pub fn site(&self) -> &str {
        &self.site
    }

    /// `scheme://host:port/base/path`, no query string: the URL shown in errors.
    fn shown_url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A decode error for a 2xx body, with a short sanitised preview of the body.
    pub(super) fn decode_error(&self, get: &Get, detail: String, body: &[u8]) -> NbuError {
        let secret = self.secret.expose();
        let mut detail = h::preview(detail.as_bytes(), secret);
        let preview = h::preview(body, secret);
        if preview.is_empty() {
            detail.push_str("; empty body");
        } else {
            detail.push_str("; body starts: ");
            detail.push_str(&preview);
        }
        NbuError::Decode {
            endpoint: get.endpoint,
            url: self.shown_url(get.path),
            detail,
        }
    }

    /// One logical GET: the 2xx body, after retries where the retry policy allows them.
    /// Never sends when `deadline` has passed; never sleeps past it.
    pub(super) fn get(&self, get: &Get, deadline: Instant) -> Result<Vec<u8>, NbuError> {
        let url = h::build_url(&self.base_url, get.path, get.query);
        let max_attempts = self.options.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NbuError::Deadline {
                    endpoint: get.endpoint,
                });
            }
            let timeout = self.timeout.min(left);
            let started = Instant::now();
            let (code, result) = self.attempt(get, &url, timeout);
            let elapsed = started.elapsed();
            log::debug!(
                site:% = self.site,
                endpoint = get.endpoint,
                status:% = code,
                ms = elapsed.as_millis(),
                attempt = attempt;
                "request"
            );
            if let Some(observer) = &self.observer {
                observer(&RequestOutcome {
                    endpoint: get.endpoint,
                    code: &code,
                    duration: elapsed,
                });
            }
            let (err, retry) = match result {
                Ok(body) => return Ok(body),
                Err(failure) => failure,
            };
            let err = err.with_attempts(attempt);
            let delay = match retry {
                Retry::Never => return Err(err),
                Retry::Backoff => h::backoff(attempt, self.options.base_backoff, self.options.max_backoff),
                Retry::After(delay) => delay,
            };
            if attempt >= max_attempts {
                return Err(err);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left < delay.saturating_add(MIN_USEFUL_TIME) {
                log::debug!(
                    site:% = self.site,
                    endpoint = get.endpoint,
                    error:% = err;
                    "not retrying: the deadline is too close"
                );
                return Err(err);
            }
            log::debug!(
                site:% = self.site,
                endpoint = get.endpoint,
                in_ms = delay.as_millis(),
                after:% = code;
                "retrying"
            );
            std::thread::sleep(delay);
        }
    }

    /// One HTTP exchange: the observer code, and the body or the error with its retry
    /// decision.
    fn attempt(
        &self,
        get: &Get,
        url: &str,
        timeout: Duration,
    ) -> (String, Result<Vec<u8>, (NbuError, Retry)>) {
        let shown_url = || self.shown_url(get.path);
        let from_failure = |failure: Failure| -> (String, Result<Vec<u8>, (NbuError, Retry)>) {
            match failure {
                Failure::Timeout => (
                    "timeout".into(),
                    Err((
                        NbuError::Timeout {
                            endpoint: get.endpoint,
                            url: shown_url(),
                            after: timeout,
                            attempts: 1,
                        },
                        Retry::Backoff,
                    )),
                ),
                Failure::TooLarge => (
                    "too_large".into(),
                    Err((
                        NbuError::TooLarge {
                            endpoint: get.endpoint,
                            url: shown_url(),
                            limit: self.options.max_response_bytes,
                        },
                        Retry::Never,
                    )),
                ),
                Failure::Tls(failure) => (
                    failure.problem.kind().into(),
                    Err((
                        NbuError::Tls {
                            endpoint: get.endpoint,
                            url: shown_url(),
                            base_url: self.base_url.clone(),
                            failure: Box::new(failure),
                        },
                        Retry::Never,
                    )),
                ),
                Failure::Transport { detail, retry } => (
                    "transport".into(),
                    Err((
                        NbuError::Transport {
                            endpoint: get.endpoint,
                            url: shown_url(),
                            detail,
                            attempts: 1,
                        },
                        if retry { Retry::Backoff } else { Retry::Never },
                    )),
                ),
            }
        };

        let response = self
            .agent
            .get(url)
            .header("Authorization", self.api_key.clone())
            .header("Accept", get.version.media_type())
            .header("X-Client-ID", CLIENT_ID)
            .header("User-Agent", USER_AGENT)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call();
        let mut response = match response {
            Ok(response) => response,
            Err(e) => return from_failure(h::classify(&e)),
        };
        let status = response.status().as_u16();
        let code = status.to_string();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };

        if (200..300).contains(&status) {
            let content_type = header(CONTENT_TYPE).map(str::to_string);
            let limit = self.options.max_response_bytes;
            if response.body().content_length().is_some_and(|len| len > limit) {
                return from_failure(Failure::TooLarge);
            }
            let body = match response.body_mut().with_config().limit(limit).read_to_vec() {
                Ok(body) => body,
                Err(e) => return from_failure(h::classify(&e)),
            };
            if !h::is_json_content_type(content_type.as_deref()) {
                let detail = format!(
                    "expected JSON, got Content-Type {:?}",
                    content_type.unwrap_or_default()
                );
                return (code, Err((self.decode_error(get, detail, &body), Retry::Never)));
            }
            return (code, Ok(body));
        }

        let error = match status {
            401 | 403 => (
                NbuError::Auth {
                    endpoint: get.endpoint,
                    status,
                },
                Retry::Never,
            ),
            406 => (
                NbuError::NotAcceptable {
                    endpoint: get.endpoint,
                    version: get.version,
                },
                Retry::Never,
            ),
            _ => {
                let retry = h::retry_for_status(status, header(RETRY_AFTER), self.options.max_backoff);
                // The error body is optional: any failure to read or parse it is ignored.
                let message = response
                    .body_mut()
                    .with_config()
                    .limit(ERROR_BODY_LIMIT)
                    .read_to_vec()
                    .ok()
                    .and_then(|body| h::error_message(&body, self.secret.expose()));
                let err = NbuError::Status {
                    endpoint: get.endpoint,
                    url: shown_url(),
                    status,
                    message,
                    attempts: 1,
                };
                (err, retry)
            }
        };
        (code, Err(error))
    }
}

impl NbuError {
    /// Records how many attempts a retryable failure took.
    fn with_attempts(mut self, n: u32) -> NbuError {
        match &mut self {
            NbuError::Status { attempts, .. }
            | NbuError::Timeout { attempts, .. }
            | NbuError::Transport { attempts, .. } => *attempts = n,
            _ => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nbu::error::CaFileProblem;
    use crate::nbu::stub::{
        client_for, codes, deadline_in, fast_options, recording_observer, site, Reply, Stub, KEY, ONE_JOB,
        TEST_CA_PEM,
    };

    /// The request version detection sends first (`GET /admin/jobs?page[limit]=1` with
    /// version 14.0), as the transport under test.
    fn probe(client: &Client, deadline: Instant) -> Result<Vec<u8>, NbuError> {
        let get = Get {
            endpoint: "version-probe",
            path: "/admin/jobs",
            query: &[("page[limit]", "1")],
            version: ApiVersion::V14_0,
        };
        client.get(&get, deadline)
    }

    /// The key never shows in an error's `Display` or `Debug`.
    fn assert_no_key(err: &NbuError) {
        assert!(!err.to_string().contains(KEY), "{err}");
        assert!(!format!("{err:?}").contains(KEY), "{err:?}");
    }

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Client>();
        check::<Arc<Client>>();
    }

    #[test]
    fn every_get_carries_the_raw_key_and_the_versioned_accept() {
        let stub = Stub::start(|_, _| Reply::json(200, ONE_JOB));
        let (client, seen) = client_for(&stub, fast_options());
        assert_eq!(client.site(), "paris");
        assert!(probe(&client, deadline_in(5000)).is_ok());
        let requests = stub.requests();
        assert_eq!(requests.len(), 1);
        let r = &requests[0];
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/netbackup/admin/jobs");
        assert_eq!(r.target, "/netbackup/admin/jobs?page%5Blimit%5D=1");
        assert_eq!(r.param("page[limit]"), Some("1"));
        assert_eq!(r.header("authorization"), Some(KEY));
        assert_eq!(
            r.header("accept"),
            Some("application/vnd.netbackup+json;version=14.0")
        );
        assert_eq!(r.header("x-client-id"), Some("nbu-exporter"));
        assert_eq!(r.header("user-agent"), Some(USER_AGENT));
        assert!(USER_AGENT.starts_with("nbu-exporter/"));
        assert_eq!(
            r.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("accept"))
                .count(),
            1
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [("version-probe".to_string(), "200".to_string())]
        );
        assert!(!format!("{client:?}").contains(KEY));
    }

    #[test]
    fn retries_503_then_succeeds() {
        let stub = Stub::start(|_, n| {
            if n < 2 {
                Reply::status(503)
            } else {
                Reply::json(200, ONE_JOB)
            }
        });
        let (client, seen) = client_for(&stub, fast_options());
        assert!(probe(&client, deadline_in(5000)).is_ok());
        assert_eq!(codes(&seen), ["503", "503", "200"]);
    }

    #[test]
    fn gives_up_after_max_attempts_with_the_server_message() {
        let stub = Stub::start(|_, _| {
            Reply::json(
                500,
                format!(r#"{{"errorCode": 99, "errorMessage": "Database down; key {KEY}."}}"#),
            )
        });
        let (client, seen) = client_for(&stub, fast_options());
        let err = probe(&client, deadline_in(5000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "version-probe: HTTP 500 from http://127.0.0.1:{}/netbackup/admin/jobs: \
                 Database down; key <redacted> (after 3 attempts)",
                stub.port()
            )
        );
        assert_eq!(codes(&seen), ["500", "500", "500"]);
        assert_no_key(&err);
    }

    #[test]
    fn honours_retry_after_on_429() {
        let stub = Stub::start(|_, n| match n {
            0 => Reply::status(429).with_header("Retry-After", "1"),
            _ => Reply::json(200, ONE_JOB),
        });
        let options = ClientOptions {
            max_backoff: Duration::from_secs(3),
            ..fast_options()
        };
        let (client, seen) = client_for(&stub, options);
        assert!(probe(&client, deadline_in(10_000)).is_ok());
        assert_eq!(codes(&seen), ["429", "200"]);
        let requests = stub.requests();
        let gap = requests[1].at.duration_since(requests[0].at);
        assert!(gap >= Duration::from_millis(900), "waited only {gap:?}");
    }

    #[test]
    fn retry_after_past_the_deadline_is_not_waited_for() {
        let stub = Stub::start(|_, _| Reply::status(503).with_header("Retry-After", "30"));
        let options = ClientOptions {
            max_backoff: Duration::from_secs(60),
            ..fast_options()
        };
        let (client, seen) = client_for(&stub, options);
        let started = Instant::now();
        let err = probe(&client, deadline_in(1000)).unwrap_err();
        assert!(
            matches!(
                err,
                NbuError::Status {
                    status: 503,
                    attempts: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(codes(&seen), ["503"]);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn other_4xx_are_not_retried() {
        for status in [400, 404, 302] {
            let stub = Stub::start(move |_, _| {
                Reply::status(status).with_header("Location", "http://elsewhere.invalid/")
            });
            let (client, seen) = client_for(&stub, fast_options());
            let err = probe(&client, deadline_in(5000)).unwrap_err();
            assert!(
                matches!(err, NbuError::Status { status: s, attempts: 1, .. } if s == status),
                "{err}"
            );
            assert_eq!(codes(&seen), [status.to_string()]);
        }
        let stub = Stub::start(|_, _| Reply::status(404));
        let (client, _) = client_for(&stub, fast_options());
        let err = probe(&client, deadline_in(5000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "version-probe: HTTP 404 from http://127.0.0.1:{}/netbackup/admin/jobs: scripted",
                stub.port()
            )
        );
    }

    #[test]
    fn bodies_over_the_cap_are_too_large_and_not_retried() {
        let big = format!(r#"{{"data": [], "pad": "{}"}}"#, "x".repeat(4096));
        let with_length = big.clone();
        let without_length =
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{big}");
        let replies: Vec<Box<dyn Fn() -> Reply + Send + Sync>> = vec![
            Box::new(move || Reply::json(200, with_length.clone())),
            Box::new(move || Reply::Raw(without_length.clone().into_bytes())),
        ];
        for reply in replies {
            let stub = Stub::start(move |_, _| reply());
            let options = ClientOptions {
                max_response_bytes: 1024,
                ..fast_options()
            };
            let (client, seen) = client_for(&stub, options);
            let err = probe(&client, deadline_in(5000)).unwrap_err();
            assert!(matches!(err, NbuError::TooLarge { limit: 1024, .. }), "{err}");
            assert_eq!(codes(&seen), ["too_large"]);
        }
    }

    #[test]
    fn a_hanging_server_cannot_hold_the_sweep_past_its_deadline() {
        let replies: Vec<fn() -> Reply> = vec![|| Reply::Hang, || Reply::Stall {
            len: 10_000,
            prefix: br#"{"data": ["#.to_vec(),
        }];
        for reply in replies {
            let stub = Stub::start(move |_, _| reply());
            let (client, seen) = client_for(&stub, fast_options());
            let started = Instant::now();
            let err = probe(&client, deadline_in(300)).unwrap_err();
            let elapsed = started.elapsed();
            assert!(matches!(err, NbuError::Timeout { .. }), "{err}");
            assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
            assert_eq!(codes(&seen), ["timeout"]);
        }
    }

    #[test]
    fn a_passed_deadline_sends_nothing() {
        let stub = Stub::start(|_, _| Reply::json(200, ONE_JOB));
        let (client, seen) = client_for(&stub, fast_options());
        let err = probe(&client, Instant::now()).unwrap_err();
        assert_eq!(
            err,
            NbuError::Deadline {
                endpoint: "version-probe"
            }
        );
        assert!(stub.requests().is_empty());
        assert!(codes(&seen).is_empty());
    }

    #[test]
    fn refused_connections_are_retried_then_reported() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        }; // closed again: nothing listens there now
        let (observer, seen) = recording_observer();
        let client = Client::new(&site(port, KEY), fast_options(), Some(observer)).unwrap();
        let err = probe(&client, deadline_in(5000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "version-probe: cannot reach http://127.0.0.1:{port}/netbackup/admin/jobs: \
                 connection refused (after 3 attempts)"
            )
        );
        assert_eq!(codes(&seen), ["transport", "transport", "transport"]);
    }

    #[test]
    fn setup_checks_the_ca_file_and_the_key() {
        let build = |config: &SiteConfig| Client::new(config, ClientOptions::default(), None);
        let mut config = site(1556, KEY);
        config.scheme = crate::config::Scheme::Https;
        config.ca_pem = Some(TEST_CA_PEM.as_bytes().to_vec());
        assert!(build(&config).is_ok());

        config.ca_pem = Some(b"no certificate here\n".to_vec());
        let err = build(&config).unwrap_err();
        assert_eq!(
            err,
            SetupError::CaFile {
                site: "paris".into(),
                problem: CaFileProblem::NoCertificate
            }
        );
        assert_eq!(err.to_string(), "site paris: caFile holds no PEM certificate");

        config.ca_pem = None;
        config.insecure_skip_verify = true;
        assert!(build(&config).is_ok());

        let mut config = site(1556, "bad\nkey SENTINEL-KEY-3f9a1c");
        let err = build(&config).unwrap_err();
        assert_eq!(err, SetupError::ApiKeyNotHeaderSafe { site: "paris".into() });
        assert!(!err.to_string().contains(KEY), "{err}");
        assert!(!format!("{err:?}").contains(KEY), "{err:?}");

        config.api_key = crate::config::Secret::new(KEY);
        config.host = "bad host".into();
        let err = build(&config).unwrap_err();
        assert!(matches!(err, SetupError::BaseUrl { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "site paris: invalid NetBackup base URL \"http://bad host:1556/netbackup\""
        );
    }
}
