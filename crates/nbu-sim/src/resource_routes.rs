//! The opt-in collectors' endpoints, answered from [`SimResources`] as the API bundles
//! document them: which API versions have each endpoint (older ones get 404), offset
//! paging (drives, disk pools, alerts, malware results, catalog images, SLOs; each with the
//! `meta` its spec declares), cursor paging (`page[after]`: tape media, volume pools), no
//! paging (robot device hosts), the version-dependent fields (`noOfFilesImpacted` in 10.0)
//! and the filters the exporter sends: `backupTime ge <integer>` on malware results, and on
//! catalog images `malwareStatus`/`anomalyStatus`/`backupTime` clauses whose string literals
//! must be quoted (an unquoted one is a 400, as OData says).
//!
//! It knows nothing of sockets, auth or faults; `routes` dispatches here after auth and
//! version negotiation.

use serde_json::{json, Map, Value};

use crate::filter::{tokenize, Token};
use crate::paging::{check_params, href, int_param, offset_meta, page_json, param, OffsetPage};
use crate::resources::{SimResources, SimScanResult};
use crate::routes::{bad_param, bad_request, not_found, ApiError};
use crate::time::{parse_rfc3339, UnixMillis};
use crate::version::ApiVersion;
use crate::wire::JsonObject;

/// One endpoint of the opt-in collectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    Drives,
    TapeMedia,
    RobotHosts,
    VolumePools,
    DiskPools,
    Alerts,
    Malware,
    Catalog,
    Slos,
}

impl Resource {
    pub(crate) const ALL: [Resource; 9] = [
        Resource::Drives,
        Resource::TapeMedia,
        Resource::RobotHosts,
        Resource::VolumePools,
        Resource::DiskPools,
        Resource::Alerts,
        Resource::Malware,
        Resource::Catalog,
        Resource::Slos,
    ];

    /// The path below `/netbackup`.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Resource::Drives => "/storage/drives",
            Resource::TapeMedia => "/storage/tape-media",
            Resource::RobotHosts => "/storage/robots-device-hosts",
            Resource::VolumePools => "/storage/tape-volume-pools",
            Resource::DiskPools => "/storage/disk-pools",
            Resource::Alerts => "/manage/alerts",
            Resource::Malware => "/malware/latest-scan-results",
            Resource::Catalog => "/catalog/images",
            Resource::Slos => "/servicecatalog/slos",
        }
    }

    pub(crate) fn of_path(path: &str) -> Option<Resource> {
        let below = path.strip_prefix("/netbackup")?;
        Resource::ALL.into_iter().find(|r| r.path() == below)
    }

    /// The oldest API version with this endpoint. Tape media, robots and volume pools are
    /// absent from the 10.0 bundle. The catalog endpoint exists everywhere, but the count
    /// by `malwareStatus` the exporter asks for needs 13.0, which the filter check enforces.
    fn since(self) -> ApiVersion {
        match self {
            Resource::TapeMedia | Resource::RobotHosts | Resource::VolumePools => ApiVersion::V12_0,
            _ => ApiVersion::V10_0,
        }
    }
}

/// Answers a request for `resource` under the negotiated `version`.
pub(crate) fn resource_page(
    resource: Resource,
    data: &SimResources,
    query: &[(String, String)],
    version: ApiVersion,
    now: UnixMillis,
    base: &str,
) -> Result<String, ApiError> {
    if version < resource.since() {
        return Err(not_found(&format!(
            "{} is not available in API version {version}",
            resource.path()
        )));
    }
    match resource {
        Resource::Drives => drives(data, query, base),
        Resource::TapeMedia => tape_media(data, query, base),
        Resource::RobotHosts => robot_hosts(data, query),
        Resource::VolumePools => volume_pools(data, query, base),
        Resource::DiskPools => disk_pools(data, query, base),
        Resource::Alerts => alerts(data, query, base),
        Resource::Malware => malware(data, query, version, base),
        Resource::Catalog => catalog(data, query, version, now, base),
        Resource::Slos => slos(data, query),
    }
}

