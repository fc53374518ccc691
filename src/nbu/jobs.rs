//! `GET /admin/jobs`: decoding a jobs page into `Job` records, and the queries a sweep
//! makes ([`JobsQuery`]: unfinished jobs, jobs ended since the window start, jobs changed
//! since a `lastUpdateTime`, the newest change), each followed through the opaque string
//! cursor `meta.pagination.next` and handed over record by record as pages arrive, never
//! admitting more than a [`RecordCap`] allows.
//!
//! It must not know how jobs are tracked between sweeps (`collect::jobs`) or aggregated
//! into metrics (`collect::summary`).

use std::time::Instant;

use serde::Deserialize;

use super::client::{Client, Get};
use super::decode;
use super::error::NbuError;
use super::model::Job;
use super::paging::CursorPager;
pub use super::paging::RecordCap;
use crate::api_version::ApiVersion;
use crate::timefmt::{format_rfc3339_millis, UnixMillis};

/// The request label of jobs queries.
pub const JOBS_ENDPOINT: &str = "jobs";

/// The API maximum for `/admin/jobs`.
const PAGE_LIMIT: &str = "100";

/// One decoded jobs page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobsPage {
    pub jobs: Vec<Job>,
    /// `meta.pagination.next`: an opaque cursor for `page[after]`; `None` when absent or empty.
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default, deserialize_with = "decode::records")]
    data: Vec<RawJob>,
    #[serde(default, deserialize_with = "decode::opt_object")]
    meta: Option<RawMeta>,
}

#[derive(Deserialize)]
struct RawMeta {
    #[serde(default, deserialize_with = "decode::opt_object")]
    pagination: Option<RawPagination>,
}

#[derive(Deserialize)]
struct RawPagination {
    #[serde(default, deserialize_with = "decode::opt_string")]
    next: Option<String>,
}

#[derive(Deserialize)]
struct RawJob {
    #[serde(default, deserialize_with = "decode::opt_i64")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_object")]
    attributes: Option<RawAttributes>,
}

/// Only the attributes that feed a metric; the other ~66 are skipped by the parser.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawAttributes {
    #[serde(default, deserialize_with = "decode::opt_i64")]
    job_id: Option<i64>,
    #[serde(default, deserialize_with = "decode::string")]
    job_type: String,
    #[serde(default, deserialize_with = "decode::string")]
    policy_type: String,
    #[serde(default, deserialize_with = "decode::string")]
    policy_name: String,
    #[serde(default, deserialize_with = "decode::string")]
    client_name: String,
    #[serde(default, deserialize_with = "decode::string")]
    state: String,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    status: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    kilobytes_transferred: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    number_of_files: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_f64")]
    dedup_ratio: Option<f64>,
    #[serde(default, deserialize_with = "decode::opt_time")]
    start_time: Option<UnixMillis>,
    #[serde(default, deserialize_with = "decode::opt_time")]
    end_time: Option<UnixMillis>,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    job_queue_reason: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_time")]
    last_update_time: Option<UnixMillis>,
}

impl RawJob {
    fn into_job(self) -> Job {
        let a = self.attributes.unwrap_or_default();
        Job {
            // `jobId` is the record; the resource `id` (the same number as a string) backs it up.
            job_id: a.job_id.or(self.id).unwrap_or(0),
            job_type: a.job_type,
            policy_type: a.policy_type,
            policy_name: a.policy_name,
            client_name: a.client_name,
            state: a.state,
            status: a.status.unwrap_or(0),
            kilobytes_transferred: a.kilobytes_transferred.unwrap_or(0),
            number_of_files: a.number_of_files.unwrap_or(0),
            dedup_ratio: a.dedup_ratio,
            start_time: a.start_time,
            end_time: a.end_time,
            job_queue_reason: a.job_queue_reason,
            last_update_time: a.last_update_time,
        }
    }
}

/// Decodes one `/admin/jobs` response body. `data` may be absent, null or empty (no jobs);
/// odd records and odd values default instead of failing the page. Fails when the body is
/// not JSON, not an object, or `data` is not an array.
pub fn decode_jobs_page(body: &[u8]) -> Result<JobsPage, String> {
    let raw: RawPage = decode::body(body)?;
    Ok(JobsPage {
        jobs: raw.data.into_iter().map(RawJob::into_job).collect(),
        next: raw.meta.and_then(|m| m.pagination).and_then(|p| p.next),
    })
}

