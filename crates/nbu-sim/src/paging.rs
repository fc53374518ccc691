//! The two collections: `/admin/jobs` with NetBackup's sort orders and opaque cursors
//! (`page[after]`, `page[before]`) and the filter subset, and `/storage/storage-units` with
//! offset paging; each page's `meta.pagination` and `links`. Unknown or repeated query
//! parameters and out-of-range values are 400s saying which.
//!
//! Owns the data being served with its lazily built sort orders ([`Served`]). Records are
//! written by `wire` and filters parsed by `filter`; it knows nothing of
//! sockets, auth or versions.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::data::{SimData, SimJob};
use crate::filter::{parse_filter, Clause};
use crate::http::percent_encode;
use crate::routes::{bad_param, bad_request, ApiError};
use crate::time::UnixMillis;
use crate::wire;

/// The data being served plus sort orders computed on first use.
pub(crate) struct Served {
    pub(crate) data: SimData,
    orders: [OnceLock<Vec<usize>>; 4],
}

impl Served {
    pub(crate) fn new(data: SimData) -> Served {
        Served {
            data,
            orders: Default::default(),
        }
    }

    /// Job indices in ascending `(key, jobId)` order.
    fn order(&self, key: SortKey) -> &[usize] {
        self.orders[key as usize].get_or_init(|| {
            let jobs = &self.data.jobs;
            let mut order: Vec<usize> = (0..jobs.len()).collect();
            order.sort_unstable_by_key(|&i| (key.value(&jobs[i]), jobs[i].job_id, i));
            order
        })
    }
}

/// What jobs can be sorted on (the sort names are NetBackup's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    JobId = 0,
    StartTime = 1,
    EndTime = 2,
    LastUpdateTime = 3,
}

impl SortKey {
    fn parse(name: &str) -> Option<SortKey> {
        Some(match name {
            "jobId" => SortKey::JobId,
            "startTime" => SortKey::StartTime,
            "endTime" => SortKey::EndTime,
            "lastUpdateTime" => SortKey::LastUpdateTime,
            _ => return None,
        })
    }

    fn tag(self) -> char {
        ['i', 's', 'e', 'u'][self as usize]
    }

    /// The value sorted on. Unfinished jobs sort as the oldest end time and, when they
    /// carry no update time (they then keep changing), as the newest update time.
    fn value(self, job: &SimJob) -> i64 {
        match self {
            SortKey::JobId => job.job_id,
            SortKey::StartTime => job.start_time.unwrap_or(i64::MIN),
            SortKey::EndTime => job.end_time.unwrap_or(i64::MIN),
            SortKey::LastUpdateTime => job.last_update.or(job.end_time).unwrap_or(i64::MAX),
        }
    }
}

/// A jobs cursor: a point `(value, jobId)` in one sort order, written
/// `<tag>.<value>.<jobId>` (e.g. `i.1042.1042`). Deliberately not an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cursor {
    key: SortKey,
    point: (i64, i64),
}

impl Cursor {
    fn of(key: SortKey, job: &SimJob) -> Cursor {
        Cursor {
            key,
            point: (key.value(job), job.job_id),
        }
    }

    fn text(self) -> String {
        format!("{}.{}.{}", self.key.tag(), self.point.0, self.point.1)
    }

    fn parse(text: &str, key: SortKey, param: &'static str) -> Result<Cursor, ApiError> {
        let bad = || {
            bad_param(
                param,
                format!("{param} {text:?} is not a cursor this server issued"),
            )
        };
        let mut parts = text.splitn(3, '.');
        let tag = parts.next().ok_or_else(bad)?;
        let value = parts.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let id = parts.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        if tag.len() != 1 || !tag.starts_with(['i', 's', 'e', 'u']) {
            return Err(bad());
        }
        if !tag.starts_with(key.tag()) {
            return Err(bad_param(
                param,
                format!("{param} {text:?} was issued for a different sort order"),
            ));
        }
        Ok(Cursor {
            key,
            point: (value, id),
        })
    }
}

/// Rejects repeated parameters and any parameter not in `allowed`.
pub(crate) fn check_params(query: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    for (i, (key, _)) in query.iter().enumerate() {
        if !allowed.contains(&key.as_str()) {
            return Err(bad_request(format!(
                "unsupported query parameter '{key}' (this endpoint takes {})",
                allowed.join(", ")
            )));
        }
        if query[..i].iter().any(|(k, _)| k == key) {
            return Err(bad_request(format!(
                "query parameter '{key}' given more than once"
            )));
        }
    }
    Ok(())
}