fn offset_query(
    query: &[(String, String)],
    allowed: &[&str],
    max_limit: i64,
) -> Result<OffsetPage, ApiError> {
    check_params(query, allowed)?;
    Ok(OffsetPage {
        offset: int_param(query, "page[offset]", 0, 0, i64::MAX / 2)?,
        limit: int_param(query, "page[limit]", 10, 1, max_limit)?,
    })
}

fn window<T>(items: &[T], page: &OffsetPage) -> std::ops::Range<usize> {
    let start = usize::try_from(page.offset)
        .unwrap_or(usize::MAX)
        .min(items.len());
    start..items.len().min(start + page.limit as usize)
}

fn drives(data: &SimResources, query: &[(String, String)], base: &str) -> Result<String, ApiError> {
    let page = offset_query(query, &["page[offset]", "page[limit]", "sort", "filter"], 100)?;
    if param(query, "filter").is_some() {
        return Err(bad_param("filter", "the simulator does not filter drives"));
    }
    let range = window(&data.drives, &page);
    let (meta, _) = offset_meta(&page, data.drives.len() as i64, base, Resource::Drives.path());
    // The drives spec declares `meta` and no `links`.
    let meta = strip(meta, &["pages", "page"]);
    let items = &data.drives[range];
    Ok(data_and(items.len(), &[("meta", meta)], |out, n| {
        let d = &items[n];
        let mut o = JsonObject::new(out);
        o.str("type", "drive").str("id", &d.name).obj("attributes", |a| {
            a.str("driveType", &d.drive_type)
                .str("driveStatus", &d.status)
                .str("robotType", &d.robot_type)
                .int("robotNumber", d.robot_number)
                .str("deviceHost", &d.device_host)
                .str("driveControl", "TLD")
                .raw(
                    "devicePaths",
                    &json!([{"driveName": d.name, "deviceHost": d.device_host, "pathStatus": "PATH_STATUS_UP", "isEnabled": true}])
                        .to_string(),
                );
        });
        o.end();
    }))
}

fn robot_hosts(data: &SimResources, query: &[(String, String)]) -> Result<String, ApiError> {
    check_params(query, &[])?;
    Ok(data_and(data.robot_hosts.len(), &[], |out, n| {
        let mut o = JsonObject::new(out);
        o.str("type", "deviceHost").str("id", &data.robot_hosts[n]);
        o.end();
    }))
}

/// A cursor page over `count` items: `(start, end, meta, links)`. Cursors are
/// `<tag>.<position>`: opaque to clients, checked here.
fn cursor_page(
    query: &[(String, String)],
    tag: &str,
    count: usize,
    base: &str,
    path: &str,
) -> Result<(usize, usize, Value, Value), ApiError> {
    check_params(query, &["page[limit]", "page[after]", "sort", "filter"])?;
    if param(query, "filter").is_some() {
        return Err(bad_param("filter", "the simulator does not filter this listing"));
    }
    if query.iter().any(|(k, _)| k == "page[offset]") {
        return Err(bad_request(
            "page[offset] is not a parameter of this cursor-paged listing",
        ));
    }
    let limit = int_param(query, "page[limit]", 10, 1, 100)? as usize;
    let start = match param(query, "page[after]") {
        None | Some("") => 0,
        Some(text) => text
            .strip_prefix(tag)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= count)
            .ok_or_else(|| {
                bad_param(
                    "page[after]",
                    format!("page[after] {text:?} is not a cursor this server issued"),
                )
            })?,
    };
    let end = count.min(start + limit);
    let mut pagination = Map::new();
    pagination.insert("limit".into(), json!(limit));
    let mut links = Map::new();
    let link = |after: Option<String>| {
        let mut params = vec![("page[limit]", limit.to_string())];
        if let Some(a) = after {
            params.push(("page[after]", a));
        }
        href(base, path, &params)
    };
    links.insert("self".into(), link((start > 0).then(|| format!("{tag}.{start}"))));
    links.insert("first".into(), link(None));
    if end < count {
        let next = format!("{tag}.{end}");
        pagination.insert("next".into(), json!(next));
        links.insert("next".into(), link(Some(next)));
    }
    if start > 0 {
        pagination.insert("prev".into(), json!(format!("{tag}.{start}")));
    }
    pagination.insert("rangeTruncated".into(), json!(false));
    Ok((
        start,
        end,
        json!({ "pagination": pagination }),
        json!({ "pagination": links }),
    ))
}