/// The `filter` for jobs that finished at or after `window_start`.
pub(crate) fn finished_since_filter(window_start: UnixMillis) -> String {
    format!("endTime ge {}", format_rfc3339_millis(window_start))
}

/// The `filter` for jobs that have not finished (QUEUED, ACTIVE, REQUEUED, …).
pub(crate) const NOT_DONE_FILTER: &str = "state ne 'DONE'";

/// One `/admin/jobs` listing a sweep follows to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobsQuery {
    /// Every job not DONE, by `jobId`.
    Unfinished,
    /// Every job that ended at or after the instant (the window start), by `jobId`.
    EndedSince(UnixMillis),
    /// Every job whose `lastUpdateTime` is after the instant (a server time), oldest change
    /// first: a job that changes while the listing is read moves behind the cursor and is
    /// read again, so a listing never ends having missed a change older than its newest.
    UpdatedAfter(UnixMillis),
    /// The one job changed most recently (`page[limit]=1`): the newest `lastUpdateTime`.
    Newest,
}

impl JobsQuery {
    fn filter(self) -> Option<String> {
        match self {
            JobsQuery::Unfinished => Some(NOT_DONE_FILTER.to_string()),
            JobsQuery::EndedSince(start) => Some(finished_since_filter(start)),
            JobsQuery::UpdatedAfter(t) => Some(format!("lastUpdateTime gt {}", format_rfc3339_millis(t))),
            JobsQuery::Newest => None,
        }
    }

    fn sort(self) -> &'static str {
        match self {
            JobsQuery::Unfinished | JobsQuery::EndedSince(_) => "jobId",
            JobsQuery::UpdatedAfter(_) => "lastUpdateTime",
            JobsQuery::Newest => "-lastUpdateTime",
        }
    }

    fn limit(self) -> &'static str {
        match self {
            JobsQuery::Newest => "1",
            _ => PAGE_LIMIT,
        }
    }
}

/// Merges job lists, de-duplicated by `jobId`, sorted by it. When a job appears more than
/// once the record from the earlier list wins. Records without a job id are all kept.
pub(crate) fn merge_jobs(lists: Vec<Vec<Job>>) -> Vec<Job> {
    let mut all: Vec<Job> = lists.into_iter().flatten().collect();
    all.sort_by_key(|j| j.job_id); // stable: the earlier list stays first among equals
    all.dedup_by(|later, earlier| later.job_id != 0 && later.job_id == earlier.job_id);
    all
}

impl Client {
    /// A full download: every job that finished at or after `window_start`, plus every job
    /// not yet DONE, de-duplicated by `jobId` and sorted by it, as one list. Fails rather
    /// than hold more than `ClientOptions::max_jobs` jobs. The sweep itself streams
    /// (`collect::jobs`); this is the reference it is tested against.
    pub fn fetch_jobs(
        &self,
        version: ApiVersion,
        window_start: UnixMillis,
        deadline: Instant,
    ) -> Result<Vec<Job>, NbuError> {
        let (mut not_done, mut finished) = (Vec::new(), Vec::new());
        self.gather_jobs(version, window_start, deadline, &mut not_done, &mut finished)?;
        let (n_finished, n_not_done) = (finished.len(), not_done.len());
        let jobs = merge_jobs(vec![finished, not_done]);
        log::debug!(
            site:% = self.site(),
            finished = n_finished,
            not_done = n_not_done,
            merged = jobs.len();
            "jobs fetched"
        );
        Ok(jobs)
    }

    /// A cap of `ClientOptions::max_jobs` jobs, for the queries of one sweep.
    pub fn jobs_cap(&self) -> RecordCap {
        RecordCap::new(self.options.max_jobs, "jobs")
    }

    /// `ClientOptions::max_jobs`: also the most jobs a site tracks between sweeps.
    pub fn max_jobs(&self) -> usize {
        self.options.max_jobs
    }

    /// Appends the unfinished jobs to `not_done`, then the jobs finished since
    /// `window_start` to `finished`, never holding more than `max_jobs` in the two.
    fn gather_jobs(
        &self,
        version: ApiVersion,
        window_start: UnixMillis,
        deadline: Instant,
        not_done: &mut Vec<Job>,
        finished: &mut Vec<Job>,
    ) -> Result<(), NbuError> {
        // Finished jobs are fetched last and win on duplicates: a job that finishes between
        // the two queries is seen twice rather than missed, and its newest record is kept.
        let mut cap = self.jobs_cap();
        self.stream_jobs(version, JobsQuery::Unfinished, deadline, &mut cap, &mut |j| {
            not_done.push(j)
        })?;
        let query = JobsQuery::EndedSince(window_start);
        self.stream_jobs(version, query, deadline, &mut cap, &mut |j| finished.push(j))
    }

