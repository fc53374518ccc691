//! Decoding speed of NetBackup pages: one full `/admin/jobs` page (100 jobs with the
//! 77 attributes a real server sends, most of them unused by the exporter), one 100-unit
//! `/storage/storage-units` page, and one 100-record page of the opt-in collectors' drives,
//! tape media and malware scan results. Throughput is reported per record.
//!
//! The pages are generated here; the bench must not read fixture files.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use nbu_exporter::nbu::drives::decode_drives_page;
use nbu_exporter::nbu::malware::decode_malware_page;
use nbu_exporter::nbu::tape_media::decode_tape_media_page;
use nbu_exporter::nbu::{decode_jobs_page, decode_storage_page};
use serde_json::{json, Map, Value};

/// One job record with the full attribute set of the 10.0–14.0 schema.
fn job(i: i64) -> Value {
    let id = 1_000_000 + i;
    let mut a = Map::new();
    let mut put = |k: &str, v: Value| {
        a.insert(k.to_string(), v);
    };
    put("jobId", json!(id));
    put("parentJobId", json!(if i % 4 == 0 { 0 } else { id - 1 }));
    put("jobPath", json!(format!("{}.{}", id - 1, id)));
    put("childCount", json!(0));
    put(
        "jobType",
        json!(["BACKUP", "DUPLICATE", "RESTORE", "IMAGEDELETE"][(i % 4) as usize]),
    );
    put("jobSubType", json!("SCHEDULED"));
    put(
        "policyType",
        json!(["VMWARE", "STANDARD", "SQL_SERVER", "NBU_CATALOG"][(i % 4) as usize]),
    );
    put("policyName", json!(format!("policy-{}", i % 17)));
    put("scheduleType", json!("DIFFERENTIAL_INCREMENTAL_BACKUP"));
    put("scheduleName", json!("daily-incr"));
    put("clientName", json!(format!("client-{i:04}.example.com")));
    put("controlHost", json!("primary.example.com"));
    put("jobOwner", json!("root"));
    put("jobGroup", json!("root"));
    put(
        "backupId",
        json!(format!("client-{i:04}.example.com_17357256{i:02}")),
    );
    put("sourceMediaId", json!(""));
    put("sourceStorageUnitName", json!(""));
    put("sourceMediaServerName", json!(""));
    put("destinationMediaId", json!("@aaaab"));
    put("destinationStorageUnitName", json!("msdp-stu-01"));
    put("destinationMediaServerName", json!("media-01.example.com"));
    put("dataMovement", json!("STANDARD"));
    put("streamNumber", json!(i % 4));
    put("copyNumber", json!(1));
    put("priority", json!(0));
    put("compression", json!(0));
    put("status", json!(if i % 10 == 0 { 1 } else { 0 }));
    put("state", json!(if i % 9 == 0 { "ACTIVE" } else { "DONE" }));
    put("numberOfFiles", json!(123_456 + i));
    put("estimatedFiles", json!(123_000 + i));
    put("kilobytesTransferred", json!(10_737_418_240i64 + i));
    put("kilobytesToTransfer", json!(10_737_418_240i64));
    put("kilobytesDataTransferred", json!(9_000_000_000i64 + i));
    put("transferRate", json!(204_800));
    put("percentComplete", json!(100));
    put("currentOperation", json!(0));
    put("restartable", json!(0));
    put("suspendable", json!(1));
    put("resumable", json!(0));
    put("killable", json!(1));
    put("cancellable", json!(1));
    put("frozenImage", json!(0));
    put("transportType", json!("LAN"));
    put("dedupRatio", json!(3.75));
    put("dedupSpaceRatio", json!(0.73));
    put("compressionSpaceRatio", json!(0.0));
    put("acceleratorOptimization", json!(0));
    put("instanceDatabaseName", json!(""));
    put("robotName", json!(""));
    put("vaultName", json!(""));
    put("profileName", json!(""));
    put("sessionId", json!(9_876 + i));
    put("numberOfTapeToEject", json!(0));
    put("submissionType", json!(0));
    put("dumpHost", json!(""));
    put("auditUserName", json!("root"));
    put("auditDomainName", json!(""));
    put("auditDomainType", json!(0));
    put("restoreBackupIDs", json!(""));
    put("startTime", json!("2025-01-01T10:00:00.000Z"));
    put(
        "endTime",
        json!(if i % 9 == 0 {
            "0001-01-01T00:00:00Z"
        } else {
            "2025-01-01T11:30:00.250Z"
        }),
    );
    put("activeTryStartTime", json!("2025-01-01T10:00:05.000Z"));
    put("lastUpdateTime", json!("2025-01-01T11:30:00.250Z"));
    put("initiatorId", json!("root"));
    put("retentionLevel", json!(1));
    put("try", json!(1));
    put("jobQueueReason", json!(0));
    put("jobQueueResource", json!(""));
    put("elapsedTime", json!("PT1H30M0.25S"));
    put("activeElapsedTime", json!("PT1H29M55.25S"));
    put("offHostType", json!("STANDARD"));
    put("applicationType", json!("VMWARE"));
    put("dteMode", json!("OFF"));
    put("assetID", json!(format!("vm-{i}")));
    put("assetDisplayableName", json!(format!("vm {i}")));
    put("workloadDisplayName", json!("VMware"));
    put("done", json!(i % 9 != 0));
    json!({
        "type": "job",
        "id": id.to_string(),
        "links": {
            "self": {"href": format!("/netbackup/admin/jobs/{id}")},
            "try-logs": {"href": format!("/netbackup/admin/jobs/{id}/try-logs")},
            "file-lists": {"href": format!("/netbackup/admin/jobs/{id}/file-lists")}
        },
        "meta": {"page": {"cursor": id.to_string()}},
        "attributes": Value::Object(a)
    })
}