pub(crate) fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub(crate) fn int_param(
    query: &[(String, String)],
    name: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let Some(text) = param(query, name) else {
        return Ok(default);
    };
    match text.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(bad_param(
            name,
            format!("{name} must be an integer from {min} to {max}, got {text:?}"),
        )),
    }
}

pub(crate) fn href(base: &str, path: &str, params: &[(&str, String)]) -> Value {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    let sep = if query.is_empty() { "" } else { "?" };
    json!({"href": format!("{base}{path}{sep}{}", query.join("&"))})
}

/// Parsed `/admin/jobs` parameters.
pub(crate) struct JobsQuery {
    pub(crate) limit: usize,
    key: SortKey,
    descending: bool,
    after: Option<Cursor>,
    before: Option<Cursor>,
    clauses: Vec<Clause>,
}

pub(crate) const JOBS_MAX_LIMIT: i64 = 100;

fn jobs_query(query: &[(String, String)]) -> Result<JobsQuery, ApiError> {
    check_params(
        query,
        &["page[limit]", "page[after]", "page[before]", "sort", "filter"],
    )?;
    let limit = int_param(query, "page[limit]", 10, 0, JOBS_MAX_LIMIT)? as usize;
    let (key, descending) = match param(query, "sort") {
        None => (SortKey::StartTime, true),
        Some(s) => {
            let (name, descending) = s.strip_prefix('-').map_or((s, false), |n| (n, true));
            let key = SortKey::parse(name).ok_or_else(|| {
                bad_param(
                    "sort",
                    format!("unsupported sort '{s}' (the simulator sorts on jobId, startTime, endTime, lastUpdateTime)"),
                )
            })?;
            (key, descending)
        }
    };
    let cursor = |name: &'static str| -> Result<Option<Cursor>, ApiError> {
        match param(query, name) {
            None | Some("") => Ok(None),
            Some(text) => Cursor::parse(text, key, name).map(Some),
        }
    };
    let (after, before) = (cursor("page[after]")?, cursor("page[before]")?);
    if after.is_some() && before.is_some() {
        return Err(bad_request(
            "page[after] together with page[before] is not supported by the simulator",
        ));
    }
    let clauses = match param(query, "filter") {
        None => Vec::new(),
        Some(f) => parse_filter(f).map_err(|m| bad_param("filter", format!("unsupported filter: {m}")))?,
    };
    Ok(JobsQuery {
        limit,
        key,
        descending,
        after,
        before,
        clauses,
    })
}

/// One page of jobs: indices into `data.jobs` in response order.
struct JobsPage {
    items: Vec<usize>,
    more_after: bool,
    more_before: bool,
}

fn select_jobs(served: &Served, q: &JobsQuery, now: UnixMillis) -> JobsPage {
    let jobs = &served.data.jobs;
    let order = served.order(q.key);
    let n = order.len();
    let point = |i: usize| (q.key.value(&jobs[i]), jobs[i].job_id);
    // Position p in response order holds `order[at(p)]`.
    let at = |p: usize| if q.descending { order[n - 1 - p] } else { order[p] };
    let wanted = |i: usize| q.clauses.iter().all(|c| c.matches(&jobs[i], now));

    if let Some(before) = q.before {
        // Items strictly before the cursor in response order: positions 0..end.
        let end = if q.descending {
            n - order.partition_point(|&i| point(i) <= before.point)
        } else {
            order.partition_point(|&i| point(i) < before.point)
        };
        let mut items = Vec::new();
        let mut p = end;
        while p > 0 && items.len() < q.limit {
            p -= 1;
            if wanted(at(p)) {
                items.push(at(p));
            }
        }
        let more_before = (0..p).rev().any(|p| wanted(at(p)));
        items.reverse();
        return JobsPage {
            more_after: !items.is_empty(),
            items,
            more_before,
        };
    }
    let start = match q.after {
        None => 0,
        Some(after) if q.descending => n - order.partition_point(|&i| point(i) < after.point),
        Some(after) => order.partition_point(|&i| point(i) <= after.point),
    };
    let mut items = Vec::new();
    let mut p = start;
    while p < n && items.len() < q.limit {
        if wanted(at(p)) {
            items.push(at(p));
        }
        p += 1;
    }
    let more_after = q.limit > 0 && (p..n).any(|p| wanted(at(p)));
    JobsPage {
        more_before: q.after.is_some() && !items.is_empty(),
        items,
        more_after,
    }
}