    /// Follows one jobs query to its end, handing every record to `on_job` page by page
    /// (a page is admitted by `cap` before any of its records is handed over, and dropped
    /// after), so nothing here holds more than one page.
    pub fn stream_jobs(
        &self,
        version: ApiVersion,
        query: JobsQuery,
        deadline: Instant,
        cap: &mut RecordCap,
        on_job: &mut dyn FnMut(Job),
    ) -> Result<(), NbuError> {
        let stopped = |detail| NbuError::Pagination {
            endpoint: JOBS_ENDPOINT,
            detail,
        };
        let filter = query.filter();
        let mut pager = CursorPager::new(self.options.max_pages);
        let mut after: Option<String> = None;
        loop {
            let mut params = Vec::with_capacity(4);
            if let Some(filter) = filter.as_deref() {
                params.push(("filter", filter));
            }
            params.push(("page[limit]", query.limit()));
            params.push(("sort", query.sort()));
            if let Some(cursor) = after.as_deref() {
                params.push(("page[after]", cursor));
            }
            let get = Get {
                endpoint: JOBS_ENDPOINT,
                path: "/admin/jobs",
                query: &params,
                version,
            };
            let body = self.get(&get, deadline)?;
            let page = decode_jobs_page(&body).map_err(|e| self.decode_error(&get, e, &body))?;
            drop(body);
            let rows = page.jobs.len();
            cap.admit(rows).map_err(stopped)?;
            page.jobs.into_iter().for_each(&mut *on_job);
            if query == JobsQuery::Newest {
                return Ok(());
            }
            after = pager.after_page(rows, page.next.as_deref()).map_err(stopped)?;
            if after.is_none() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, state: &str) -> Job {
        Job {
            job_id: id,
            state: state.into(),
            ..Job::default()
        }
    }

    #[test]
    fn decodes_a_full_record() {
        let body = br#"{
          "data": [{
            "type": "job", "id": "12345",
            "links": {"self": {"href": "/netbackup/admin/jobs/12345"}},
            "meta": {"page": {"cursor": "12345"}},
            "attributes": {
              "jobId": 12345, "parentJobId": 0, "jobType": "BACKUP", "jobSubType": "SCHEDULED",
              "policyType": "VMWARE", "policyName": "vm-gold", "clientName": "web01",
              "state": "DONE", "status": 0, "kilobytesTransferred": 10737418240,
              "numberOfFiles": 3000000000, "dedupRatio": 2.5, "jobQueueReason": 0,
              "startTime": "2025-01-01T10:00:00.000Z", "endTime": "2025-01-01T11:30:00Z",
              "elapsedTime": "PT1H30M", "lastUpdateTime": "2025-01-01T11:30:00.500Z", "unknownNewField": {"nested": [1, 2, {"x": null}]}
            }
          }],
          "meta": {"pagination": {"limit": 100, "next": "MTIzNDU=", "prev": "", "rangeTruncated": false}},
          "links": {"self": {"href": "x"}, "next": {"href": "y"}}
        }"#;
        let page = decode_jobs_page(body).unwrap();
        assert_eq!(page.next.as_deref(), Some("MTIzNDU="));
        assert_eq!(
            page.jobs,
            vec![Job {
                job_id: 12345,
                job_type: "BACKUP".into(),
                policy_type: "VMWARE".into(),
                policy_name: "vm-gold".into(),
                client_name: "web01".into(),
                state: "DONE".into(),
                status: 0,
                kilobytes_transferred: 10_737_418_240,
                number_of_files: 3_000_000_000,
                dedup_ratio: Some(2.5),
                start_time: Some(1_735_725_600_000),
                end_time: Some(1_735_731_000_000),
                job_queue_reason: Some(0),
                last_update_time: Some(1_735_731_000_500),
            }]
        );
    }

