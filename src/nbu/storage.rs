//! `GET /storage/storage-units`: decoding a page into `StorageUnit` records, and fetching
//! every page by offset, holding no more than `ClientOptions::max_storage_units` units,
//! tape units excluded from the result (their capacity means nothing).
//!
//! The API bundles document this endpoint for 10.0, 12.0 and 13.0; the 14.0 bundle has no
//! storage spec, so 14.0 is assumed to answer the same way. It must not know how units
//! become metrics.

use std::collections::HashSet;
use std::time::Instant;

use serde::Deserialize;

use super::client::{Client, Get};
use super::decode;
use super::error::NbuError;
use super::model::StorageUnit;
use super::paging::{OffsetPager, RecordCap};
use crate::api_version::ApiVersion;

/// The request label of storage-unit queries.
pub const STORAGE_ENDPOINT: &str = "storage-units";

/// Rows asked per page: the most the API allows (README §4.1), so 150 units cost one
/// request where pages of 100 cost two.
const PAGE_LIMIT: usize = 500;

/// One decoded storage-units page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoragePage {
    /// Every unit of the page, tape included.
    pub units: Vec<StorageUnit>,
    /// Records in `data` (the offset advances by this).
    pub returned: usize,
    /// `meta.pagination.count`: the total number of units, when sent.
    pub count: Option<u64>,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default, deserialize_with = "decode::records")]
    data: Vec<RawUnit>,
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
    #[serde(default, deserialize_with = "decode::opt_i64")]
    count: Option<i64>,
}

#[derive(Deserialize)]
struct RawUnit {
    #[serde(default, deserialize_with = "decode::string")]
    id: String,
    #[serde(default, deserialize_with = "decode::opt_object")]
    attributes: Option<RawAttributes>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawAttributes {
    #[serde(default, deserialize_with = "decode::string")]
    name: String,
    #[serde(default, deserialize_with = "decode::string")]
    storage_type: String,
    #[serde(default, deserialize_with = "decode::string")]
    storage_sub_type: String,
    #[serde(default, deserialize_with = "decode::string")]
    storage_server_type: String,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    free_capacity_bytes: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    used_capacity_bytes: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    total_capacity_bytes: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    max_concurrent_jobs: Option<i64>,
    #[serde(default, deserialize_with = "decode::opt_i64")]
    max_fragment_size_megabytes: Option<i64>,
    #[serde(default, rename = "isCloudSTU", deserialize_with = "decode::flag")]
    is_cloud_stu: bool,
    #[serde(default, deserialize_with = "decode::flag")]
    worm_capable: bool,
    #[serde(default, deserialize_with = "decode::flag")]
    use_worm: bool,
    #[serde(default, deserialize_with = "decode::flag")]
    replication_capable: bool,
    #[serde(default, deserialize_with = "decode::flag")]
    instant_access_enabled: bool,
}

impl RawUnit {
    fn into_unit(self) -> StorageUnit {
        let a = self.attributes.unwrap_or_default();
        StorageUnit {
            // `name` is documented as equal to the resource `id`; either will do.
            name: if a.name.is_empty() { self.id } else { a.name },
            storage_type: a.storage_type,
            storage_sub_type: a.storage_sub_type,
            storage_server_type: a.storage_server_type,
            free_capacity_bytes: a.free_capacity_bytes,
            used_capacity_bytes: a.used_capacity_bytes,
            total_capacity_bytes: a.total_capacity_bytes,
            max_concurrent_jobs: a.max_concurrent_jobs,
            max_fragment_size_megabytes: a.max_fragment_size_megabytes,
            is_cloud: a.is_cloud_stu,
            worm_capable: a.worm_capable,
            use_worm: a.use_worm,
            replication_capable: a.replication_capable,
            instant_access_enabled: a.instant_access_enabled,
        }
    }
}

/// Decodes one `/storage/storage-units` response body (tape units included). `data` may be
/// absent, null or empty; odd records and values default. Fails when the body is not JSON,
/// not an object, or `data` is not an array.
pub fn decode_storage_page(body: &[u8]) -> Result<StoragePage, String> {
    let raw: RawPage = decode::body(body)?;
    let returned = raw.data.len();
    Ok(StoragePage {
        units: raw.data.into_iter().map(RawUnit::into_unit).collect(),
        returned,
        count: raw
            .meta
            .and_then(|m| m.pagination)
            .and_then(|p| p.count)
            .map(|c| u64::try_from(c).unwrap_or(0)),
    })
}

/// Drops tape units (`storageType` compared case-insensitively) and repeated names (a unit
/// added or removed while paging shifts the offsets), keeping the first occurrence.
#[cfg(test)]
pub(crate) fn keep_disk_units(units: Vec<StorageUnit>) -> Vec<StorageUnit> {
    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    keep_disk_units_into(units, &mut seen, &mut kept);
    kept
}

/// [`keep_disk_units`] for one page at a time: `seen` carries the names across pages.
fn keep_disk_units_into(units: Vec<StorageUnit>, seen: &mut HashSet<String>, kept: &mut Vec<StorageUnit>) {
    kept.extend(
        units
            .into_iter()
            .filter(|u| !u.is_tape())
            .filter(|u| u.name.is_empty() || seen.insert(u.name.clone())),
    );
}

/// The storage units of one sweep: the disk units kept and how many records came in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StorageListing {
    /// Tape units and repeated names excluded.
    pub units: Vec<StorageUnit>,
    /// Every record received, tape included.
    pub received: usize,
}