/// `GET /admin/jobs`.
pub(crate) fn jobs_page(
    served: &Served,
    query: &[(String, String)],
    now: UnixMillis,
    base: &str,
) -> Result<String, ApiError> {
    let q = jobs_query(query)?;
    let page = select_jobs(served, &q, now);
    let jobs = &served.data.jobs;
    let cursor_of = |i: usize| Cursor::of(q.key, &jobs[i]).text();
    let next = page
        .more_after
        .then(|| page.items.last().map(|&i| cursor_of(i)))
        .flatten();
    let prev = page
        .more_before
        .then(|| page.items.first().map(|&i| cursor_of(i)))
        .flatten();

    let mut fixed: Vec<(&str, String)> = vec![("page[limit]", q.limit.to_string())];
    for name in ["sort", "filter"] {
        if let Some(v) = param(query, name) {
            fixed.push((name, v.to_string()));
        }
    }
    let with = |extra: Option<(&'static str, &str)>| {
        let mut params = fixed.clone();
        if let Some((k, v)) = extra {
            params.push((k, v.to_string()));
        }
        href(base, "/admin/jobs", &params)
    };
    let current = param(query, "page[after]")
        .map(|c| ("page[after]", c))
        .or_else(|| param(query, "page[before]").map(|c| ("page[before]", c)));
    let mut links = Map::new();
    links.insert("self".into(), with(current));
    links.insert("first".into(), with(None));
    let mut pagination = Map::new();
    pagination.insert("limit".into(), json!(q.limit));
    if let Some(next) = &next {
        links.insert("next".into(), with(Some(("page[after]", next))));
        pagination.insert("next".into(), json!(next));
    }
    if let Some(prev) = &prev {
        links.insert("prev".into(), with(Some(("page[before]", prev))));
        pagination.insert("prev".into(), json!(prev));
    }
    let meta = json!({ "pagination": pagination });
    Ok(page_json(
        page.items.len(),
        meta,
        Value::Object(links),
        |out, n| {
            let i = page.items[n];
            wire::write_job(out, &jobs[i], &cursor_of(i), now, base);
        },
    ))
}

/// `{"data":[...],"meta":...,"links":...}` with `count` records written by `item`.
pub(crate) fn page_json(
    count: usize,
    meta: Value,
    links: Value,
    mut item: impl FnMut(&mut String, usize),
) -> String {
    let mut out = String::with_capacity(count * 3_000 + 1_024);
    out.push_str("{\"data\":[");
    for n in 0..count {
        if n > 0 {
            out.push(',');
        }
        item(&mut out, n);
    }
    out.push_str("],\"meta\":");
    out.push_str(&meta.to_string());
    out.push_str(",\"links\":");
    out.push_str(&links.to_string());
    out.push('}');
    out
}

pub(crate) const STORAGE_MAX_LIMIT: i64 = 500;

/// Offset paging numbers for `count` items: `(offset, limit)` -> meta and link offsets.
pub(crate) struct OffsetPage {
    pub(crate) offset: i64,
    pub(crate) limit: i64,
}

pub(crate) fn storage_query(query: &[(String, String)]) -> Result<OffsetPage, ApiError> {
    check_params(query, &["page[offset]", "page[limit]"])?;
    Ok(OffsetPage {
        offset: int_param(query, "page[offset]", 0, 0, i64::MAX / 2)?,
        limit: int_param(query, "page[limit]", 10, 1, STORAGE_MAX_LIMIT)?,
    })
}

/// `meta.pagination` and `links` of an offset page over `count` items. `page` is
/// zero-based; `first`, `last`, `next` and `prev` are offsets; `next`/`prev` are omitted
/// when there is no such page.
pub(crate) fn offset_meta(page: &OffsetPage, count: i64, base: &str, path: &str) -> (Value, Value) {
    let OffsetPage { offset, limit } = *page;
    let pages = (count + limit - 1) / limit;
    let last = (pages - 1).max(0) * limit;
    let link = |o: i64| {
        href(
            base,
            path,
            &[
                ("page[offset]", o.to_string()),
                ("page[limit]", limit.to_string()),
            ],
        )
    };
    let mut meta = Map::new();
    let mut links = Map::new();
    for (k, v) in [
        ("count", count),
        ("pages", pages),
        ("page", offset / limit),
        ("offset", offset),
        ("limit", limit),
        ("first", 0),
        ("last", last),
    ] {
        meta.insert(k.into(), json!(v));
    }
    links.insert("self".into(), link(offset));
    links.insert("first".into(), link(0));
    links.insert("last".into(), link(last));
    if offset + limit < count {
        meta.insert("next".into(), json!(offset + limit));
        links.insert("next".into(), link(offset + limit));
    }
    if offset > 0 {
        let prev = (offset - limit).max(0);
        meta.insert("prev".into(), json!(prev));
        links.insert("prev".into(), link(prev));
    }
    (json!({"pagination": meta}), Value::Object(links))
}