fn tape_media(data: &SimResources, query: &[(String, String)], base: &str) -> Result<String, ApiError> {
    let path = Resource::TapeMedia.path();
    let (start, end, meta, links) = cursor_page(query, "tm", data.tape_media.len(), base, path)?;
    let items = &data.tape_media[start..end];
    Ok(page_json(items.len(), meta, links, |out, n| {
        let v = &items[n];
        let mut o = JsonObject::new(out);
        o.str("type", "volumeInfo").str("id", &v.media_id);
        o.obj("attributes", |a| {
            a.str("barcode", &v.media_id)
                .str("mediaType", &v.media_type)
                .str("volumePool", &v.volume_pool)
                .str("volumeGroup", "000_00000_TLD")
                .str("mediaStatus", "ACTIVE")
                .int("kiloBytes", 1_073_741_824)
                .int("images", 3)
                .int("validImages", 3);
            if let Some(r) = &v.robot {
                a.obj("robot", |o| {
                    o.str("robotType", &r.robot_type)
                        .int("robotNumber", r.robot_number)
                        .str("robotHost", &r.robot_host);
                });
            }
        });
        o.obj("links", |l| {
            l.href("self", &format!("{base}{path}/{}", v.media_id));
        });
        o.end();
    }))
}

fn volume_pools(data: &SimResources, query: &[(String, String)], base: &str) -> Result<String, ApiError> {
    let path = Resource::VolumePools.path();
    let (start, end, meta, links) = cursor_page(query, "vp", data.volume_pools.len(), base, path)?;
    let items = &data.volume_pools[start..end];
    Ok(page_json(items.len(), meta, links, |out, n| {
        let p = &items[n];
        let mut o = JsonObject::new(out);
        o.str("type", "volumePoolDetails")
            .str("id", &p.number.to_string())
            .obj("attributes", |a| {
                a.int("volumePoolNumber", p.number)
                    .str("volumePoolName", &p.name)
                    .str("description", "simulated pool")
                    .str("poolType", &p.pool_type)
                    .int("partiallyFullMedia", p.partially_full);
            });
        o.end();
    }))
}

fn disk_pools(data: &SimResources, query: &[(String, String)], base: &str) -> Result<String, ApiError> {
    let page = offset_query(query, &["page[offset]", "page[limit]", "sort", "filter"], 500)?;
    let range = window(&data.disk_pools, &page);
    let path = Resource::DiskPools.path();
    let (meta, links) = offset_meta(&page, data.disk_pools.len() as i64, base, path);
    let items = &data.disk_pools[range];
    Ok(page_json(items.len(), meta, links, |out, n| {
        let p = &items[n];
        let volumes: Vec<Value> = p
            .volumes
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json!({"name": v.name, "id": format!("{}-{i}", p.name), "diskMediaId": v.name,
                       "state": v.state, "rawSizeBytes": 1_099_511_627_776_i64, "freeSizeBytes": 549_755_813_888_i64,
                       "isReplicationSource": false, "isReplicationTarget": false})
            })
            .collect();
        let mut o = JsonObject::new(out);
        o.str("type", "diskPool")
            .str("id", &p.name)
            .obj("attributes", |a| {
                a.str("name", &p.name)
                    .str("sType", "PureDisk")
                    .str("storageCategory", &p.storage_category)
                    .str("diskPoolState", &p.state)
                    .int("highWaterMark", 98)
                    .int("lowWaterMark", 80)
                    .raw("diskVolumes", &Value::Array(volumes).to_string())
                    .bool("wormCapable", false)
                    .bool("readOnly", false)
                    .int("mediaServersCount", 2);
            });
        o.end();
    }))
}