impl Client {
    /// Every storage unit on every page, tape units excluded. Fails rather than hold more
    /// than `ClientOptions::max_storage_units` units.
    pub fn fetch_storage_units(
        &self,
        version: ApiVersion,
        deadline: Instant,
    ) -> Result<Vec<StorageUnit>, NbuError> {
        self.fetch_storage_listing(version, deadline).map(|l| l.units)
    }

    /// [`Client::fetch_storage_units`] plus the number of records received. Tape units and
    /// repeated names are dropped page by page, so only the kept units accumulate.
    pub fn fetch_storage_listing(
        &self,
        version: ApiVersion,
        deadline: Instant,
    ) -> Result<StorageListing, NbuError> {
        let mut seen = HashSet::new();
        let mut listing = StorageListing::default();
        self.walk_storage_units(version, deadline, &mut |page| {
            listing.received += page.len();
            keep_disk_units_into(page, &mut seen, &mut listing.units);
        })?;
        log::debug!(
            site:% = self.site(),
            total = listing.received,
            kept = listing.units.len();
            "storage units fetched"
        );
        Ok(listing)
    }

    /// Appends every page's units (tape included) to `units`, never holding more than
    /// `max_storage_units` of them.
    #[cfg(test)]
    fn gather_storage_units(
        &self,
        version: ApiVersion,
        deadline: Instant,
        units: &mut Vec<StorageUnit>,
    ) -> Result<(), NbuError> {
        self.walk_storage_units(version, deadline, &mut |page| units.extend(page))
    }