    #[test]
    fn pages_and_odd_values() {
        // (body, number of jobs, next cursor)
        let ok: &[(&str, usize, Option<&str>)] = &[
            (r#"{"data": [], "meta": {"pagination": {"next": ""}}}"#, 0, None),
            (r#"{"meta": {"pagination": {"limit": 100}}}"#, 0, None),
            (r#"{"data": null}"#, 0, None),
            (r#"{}"#, 0, None),
            ("", 0, None),
            (
                r#"{"data": [{"id": "1"}], "meta": {"pagination": {"next": null}}}"#,
                1,
                None,
            ),
            (
                r#"{"data": [{"id": "1"}], "meta": {"pagination": {"next": "18446744073709551617"}}}"#,
                1,
                Some("18446744073709551617"),
            ),
            (
                r#"{"data": [{"id": "1"}], "meta": {"pagination": {"next": 42}}}"#,
                1,
                Some("42"),
            ),
            (r#"{"data": [{"id": "1"}], "meta": "odd"}"#, 1, None),
            (
                r#"{"data": [{"id": "1"}, null, 3, {"id": "2", "attributes": null}]}"#,
                2,
                None,
            ),
        ];
        for (body, n, next) in ok {
            let page = decode_jobs_page(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(page.jobs.len(), *n, "{body}");
            assert_eq!(page.next.as_deref(), *next, "{body}");
        }
        let bad: &[(&str, &str)] = &[
            ("<html><body>502 Bad Gateway</body></html>", "not JSON"),
            (r#"{"data": {"id": "1"}}"#, "`data` to be an array"),
            (r#"{"data": 5}"#, "`data` to be an array"),
            (r#"[{"id": "1"}]"#, "unexpected JSON shape"),
            (r#"{"data": [{"id": "1"}"#, "not JSON"),
        ];
        for (body, want) in bad {
            let err = decode_jobs_page(body.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
    }

    #[test]
    fn record_fields_default_sensibly() {
        let body = br#"{"data": [
          {"id": "7", "attributes": {"state": "ACTIVE", "endTime": "0001-01-01T00:00:00Z", "startTime": "",
                                      "jobQueueReason": 3, "dedupRatio": 4}},
          {"id": "8", "attributes": {"jobId": "8", "endTime": null, "status": "1", "kilobytesTransferred": 4294967296.0}},
          {"attributes": {"jobId": 9, "jobType": null, "dedupRatio": "n/a", "numberOfFiles": {"odd": true}}},
          {"id": "x"}
        ]}"#;
        let jobs = decode_jobs_page(body).unwrap().jobs;
        let want = vec![
            Job {
                job_id: 7,
                state: "ACTIVE".into(),
                dedup_ratio: Some(4.0),
                job_queue_reason: Some(3),
                ..Job::default()
            },
            Job {
                job_id: 8,
                status: 1,
                kilobytes_transferred: 4_294_967_296,
                ..Job::default()
            },
            Job {
                job_id: 9,
                ..Job::default()
            },
            Job::default(),
        ];
        assert_eq!(jobs, want);
    }

    #[test]
    fn filters() {
        assert_eq!(
            finished_since_filter(1_735_725_600_123),
            "endTime ge 2025-01-01T10:00:00.123Z"
        );
        assert_eq!(finished_since_filter(0), "endTime ge 1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn merge_dedupes_by_job_id_first_list_wins() {
        let finished = vec![job(5, "DONE"), job(2, "DONE")];
        let not_done = vec![
            job(5, "ACTIVE"),
            job(9, "QUEUED"),
            job(0, "QUEUED"),
            job(0, "ACTIVE"),
        ];
        let merged = merge_jobs(vec![finished, not_done]);
        let got: Vec<(i64, &str)> = merged.iter().map(|j| (j.job_id, j.state.as_str())).collect();
        assert_eq!(
            got,
            [
                (0, "QUEUED"),
                (0, "ACTIVE"),
                (2, "DONE"),
                (5, "DONE"),
                (9, "QUEUED")
            ]
        );
        assert!(merge_jobs(vec![vec![], vec![]]).is_empty());
    }
}

#[cfg(test)]
mod http_tests {
    use serde_json::json;

    use super::*;
    use crate::nbu::stub::{
        codes, deadline_in, fast_options, recording_observer, site, Recorded, Reply, Stub,
    };
    use crate::nbu::ClientOptions;

    const WINDOW_START: UnixMillis = 1_735_725_600_123; // 2025-01-01T10:00:00.123Z

    /// A jobs page holding `(jobId, state)` records, with `next` as the cursor.
    fn page(jobs: &[(i64, &str)], next: Option<&str>) -> Reply {
        let data: Vec<_> = jobs
            .iter()
            .map(|(id, state)| {
                json!({"type": "job", "id": id.to_string(), "meta": {"page": {"cursor": id.to_string()}},
                       "attributes": {"jobId": id, "state": state, "jobType": "BACKUP"}})
            })
            .collect();
        let body = json!({"data": data, "meta": {"pagination": {"limit": 100, "next": next, "prev": ""}}});
        Reply::json(200, body.to_string())
    }

    fn client(stub: &Stub, options: ClientOptions) -> Client {
        Client::new(&site(stub.port(), "K"), options, None).unwrap()
    }

    #[test]
    fn follows_string_cursors_across_pages_and_merges_both_queries() {
        // Cursors are opaque strings that need encoding and do not fit an integer.
        const C1: &str = "eyJqb2JJZCI6Mn0+/=";
        const C2: &str = "18446744073709551617";
        let stub = Stub::start(|r, _| {
            let filter = r.param("filter").unwrap_or_default();
            match (filter, r.param("page[after]")) {
                ("state ne 'DONE'", None) => page(&[(1, "ACTIVE"), (2, "QUEUED")], Some(C1)),
                ("state ne 'DONE'", Some(C1)) => page(&[(3, "ACTIVE"), (4, "ACTIVE")], Some(C2)),
                ("state ne 'DONE'", Some(C2)) => page(&[(5, "SUSPENDED")], Some("")),
                ("endTime ge 2025-01-01T10:00:00.123Z", None) => page(&[(4, "DONE"), (6, "DONE")], None),
                _ => Reply::status(400),
            }
        });
        let (observer, seen) = recording_observer();
        let client = Client::new(&site(stub.port(), "K"), fast_options(), Some(observer)).unwrap();
        let jobs = client
            .fetch_jobs(ApiVersion::V13_0, WINDOW_START, deadline_in(5000))
            .unwrap();
        let got: Vec<(i64, &str)> = jobs.iter().map(|j| (j.job_id, j.state.as_str())).collect();
        assert_eq!(
            got,
            [
                (1, "ACTIVE"),
                (2, "QUEUED"),
                (3, "ACTIVE"),
                (4, "DONE"),
                (5, "SUSPENDED"),
                (6, "DONE")
            ]
        );
        let requests = stub.requests();
        assert_eq!(requests.len(), 4);
        for r in &requests {
            assert_eq!(r.path, "/netbackup/admin/jobs");
            assert_eq!(r.param("page[limit]"), Some("100"), "{}", r.target);
            assert_eq!(r.param("sort"), Some("jobId"));
            assert_eq!(r.accept_version(), "13.0");
            assert!(
                !r.target.contains(' ') && !r.target.contains('\''),
                "{}",
                r.target
            );
        }
        assert!(
            requests[0].target.contains("filter=state%20ne%20%27DONE%27"),
            "{}",
            requests[0].target
        );
        assert_eq!(requests[1].param("page[after]"), Some(C1));
        assert_eq!(
            *seen.lock().unwrap(),
            vec![("jobs".to_string(), "200".to_string()); 4],
            "every page is reported under the jobs label"
        );
        assert_eq!(codes(&seen).len(), 4);
    }

    #[test]
    fn no_jobs_is_an_empty_list() {
        let stub = Stub::start(|_, _| Reply::json(200, r#"{"meta": {"pagination": {"limit": 100}}}"#));
        let jobs = client(&stub, fast_options()).fetch_jobs(ApiVersion::V12_0, 0, deadline_in(5000));
        assert_eq!(jobs, Ok(vec![]));
        assert_eq!(stub.requests().len(), 2);
    }

    #[test]
    fn a_repeated_cursor_stops_pagination() {
        let stub = Stub::start(|_, _| page(&[(1, "ACTIVE")], Some("same")));
        let err = client(&stub, fast_options())
            .fetch_jobs(ApiVersion::V12_0, 0, deadline_in(5000))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "jobs: pagination stopped: the server repeated cursor \"same\" after 2 pages"
        );
        assert_eq!(stub.requests().len(), 2);
    }

    #[test]
    fn max_pages_bounds_an_endless_cursor() {
        let stub = Stub::start(|r, _| {
            let n: i64 = r.param("page[after]").and_then(|c| c.parse().ok()).unwrap_or(0);
            page(&[(n + 1, "ACTIVE")], Some(&(n + 1).to_string()))
        });
        let options = ClientOptions {
            max_pages: 5,
            ..fast_options()
        };
        let err = client(&stub, options)
            .fetch_jobs(ApiVersion::V12_0, 0, deadline_in(5000))
            .unwrap_err();
        assert_eq!(
            err,
            NbuError::Pagination {
                endpoint: "jobs",
                detail: "more than 5 pages".into()
            }
        );
        assert_eq!(stub.requests().len(), 5);
    }

    /// 150 unfinished jobs over two pages; then `finished_pages` pages of 100 finished jobs,
    /// or pages of fresh finished jobs without end when `None`.
    fn capped_listing(finished_pages: Option<i64>) -> impl Fn(&Recorded, usize) -> Reply {
        move |r, _| {
            let after: i64 = r.param("page[after]").and_then(|c| c.parse().ok()).unwrap_or(0);
            let jobs = |ids: std::ops::RangeInclusive<i64>, state| -> Vec<(i64, &str)> {
                ids.map(|id| (id, state)).collect()
            };
            if r.param("filter") == Some(NOT_DONE_FILTER) {
                return match after {
                    0 => page(&jobs(1..=100, "ACTIVE"), Some("100")),
                    _ => page(&jobs(101..=150, "QUEUED"), Some("")),
                };
            }
            let first = 1000 + after;
            let next = (after + 100).to_string();
            let last = finished_pages.is_some_and(|n| after + 100 >= n * 100);
            page(
                &jobs(first..=first + 99, "DONE"),
                Some(if last { "" } else { next.as_str() }),
            )
        }
    }

    #[test]
    fn max_jobs_bounds_both_queries_together() {
        let stub = Stub::start(capped_listing(None));
        let options = ClientOptions {
            max_jobs: 250,
            max_pages: 50,
            ..fast_options()
        };
        let client = client(&stub, options);
        let (mut not_done, mut finished) = (Vec::new(), Vec::new());
        let err = client
            .gather_jobs(
                ApiVersion::V13_0,
                WINDOW_START,
                deadline_in(5000),
                &mut not_done,
                &mut finished,
            )
            .unwrap_err();
        // The page that would pass the cap is not kept.
        assert_eq!(
            (err.to_string(), not_done.len(), finished.len()),
            (
                "jobs: pagination stopped: the listing did not end within 250 jobs (4 pages read); \
                 refusing to hold more in one sweep"
                    .to_string(),
                150,
                100
            )
        );
        assert_eq!(stub.requests().len(), 4);
        assert_eq!(
            client.fetch_jobs(ApiVersion::V13_0, WINDOW_START, deadline_in(5000)),
            Err(err)
        );
    }

    #[test]
    fn a_listing_of_exactly_max_jobs_is_complete() {
        let options = ClientOptions {
            max_jobs: 250,
            ..fast_options()
        };
        let stub = Stub::start(capped_listing(Some(1)));
        let jobs = client(&stub, options.clone())
            .fetch_jobs(ApiVersion::V13_0, WINDOW_START, deadline_in(5000))
            .unwrap();
        assert_eq!(jobs.len(), 250);

        let stub = Stub::start(capped_listing(Some(2)));
        let err = client(&stub, options)
            .fetch_jobs(ApiVersion::V13_0, WINDOW_START, deadline_in(5000))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("did not end within 250 jobs (4 pages read)"),
            "{err}"
        );
    }

    #[test]
    fn a_refused_version_is_reported_as_not_acceptable() {
        let stub = Stub::start(|_, _| Reply::status(406));
        let err = client(&stub, fast_options())
            .fetch_jobs(ApiVersion::V14_0, 0, deadline_in(5000))
            .unwrap_err();
        assert!(err.is_not_acceptable());
        assert_eq!(
            err.to_string(),
            "jobs: server does not accept API version 14.0 (HTTP 406)"
        );
        assert_eq!(stub.requests().len(), 1);
    }

    #[test]
    fn a_broken_page_is_a_decode_error_with_a_preview() {
        let stub = Stub::start(|_, _| Reply::json(200, r#"{"data": {"not": "an array"}}"#));
        let err = client(&stub, fast_options())
            .fetch_jobs(ApiVersion::V14_0, 0, deadline_in(5000))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("jobs: cannot decode the response from http://127.0.0.1:"),
            "{text}"
        );
        assert!(
            text.contains("/netbackup/admin/jobs: unexpected JSON shape"),
            "{text}"
        );
        assert!(
            text.ends_with(r#"body starts: {"data": {"not": "an array"}}"#),
            "{text}"
        );
        assert!(!text.contains('?'), "no query string in errors: {text}");
    }
}