fn alerts(data: &SimResources, query: &[(String, String)], base: &str) -> Result<String, ApiError> {
    // The spec declares no limit; the simulator caps pages at 1,000.
    let page = offset_query(query, &["page[offset]", "page[limit]", "sort"], 1000)?;
    let range = window(&data.alerts, &page);
    let path = Resource::Alerts.path();
    let (meta, links) = offset_meta(&page, data.alerts.len() as i64, base, path);
    let items = &data.alerts[range];
    Ok(page_json(items.len(), meta, links, |out, n| {
        let a = &items[n];
        let mut o = JsonObject::new(out);
        o.str("type", "alert")
            .str("id", &a.id.to_string())
            .obj("attributes", |x| {
                x.int("alertId", a.id)
                    .str("severity", &a.severity)
                    .str("category", &a.category)
                    .str("subCategory", "STANDARD")
                    .str("context", "JOB_STATE_FAILED")
                    .str("createdDateTime", &crate::time::format_rfc3339_millis(a.created))
                    .str("title", "Job failed")
                    .str("description", "a simulated job failed")
                    .int("titleId", 1)
                    .int("descriptionId", 2)
                    .bool("systemDefined", true)
                    .raw(
                        "params",
                        &json!({"jobId": "1", "status": "96", "clientName": "c"}).to_string(),
                    );
            });
        o.end();
    }))
}

/// `backupTime ge N` (N an unquoted integer, Unix seconds) clauses joined by `and`.
fn malware_floor(filter: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(filter) = filter else { return Ok(None) };
    let bad = |m: String| bad_param("filter", format!("unsupported filter: {m}"));
    let tokens = tokenize(filter).map_err(bad)?;
    let mut floor = None;
    for (i, clause) in tokens.split(|t| *t == Token::Word("and".into())).enumerate() {
        match clause {
            [Token::Word(a), Token::Word(op), Token::Word(v)] if a == "backupTime" && op == "ge" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad(format!("backupTime takes an integer, got '{v}'")))?;
                floor = Some(floor.map_or(n, |f: i64| f.max(n)));
            }
            [Token::Word(a), _, Token::Quoted(v)] if a == "backupTime" => {
                return Err(bad(format!("backupTime is an integer; '{v}' is quoted")));
            }
            _ => return Err(bad(format!("clause {} is not 'backupTime ge <integer>'", i + 1))),
        }
    }
    Ok(floor)
}

fn malware(
    data: &SimResources,
    query: &[(String, String)],
    version: ApiVersion,
    base: &str,
) -> Result<String, ApiError> {
    let page = offset_query(query, &["page[offset]", "page[limit]", "sort", "filter"], 100)?;
    let floor = malware_floor(param(query, "filter"))?;
    let selected: Vec<&SimScanResult> = data
        .scan_results
        .iter()
        .filter(|r| floor.is_none_or(|f| r.backup_time >= f))
        .collect();
    let range = window(&selected, &page);
    let path = Resource::Malware.path();
    let (meta, links) = offset_meta(&page, selected.len() as i64, base, path);
    let items = &selected[range];
    let impacted = if version < ApiVersion::V12_0 {
        "noOfFilesImpacted"
    } else {
        "numberOfFilesImpacted"
    };
    Ok(page_json(items.len(), meta, links, |out, n| {
        let r = items[n];
        let mut o = JsonObject::new(out);
        o.str("type", "scanResult")
            .str("id", &r.id)
            .obj("attributes", |a| {
                a.str("scanState", &r.scan_state)
                    .str(
                        "scanResult",
                        if r.files_impacted > 0 { "IMPACTED" } else { "CLEAN" },
                    )
                    .int("numberOfFilesScanned", r.files_scanned)
                    .int("totalNumberOfFiles", r.files_scanned)
                    .int(impacted, r.files_impacted)
                    .str("client", &r.client)
                    .int("backupTime", r.backup_time)
                    .str("dateOfScan", "2025-01-01T00:00:00.000Z")
                    .str("policyType", "STANDARD");
            });
        o.end();
    }))
}

/// The catalog count filter: clauses joined by `and`, string literals quoted.
struct CatalogFilter {
    malware_status: Option<String>,
    anomaly_status: Option<String>,
    from: Option<UnixMillis>,
    to: Option<UnixMillis>,
}