    /// Hands every page's units (tape included) to `on_page`, never admitting more than
    /// `max_storage_units` of them in the walk.
    fn walk_storage_units(
        &self,
        version: ApiVersion,
        deadline: Instant,
        on_page: &mut dyn FnMut(Vec<StorageUnit>),
    ) -> Result<(), NbuError> {
        let stopped = |detail| NbuError::Pagination {
            endpoint: STORAGE_ENDPOINT,
            detail,
        };
        let mut pager = OffsetPager::new(PAGE_LIMIT, self.options.max_pages);
        let mut cap = RecordCap::new(self.options.max_storage_units, "storage units");
        let limit = PAGE_LIMIT.to_string();
        loop {
            let offset = pager.offset().to_string();
            let query = [("page[offset]", offset.as_str()), ("page[limit]", limit.as_str())];
            let get = Get {
                endpoint: STORAGE_ENDPOINT,
                path: "/storage/storage-units",
                query: &query,
                version,
            };
            let body = self.get(&get, deadline)?;
            let page = decode_storage_page(&body).map_err(|e| self.decode_error(&get, e, &body))?;
            cap.admit(page.units.len()).map_err(stopped)?;
            let first = page.units.first().map(|u| u.name.clone());
            on_page(page.units);
            let more = pager
                .after_page(page.returned, page.count, first.as_deref())
                .map_err(stopped)?;
            if !more {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_full_record() {
        let body = br#"{
          "data": [{
            "type": "storageUnit", "id": "msdp-stu",
            "links": {"self": {"href": "/netbackup/storage/storage-units/msdp-stu"}},
            "attributes": {
              "name": "msdp-stu", "storageType": "DISK", "storageSubType": "PureDisk",
              "storageServerType": "PureDisk", "storageCategory": "MSDP",
              "freeCapacityBytes": 5368709120000, "usedCapacityBytes": 9223372036854775807,
              "totalCapacityBytes": 10737418240000, "maxConcurrentJobs": 4096,
              "maxFragmentSizeMegabytes": 51200, "isCloudSTU": true, "wormCapable": true,
              "useWorm": false, "replicationCapable": true, "instantAccessEnabled": true,
              "mediaServerDetails": [{"name": "ms1", "operatingSystem": "linux", "netbackupVersion": "10.5"}]
            },
            "relationships": {"diskPool": {"data": {"type": "diskPool", "id": "dp1"}}}
          }],
          "meta": {"pagination": {"count": 1, "offset": 0, "limit": 100, "pages": 1, "page": 0, "next": 0}},
          "links": {"self": {"href": "x"}}
        }"#;
        let page = decode_storage_page(body).unwrap();
        assert_eq!(page.returned, 1);
        assert_eq!(page.count, Some(1));
        assert_eq!(
            page.units,
            vec![StorageUnit {
                name: "msdp-stu".into(),
                storage_type: "DISK".into(),
                storage_sub_type: "PureDisk".into(),
                storage_server_type: "PureDisk".into(),
                free_capacity_bytes: Some(5_368_709_120_000),
                used_capacity_bytes: Some(i64::MAX),
                total_capacity_bytes: Some(10_737_418_240_000),
                max_concurrent_jobs: Some(4096),
                max_fragment_size_megabytes: Some(51200),
                is_cloud: true,
                worm_capable: true,
                use_worm: false,
                replication_capable: true,
                instant_access_enabled: true,
            }]
        );
    }

    #[test]
    fn pages_and_odd_records() {
        // (body, returned, count, names)
        let ok: &[(&str, usize, Option<u64>, &[&str])] = &[
            (
                r#"{"data": [], "meta": {"pagination": {"count": 0}}}"#,
                0,
                Some(0),
                &[],
            ),
            (r#"{"meta": {"pagination": {"count": 250}}}"#, 0, Some(250), &[]),
            (r#"{}"#, 0, None, &[]),
            (
                r#"{"data": [{"id": "a"}, {"id": "b", "attributes": {"name": "b2"}}]}"#,
                2,
                None,
                &["a", "b2"],
            ),
            (
                r#"{"data": [{"id": "a"}], "meta": {"pagination": {"count": "3"}}}"#,
                1,
                Some(3),
                &["a"],
            ),
            (
                r#"{"data": [{"id": "a"}], "meta": {"pagination": {"count": -1}}}"#,
                1,
                Some(0),
                &["a"],
            ),
            (r#"{"data": [{"id": "a", "attributes": []}, 5]}"#, 1, None, &["a"]),
        ];
        for (body, returned, count, names) in ok {
            let page = decode_storage_page(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(page.returned, *returned, "{body}");
            assert_eq!(page.count, *count, "{body}");
            let got: Vec<&str> = page.units.iter().map(|u| u.name.as_str()).collect();
            assert_eq!(got, *names, "{body}");
        }
        let unit =
            &decode_storage_page(br#"{"data": [{"id": "c", "attributes": {"storageType": "CLOUD"}}]}"#)
                .unwrap()
                .units[0];
        assert_eq!(unit.free_capacity_bytes, None);
        assert!(!unit.is_cloud && !unit.worm_capable && !unit.use_worm);
        for (body, want) in [
            ("not json", "not JSON"),
            (r#"{"data": {}}"#, "`data` to be an array"),
            (r#"{"data": true}"#, "`data` to be an array"),
        ] {
            let err = decode_storage_page(body.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
    }

    #[test]
    fn tape_units_are_dropped_case_insensitively() {
        let body = br#"{"data": [
          {"id": "d1", "attributes": {"storageType": "DISK"}},
          {"id": "t1", "attributes": {"storageType": "TAPE"}},
          {"id": "t2", "attributes": {"storageType": "Tape"}},
          {"id": "t3", "attributes": {"storageType": " tape "}},
          {"id": "c1", "attributes": {"storageType": "CLOUD"}},
          {"id": "d1", "attributes": {"storageType": "DISK"}},
          {"id": "x", "attributes": {}}
        ]}"#;
        let page = decode_storage_page(body).unwrap();
        assert_eq!(page.units.len(), 7, "decoding keeps tape units");
        let kept: Vec<String> = keep_disk_units(page.units).into_iter().map(|u| u.name).collect();
        assert_eq!(kept, ["d1", "c1", "x"]);
    }
}

#[cfg(test)]
mod http_tests {
    use serde_json::json;

    use super::*;
    use crate::nbu::stub::{deadline_in, fast_options, site, Recorded, Reply, Stub};
    use crate::nbu::ClientOptions;

    /// Units `unit-000` … of which every tenth is a tape unit (alternating `TAPE`/`Tape`).
    fn unit(i: usize) -> serde_json::Value {
        let storage_type = match i % 20 {
            0 => "TAPE",
            10 => "Tape",
            _ => "DISK",
        };
        json!({"type": "storageUnit", "id": format!("unit-{i:03}"),
               "attributes": {"name": format!("unit-{i:03}"), "storageType": storage_type,
                              "freeCapacityBytes": 5_000_000_000_000i64 + i as i64,
                              "totalCapacityBytes": 10_000_000_000_000i64}})
    }

    /// Serves `total` units by offset; `count` sends `meta.pagination.count`.
    fn serve(total: usize, count: bool) -> impl Fn(&Recorded, usize) -> Reply {
        move |r, _| {
            let offset: usize = r.param("page[offset]").and_then(|v| v.parse().ok()).unwrap_or(0);
            let limit: usize = r.param("page[limit]").and_then(|v| v.parse().ok()).unwrap_or(10);
            let data: Vec<_> = (offset..total.min(offset + limit)).map(unit).collect();
            let mut pagination = json!({"offset": offset, "limit": limit});
            if count {
                pagination["count"] = json!(total);
            }
            Reply::json(
                200,
                json!({"data": data, "meta": {"pagination": pagination}}).to_string(),
            )
        }
    }

    fn client(stub: &Stub, options: ClientOptions) -> Client {
        Client::new(&site(stub.port(), "K"), options, None).unwrap()
    }

    fn offsets(stub: &Stub) -> Vec<String> {
        stub.requests()
            .iter()
            .map(|r| r.param("page[offset]").unwrap_or("-").to_string())
            .collect()
    }

    #[test]
    fn collects_every_page_and_drops_tape_units() {
        let stub = Stub::start(serve(1250, true));
        let listing = client(&stub, fast_options())
            .fetch_storage_listing(ApiVersion::V13_0, deadline_in(5000))
            .unwrap();
        let units = listing.units;
        assert_eq!(offsets(&stub), ["0", "500", "1000"]);
        assert_eq!(units.len(), 1250 - 125, "125 of 1250 units are tape");
        assert_eq!(listing.received, 1250);
        assert!(units.iter().all(|u| !u.is_tape()));
        assert_eq!(units.last().map(|u| u.name.as_str()), Some("unit-1249"));
        assert_eq!(units[0].free_capacity_bytes, Some(5_000_000_000_001));
        for r in stub.requests() {
            assert_eq!(r.path, "/netbackup/storage/storage-units");
            assert_eq!(r.param("page[limit]"), Some("500"), "the API's largest page");
            assert_eq!(r.accept_version(), "13.0");
        }
    }

    #[test]
    fn without_a_count_stops_on_a_short_or_empty_page() {
        let stub = Stub::start(serve(1250, false));
        let units = client(&stub, fast_options())
            .fetch_storage_units(ApiVersion::V12_0, deadline_in(5000))
            .unwrap();
        assert_eq!(
            (offsets(&stub), units.len()),
            (vec!["0".into(), "500".into(), "1000".into()], 1125)
        );

        let stub = Stub::start(serve(1000, false));
        let units = client(&stub, fast_options())
            .fetch_storage_units(ApiVersion::V12_0, deadline_in(5000))
            .unwrap();
        assert_eq!(
            (offsets(&stub), units.len()),
            (vec!["0".into(), "500".into(), "1000".into()], 900)
        );

        let stub = Stub::start(serve(0, true));
        let units = client(&stub, fast_options())
            .fetch_storage_units(ApiVersion::V12_0, deadline_in(5000))
            .unwrap();
        assert_eq!((offsets(&stub), units.len()), (vec!["0".into()], 0));
    }

    #[test]
    fn a_server_that_ignores_the_offset_is_caught() {
        let stub = Stub::start(|r, n| {
            let mut r = r.clone();
            r.query.retain(|(name, _)| name != "page[offset]");
            serve(5000, false)(&r, n)
        });
        let err = client(&stub, fast_options())
            .fetch_storage_units(ApiVersion::V12_0, deadline_in(5000))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "storage-units: pagination stopped: the server ignored page[offset]=500 (page starts with \"unit-000\" again)"
        );
        assert_eq!(offsets(&stub), ["0", "500"]);
    }

    #[test]
    fn max_pages_bounds_the_walk() {
        let stub = Stub::start(serve(5000, true));
        let options = ClientOptions {
            max_pages: 3,
            ..fast_options()
        };
        let err = client(&stub, options)
            .fetch_storage_units(ApiVersion::V12_0, deadline_in(5000))
            .unwrap_err();
        assert_eq!(
            err,
            NbuError::Pagination {
                endpoint: "storage-units",
                detail: "more than 3 pages".into()
            }
        );
        assert_eq!(offsets(&stub), ["0", "500", "1000"]);
    }

    /// A listing that never ends: `count` always 1,000 past the offset asked for, and every
    /// page holds units never seen before.
    fn endless(r: &Recorded, n: usize) -> Reply {
        let offset: usize = r.param("page[offset]").and_then(|v| v.parse().ok()).unwrap_or(0);
        serve(offset + 5000, true)(r, n)
    }

    #[test]
    fn max_storage_units_bounds_an_endless_listing() {
        let stub = Stub::start(endless);
        let options = ClientOptions {
            max_storage_units: 1250,
            max_pages: 50,
            ..fast_options()
        };
        let client = client(&stub, options);
        let mut units = Vec::new();
        let err = client
            .gather_storage_units(ApiVersion::V12_0, deadline_in(5000), &mut units)
            .unwrap_err();
        // The page that would pass the cap is not kept.
        assert_eq!(
            (err.to_string(), units.len()),
            (
                "storage-units: pagination stopped: the listing did not end within 1250 storage units \
                 (3 pages read); refusing to hold more in one sweep"
                    .to_string(),
                1000
            )
        );
        assert_eq!(offsets(&stub), ["0", "500", "1000"]);
        assert_eq!(
            client.fetch_storage_units(ApiVersion::V12_0, deadline_in(5000)),
            Err(err)
        );
    }

    #[test]
    fn a_listing_of_exactly_max_storage_units_is_complete() {
        let options = ClientOptions {
            max_storage_units: 1250,
            ..fast_options()
        };
        let stub = Stub::start(serve(1250, true));
        let units = client(&stub, options.clone())
            .fetch_storage_units(ApiVersion::V12_0, deadline_in(5000))
            .unwrap();
        assert_eq!(units.len(), 1125);

        let stub = Stub::start(serve(1251, true));
        let err = client(&stub, options)
            .fetch_storage_units(ApiVersion::V12_0, deadline_in(5000))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("did not end within 1250 storage units (3 pages read)"),
            "{err}"
        );
    }

    #[test]
    fn default_options_stop_an_endless_listing_at_10000_units() {
        let stub = Stub::start(endless);
        let mut units = Vec::new();
        let err = client(&stub, fast_options())
            .gather_storage_units(ApiVersion::V13_0, deadline_in(20_000), &mut units)
            .unwrap_err();
        assert_eq!(
            (err.to_string(), units.len()),
            (
                "storage-units: pagination stopped: the listing did not end within 10000 storage units \
                 (21 pages read); refusing to hold more in one sweep"
                    .to_string(),
                10_000
            )
        );
        assert_eq!(stub.requests().len(), 21);
    }

    #[test]
    fn a_401_is_an_auth_error_and_not_retried() {
        let stub = Stub::start(|_, _| Reply::status(401));
        let err = client(&stub, fast_options())
            .fetch_storage_units(ApiVersion::V12_0, deadline_in(5000))
            .unwrap_err();
        assert!(err.is_auth());
        assert_eq!(
            err.to_string(),
            "storage-units: authentication failed (HTTP 401): check apiKey"
        );
        assert_eq!(stub.requests().len(), 1);
    }
}