fn jobs_page() -> Vec<u8> {
    let data: Vec<Value> = (0..100).map(job).collect();
    let body = json!({
        "data": data,
        "meta": {"pagination": {"limit": 100, "next": "MTAwMDA5OQ==", "prev": "", "rangeTruncated": false}},
        "links": {"self": {"href": "/netbackup/admin/jobs"}, "next": {"href": "/netbackup/admin/jobs?page[after]=x"}}
    });
    serde_json::to_vec(&body).expect("serialise the jobs page")
}

fn storage_page() -> Vec<u8> {
    let data: Vec<Value> = (0..100)
        .map(|i| {
            let name = format!("stu-{i:03}");
            json!({
                "type": "storageUnit", "id": name,
                "links": {"self": {"href": format!("/netbackup/storage/storage-units/{name}")}},
                "attributes": {
                    "name": name, "storageType": if i % 10 == 0 { "TAPE" } else { "DISK" },
                    "storageSubType": "PureDisk", "storageServerType": "PureDisk", "storageCategory": "MSDP",
                    "freeCapacityBytes": 5_368_709_120_000i64, "usedCapacityBytes": 5_368_709_120_000i64,
                    "totalCapacityBytes": 10_737_418_240_000i64, "maxConcurrentJobs": 100,
                    "maxFragmentSizeMegabytes": 51_200, "onDemandOnly": false, "useAnyAvailableMediaServer": true,
                    "accelerator": false, "instantAccessEnabled": true, "isCloudSTU": false,
                    "replicationCapable": true, "replicationSourceCapable": true, "replicationTargetCapable": false,
                    "snapshot": false, "mirror": false, "independent": false, "primary": true,
                    "scaleOutEnabled": false, "wormCapable": false, "useWorm": false,
                    "mediaServerDetails": [{"name": "media-01", "operatingSystem": "linux", "netbackupVersion": "10.5"}]
                },
                "relationships": {"diskPool": {"links": {"related": {"href": "/netbackup/storage/disk-pools/dp1"}},
                                               "data": {"type": "diskPool", "id": "dp1"}}}
            })
        })
        .collect();
    let body = json!({
        "data": data,
        "meta": {"pagination": {"count": 100, "pages": 1, "page": 0, "offset": 0, "limit": 100,
                                "first": 0, "last": 0, "next": 0, "prev": 0}},
        "links": {"self": {"href": "/netbackup/storage/storage-units"}}
    });
    serde_json::to_vec(&body).expect("serialise the storage page")
}

/// `{data, meta, links}` around 100 records made by `record`.
fn page(record: impl Fn(usize) -> Value, meta: Value) -> Vec<u8> {
    let data: Vec<Value> = (0..100).map(record).collect();
    serde_json::to_vec(&json!({"data": data, "meta": meta, "links": {"self": {"href": "x"}}})).expect("page")
}