/// `GET /storage/storage-units`.
pub(crate) fn storage_page(
    data: &SimData,
    query: &[(String, String)],
    base: &str,
) -> Result<String, ApiError> {
    let page = storage_query(query)?;
    let units = &data.storage_units;
    let start = usize::try_from(page.offset)
        .unwrap_or(usize::MAX)
        .min(units.len());
    let items = &units[start..units.len().min(start + page.limit as usize)];
    let (meta, links) = offset_meta(&page, units.len() as i64, base, "/storage/storage-units");
    Ok(page_json(items.len(), meta, links, |out, n| {
        wire::write_storage_unit(out, &items[n], base)
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::data::DataSpec;
    use crate::testing::*;
    use crate::time::{format_rfc3339_millis, now_millis};

    #[test]
    fn jobs_cursor_paging_collects_every_id_once() {
        let data = SimData::generate(
            &DataSpec {
                jobs: 230,
                active_jobs: 5,
                queued_jobs: 3,
                ..DataSpec::default()
            },
            now_millis(),
        );
        let mut want: Vec<i64> = data.jobs.iter().map(|j| j.job_id).collect();
        want.sort_unstable();
        let server = start(data);
        for (params, min_pages) in [
            ("page%5Blimit%5D=100&sort=jobId", 3),
            ("page%5Blimit%5D=7&sort=-jobId", 34),
            ("page%5Blimit%5D=50", 5),
            ("page%5Blimit%5D=100&sort=startTime", 3),
            ("page%5Blimit%5D=100&sort=-lastUpdateTime", 3),
            ("page%5Blimit%5D=100&sort=endTime", 3),
        ] {
            let (ids, pages) = all_job_ids(&server, params);
            assert!(pages >= min_pages, "{params}: {pages} pages");
            let unique: HashSet<_> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "{params}: duplicates");
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, want, "{params}");
            if params.ends_with("sort=jobId") {
                assert_eq!(ids, want);
            }
        }
    }

    #[test]
    fn jobs_page_shape() {
        let server = start(SimData::known(now_millis()));
        let body = get(&server, "/admin/jobs?page%5Blimit%5D=5&sort=jobId").json();
        assert_eq!(body["data"].as_array().unwrap().len(), 5);
        let first = &body["data"][0];
        assert_eq!(first["type"], "job");
        assert_eq!(first["id"], "101");
        let cursor = first["meta"]["page"]["cursor"].as_str().unwrap();
        assert!(cursor.parse::<i64>().is_err(), "cursor {cursor} must be opaque");
        let next = body["meta"]["pagination"]["next"].as_str().unwrap();
        assert_eq!(next, body["data"][4]["meta"]["page"]["cursor"].as_str().unwrap());
        assert_eq!(body["meta"]["pagination"]["limit"], 5);
        assert!(body["links"]["next"]["href"]
            .as_str()
            .unwrap()
            .contains("page%5Bafter%5D="));
        assert!(body["links"]["self"]["href"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1/netbackup/admin/jobs?"));
        assert!(body["meta"]["pagination"].get("prev").is_none());

        let second = get(
            &server,
            &format!("/admin/jobs?page%5Blimit%5D=5&sort=jobId&page%5Bafter%5D={next}"),
        )
        .json();
        assert_eq!(second["data"][0]["id"], "106");
        let prev = second["meta"]["pagination"]["prev"].as_str().unwrap();
        let back = get(
            &server,
            &format!("/admin/jobs?page%5Blimit%5D=5&sort=jobId&page%5Bbefore%5D={prev}"),
        )
        .json();
        let ids: Vec<_> = back["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].clone())
            .collect();
        assert_eq!(ids, ["101", "102", "103", "104", "105"]);

        // Default: 10 jobs, newest start first.
        let body = get(&server, "/admin/jobs").json();
        assert_eq!(body["data"].as_array().unwrap().len(), 10);
        assert_eq!(body["data"][0]["id"], "112");

        let reply = get(&server, "/admin/jobs?page%5Blimit%5D=101");
        assert_eq!(reply.status, 400);
        let reply = get(&server, "/admin/jobs?page%5Boffset%5D=0");
        assert_eq!(reply.status, 400);
        assert!(reply.body.contains("page[offset]"), "{}", reply.body);
        let reply = get(&server, "/admin/jobs?sort=jobId&page%5Bafter%5D=12345");
        assert_eq!(reply.status, 400);
        let reply = get(
            &server,
            &format!("/admin/jobs?sort=-startTime&page%5Bafter%5D={next}"),
        );
        assert_eq!(reply.status, 400, "cursor from another sort order");
        let empty = get(&server, "/admin/jobs?filter=jobId%20eq%2099999").json();
        assert_eq!(empty["data"].as_array().unwrap().len(), 0);
        assert!(empty["meta"]["pagination"].get("next").is_none());
    }

    #[test]
    fn storage_offset_paging_over_250_units() {
        let data = SimData::generate(
            &DataSpec {
                storage_units: 250,
                tape_units: 10,
                ..DataSpec::default()
            },
            now_millis(),
        );
        let server = start(data);
        let mut names = Vec::new();
        let mut offset = 0;
        for _ in 0..100 {
            let body = get(
                &server,
                &format!("/storage/storage-units?page%5Boffset%5D={offset}&page%5Blimit%5D=100"),
            )
            .json();
            let items = body["data"].as_array().unwrap();
            let meta = &body["meta"]["pagination"];
            assert_eq!(meta["count"], 250);
            assert_eq!(meta["pages"], 3);
            assert_eq!(meta["offset"], offset);
            assert_eq!(meta["limit"], 100);
            assert_eq!(meta["last"], 200);
            for item in items {
                assert_eq!(item["type"], "storageUnit");
                assert_eq!(item["id"], item["attributes"]["name"]);
                names.push(item["id"].as_str().unwrap().to_string());
            }
            if items.is_empty() || meta.get("next").is_none() {
                break;
            }
            assert_eq!(meta["next"], offset + 100);
            offset += items.len();
        }
        let want: Vec<String> = (1..=250).map(|i| format!("stu-{i:04}")).collect();
        assert_eq!(names, want);

        let body = get(&server, "/storage/storage-units").json();
        assert_eq!(body["data"].as_array().unwrap().len(), 10);
        assert_eq!(body["meta"]["pagination"]["page"], 0);
        for bad in [
            "page%5Blimit%5D=501",
            "page%5Blimit%5D=0",
            "page%5Boffset%5D=-1",
            "page%5Blimit%5D=x",
            "filter=x",
            "page%5Bafter%5D=1",
        ] {
            assert_eq!(
                get(&server, &format!("/storage/storage-units?{bad}")).status,
                400,
                "{bad}"
            );
        }
        let beyond = get(&server, "/storage/storage-units?page%5Boffset%5D=1000").json();
        assert_eq!(beyond["data"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn paging_100k_jobs_with_a_window_filter_stays_fast() {
        let now = now_millis();
        let data = SimData::generate(
            &DataSpec {
                jobs: 100_000,
                active_jobs: 50,
                queued_jobs: 50,
                ..DataSpec::default()
            },
            now,
        );
        let served = Served::new(data);
        let filter = format!("endTime ge {}", format_rfc3339_millis(now - 30 * 60_000));
        let mut query = vec![
            ("page[limit]".to_string(), "100".to_string()),
            ("sort".to_string(), "jobId".to_string()),
            ("filter".to_string(), filter),
        ];
        let started = Instant::now();
        let mut seen = 0;
        for _ in 0..2_000 {
            let page: Value = serde_json::from_str(&jobs_page(&served, &query, now, "").unwrap()).unwrap();
            seen += page["data"].as_array().unwrap().len();
            let Some(next) = page["meta"]["pagination"]["next"].as_str() else {
                break;
            };
            query.retain(|(k, _)| k != "page[after]");
            query.push(("page[after]".to_string(), next.to_string()));
        }
        let want = served
            .data
            .jobs
            .iter()
            .filter(|j| j.end_time.is_some_and(|e| e >= now - 30 * 60_000))
            .count();
        assert_eq!(seen, want);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }
}