fn catalog_filter(filter: Option<&str>, version: ApiVersion) -> Result<CatalogFilter, ApiError> {
    let mut f = CatalogFilter {
        malware_status: None,
        anomaly_status: None,
        from: None,
        to: None,
    };
    let Some(filter) = filter else { return Ok(f) };
    let bad = |m: String| bad_param("filter", format!("invalid filter: {m}"));
    let tokens = tokenize(filter).map_err(bad)?;
    for clause in tokens.split(|t| *t == Token::Word("and".into())) {
        let (attr, op, value) = match clause {
            [Token::Word(a), Token::Word(op), v] => (a.as_str(), op.as_str(), v),
            _ => {
                return Err(bad(format!(
                    "expected 'attribute op value' clauses in {filter:?}"
                )))
            }
        };
        let Token::Quoted(text) = value else {
            let Token::Word(w) = value else { unreachable!() };
            return Err(bad(format!(
                "the value of {attr} must be a quoted string literal ('{w}'), got {w}"
            )));
        };
        match (attr, op) {
            ("malwareStatus", "eq") if version >= ApiVersion::V13_0 => f.malware_status = Some(text.clone()),
            ("anomalyStatus", "eq") if version >= ApiVersion::V12_0 => f.anomaly_status = Some(text.clone()),
            ("backupTime", "ge" | "le") => {
                let t = parse_rfc3339(text).ok_or_else(|| bad(format!("invalid date-time '{text}'")))?;
                if op == "ge" {
                    f.from = Some(t);
                } else {
                    f.to = Some(t);
                }
            }
            _ => {
                return Err(bad(format!(
                    "'{attr} {op}' is not a supported filter in API version {version}"
                )))
            }
        }
    }
    Ok(f)
}

fn catalog(
    data: &SimResources,
    query: &[(String, String)],
    version: ApiVersion,
    now: UnixMillis,
    base: &str,
) -> Result<String, ApiError> {
    let page = offset_query(query, &["page[offset]", "page[limit]", "filter"], 100)?;
    let f = catalog_filter(param(query, "filter"), version)?;
    // NetBackup's default window: the last 24 hours.
    let from = f.from.unwrap_or(now - 86_400_000);
    let to = f.to.unwrap_or(now);
    let selected: Vec<_> = data
        .images
        .iter()
        .filter(|i| i.backup_time >= from && i.backup_time <= to)
        .filter(|i| f.malware_status.as_ref().is_none_or(|m| *m == i.malware_status))
        .filter(|i| f.anomaly_status.as_ref().is_none_or(|a| *a == i.anomaly_status))
        .collect();
    let range = window(&selected, &page);
    let (meta, links) = offset_meta(&page, selected.len() as i64, base, Resource::Catalog.path());
    let meta = strip(meta, &["pages", "page"]);
    let items = &selected[range];
    Ok(page_json(items.len(), meta, links, |out, n| {
        let i = items[n];
        let mut o = JsonObject::new(out);
        o.str("type", "image")
            .str("id", &i.backup_id)
            .obj("attributes", |a| {
                a.str("clientName", &i.client)
                    .str("backupTime", &crate::time::format_rfc3339_millis(i.backup_time))
                    .str("malwareStatus", &i.malware_status)
                    .str("anomalyStatus", &i.anomaly_status);
            });
        o.end();
    }))
}

fn slos(data: &SimResources, query: &[(String, String)]) -> Result<String, ApiError> {
    let page = offset_query(query, &["page[offset]", "page[limit]", "sort", "filter"], 100)?;
    let range = window(&data.slos, &page);
    let items = &data.slos[range];
    // The SLO schema declares only `data`.
    Ok(data_and(items.len(), &[], |out, n| {
        let s = &items[n];
        let mut o = JsonObject::new(out);
        o.str("type", "slov3").str("id", &s.id);
        o.obj("links", |l| {
            l.href("self", &format!("/servicecatalog/slos/{}", s.id));
        });
        o.obj("attributes", |a| {
            a.str("name", &s.name)
                .str("description", "simulated SLO")
                .str("policyNamePrefix", "SLO_")
                .str("workloadType", &s.workload_type)
                .bool("subscribeAllowed", true)
                .int("subscriptionCount", s.subscription_count);
        });
        o.end();
    }))
}