fn drives_page() -> Vec<u8> {
    page(
        |i| {
            json!({"type": "drive", "id": format!("drive-{i:03}"), "attributes": {
                "driveType": "DT_HCART3", "driveStatus": if i % 9 == 0 { "DRIVE_STATUS_DOWN" } else { "DRIVE_STATUS_UP" },
                "robotType": "TLD", "robotNumber": i % 4, "deviceHost": "media-01.example.com",
                "driveControl": "TLD", "cleaningComment": "", "tapeAlert1": 0, "tapeAlert2": 0,
                "lastCleaningTime": "2025-01-01T00:00:00.000Z",
                "devicePaths": [{"driveName": format!("drive-{i:03}"), "deviceHost": "media-01.example.com",
                                  "pathStatus": "PATH_STATUS_UP", "isEnabled": true}]}})
        },
        json!({"pagination": {"count": 250, "offset": 0, "limit": 100, "first": 0, "last": 200, "next": 100}}),
    )
}

fn tape_media_page() -> Vec<u8> {
    page(
        |i| {
            json!({"type": "volumeInfo", "id": format!("M{i:05}"), "links": {"self": {"href": "x"}}, "attributes": {
                "barcode": format!("M{i:05}L8"), "mediaType": "HCART3", "volumePool": format!("pool-{}", i % 7),
                "volumeGroup": "000_00000_TLD", "mediaStatus": "ACTIVE MULTIPLEXED", "kiloBytes": 12_000_000_000i64,
                "images": 40, "validImages": 38, "mounts": 120, "maxMounts": 0, "slot": i,
                "lastWritten": "2025-01-01T00:00:00.000Z", "lastRead": "2025-01-01T00:00:00.000Z",
                "volumeExpiration": "2026-01-01T00:00:00.000Z",
                "robot": {"robotType": "TLD", "robotNumber": 0, "robotHost": "media-01.example.com"}}})
        },
        json!({"pagination": {"limit": 100, "next": "opaque-cursor-0100", "rangeTruncated": false}}),
    )
}

fn malware_page() -> Vec<u8> {
    page(
        |i| {
            json!({"type": "scanResult", "id": format!("scan-{i}"), "attributes": {
                "scanState": "SCAN_COMPLETED", "scanResult": "CLEAN", "numberOfFilesScanned": 150_000 + i,
                "totalNumberOfFiles": 150_000 + i, "numberOfFilesImpacted": i % 3, "client": format!("client-{i:03}"),
                "backupTime": 1_735_725_600 + i, "dateOfScan": "2025-01-01T10:00:00.000Z",
                "startDateOfScan": "2025-01-01T09:00:00.000Z", "endDateOfScan": "2025-01-01T10:00:00.000Z",
                "policyType": "STANDARD", "backupType": "FULL", "triggerMethod": "MANUAL", "policyName": "gold",
                "scanContext": "BACKUP", "iaCreateJobId": 0, "iaDisplayName": ""}})
        },
        json!({"pagination": {"count": 350, "pages": 4, "page": 0, "offset": 0, "limit": 100, "first": 0, "last": 300, "next": 100}}),
    )
}

fn bench_decode(c: &mut Criterion) {
    let jobs = jobs_page();
    assert_eq!(decode_jobs_page(&jobs).map(|p| p.jobs.len()), Ok(100));
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(100));
    group.bench_function(format!("jobs_page_100 ({} KiB)", jobs.len() / 1024), |b| {
        b.iter(|| decode_jobs_page(black_box(&jobs)).map(|p| p.jobs.len()))
    });
    let storage = storage_page();
    group.bench_function(format!("storage_page_100 ({} KiB)", storage.len() / 1024), |b| {
        b.iter(|| decode_storage_page(black_box(&storage)).map(|p| p.units.len()))
    });
    let drives = drives_page();
    assert_eq!(decode_drives_page(&drives).map(|p| p.len()), Ok(100));
    group.bench_function(format!("drives_page_100 ({} KiB)", drives.len() / 1024), |b| {
        b.iter(|| decode_drives_page(black_box(&drives)).map(|p| p.len()))
    });
    let media = tape_media_page();
    assert_eq!(decode_tape_media_page(&media).map(|p| p.len()), Ok(100));
    group.bench_function(format!("tape_media_page_100 ({} KiB)", media.len() / 1024), |b| {
        b.iter(|| decode_tape_media_page(black_box(&media)).map(|p| p.len()))
    });
    let malware = malware_page();
    assert_eq!(decode_malware_page(&malware).map(|p| p.len()), Ok(100));
    group.bench_function(format!("malware_page_100 ({} KiB)", malware.len() / 1024), |b| {
        b.iter(|| decode_malware_page(black_box(&malware)).map(|p| p.len()))
    });
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