/// `{"data":[...]}` plus the given top-level members.
fn data_and(count: usize, members: &[(&str, Value)], mut item: impl FnMut(&mut String, usize)) -> String {
    let mut out = String::with_capacity(count * 600 + 256);
    out.push_str("{\"data\":[");
    for n in 0..count {
        if n > 0 {
            out.push(',');
        }
        item(&mut out, n);
    }
    out.push(']');
    for (key, value) in members {
        out.push_str(&format!(",{}:{value}", Value::from(*key)));
    }
    out.push('}');
    out
}

/// `meta` without the named `meta.pagination` members.
fn strip(mut meta: Value, names: &[&str]) -> Value {
    if let Some(p) = meta.get_mut("pagination").and_then(Value::as_object_mut) {
        for name in names {
            p.remove(*name);
        }
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SimData;
    use crate::resources::ResourceSpec;
    use crate::testing::*;
    use crate::time::now_millis;

    fn server() -> crate::server::SimServer {
        let now = now_millis();
        start(SimData {
            resources: SimResources::generate(&ResourceSpec::default(), now),
            ..SimData::default()
        })
    }

    #[test]
    fn cursor_listings_page_by_page_after_and_ignore_nothing() {
        let server = server();
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..20 {
            let path = match &after {
                None => "/storage/tape-media?page%5Blimit%5D=100".to_string(),
                Some(c) => format!(
                    "/storage/tape-media?page%5Blimit%5D=100&page%5Bafter%5D={}",
                    enc(c)
                ),
            };
            let body = get(&server, &path).json();
            for r in body["data"].as_array().unwrap() {
                seen.push(r["id"].as_str().unwrap().to_string());
            }
            match body["meta"]["pagination"]["next"].as_str() {
                Some(n) => after = Some(n.to_string()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 1_200);
        let reply = get(&server, "/storage/tape-media?page%5Boffset%5D=100");
        assert_eq!(reply.status, 400, "{}", reply.body);
        let reply = get(&server, "/storage/tape-media?page%5Bafter%5D=zz.1");
        assert_eq!(reply.status, 400);
    }

    #[test]
    fn catalog_wants_quoted_literals_and_version_gates() {
        let server = server();
        let quoted = "malwareStatus eq 'CLEAN' and anomalyStatus eq 'ANOMALOUS'";
        let reply = get(
            &server,
            &format!("/catalog/images?filter={}&page%5Blimit%5D=1", enc(quoted)),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.json()["meta"]["pagination"]["count"].is_i64());
        let unquoted = "malwareStatus eq CLEAN";
        let reply = get(
            &server,
            &format!("/catalog/images?filter={}&page%5Blimit%5D=1", enc(unquoted)),
        );
        assert_eq!(reply.status, 400);
        assert!(reply.body.contains("quoted"), "{}", reply.body);
        let v12 = Some("application/vnd.netbackup+json;version=12.0");
        let path = format!("/netbackup/catalog/images?filter={}", enc(quoted));
        let reply = get_with(server.addr(), &path, Some(KEY), v12);
        assert_eq!(reply.status, 400, "malwareStatus is a 13.0 filter");
        let v10 = Some("application/vnd.netbackup+json;version=10.0");
        let reply = get_with(server.addr(), "/netbackup/storage/tape-media", Some(KEY), v10);
        assert_eq!(reply.status, 404);
        let reply = get_with(
            server.addr(),
            "/netbackup/malware/latest-scan-results",
            Some(KEY),
            v10,
        );
        assert!(reply.body.contains("noOfFilesImpacted"));
    }

    #[test]
    fn malware_filter_is_an_integer() {
        let server = server();
        let ok = get(
            &server,
            &format!("/malware/latest-scan-results?filter={}", enc("backupTime ge 100")),
        );
        assert_eq!(ok.status, 200, "{}", ok.body);
        let bad = get(
            &server,
            &format!(
                "/malware/latest-scan-results?filter={}",
                enc("backupTime ge '100'")
            ),
        );
        assert_eq!(bad.status, 400);
    }
}
