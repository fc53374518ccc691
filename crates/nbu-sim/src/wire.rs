//! The wire form of one record: a job or a storage unit as NetBackup's JSON:API-style
//! resource (`{type, id, links, attributes, ...}`, about 60 job attributes derived from the
//! few a `SimJob` stores), written straight into a `String` because pages are rendered by
//! the hundred thousand.
//!
//! It knows the records (`data`) and time text (`time`), nothing of paging or HTTP.

use std::fmt::Write as _;

use serde_json::Value;

use crate::data::{SimJob, SimStorageUnit, NO_TIME};
use crate::time::{format_rfc3339_millis, UnixMillis};

/// An ISO 8601 duration such as `PT1H2M3S` (`PT0S` for zero or negative).
pub(crate) fn iso_duration(millis: i64) -> String {
    let secs = millis.max(0) / 1000;
    if secs == 0 {
        return "PT0S".to_string();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 {
        out.push_str(&format!("{s}S"));
    }
    out
}

fn time_text(t: Option<UnixMillis>) -> String {
    t.map_or_else(|| NO_TIME.to_string(), format_rfc3339_millis)
}

/// The `lastUpdateTime` of a job: the one it carries, else its end, else `now` while it is
/// unfinished (a running or waiting job of a static dataset is updated all the time).
pub(crate) fn last_update(job: &SimJob, now: UnixMillis) -> UnixMillis {
    job.last_update.or(job.end_time).unwrap_or(now)
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON object written straight into a `String`: records are rendered by the
/// hundred thousand, and building `serde_json::Value` maps is far too slow for that in an
/// unoptimised test build.
pub(crate) struct JsonObject<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    pub(crate) fn new(out: &'a mut String) -> JsonObject<'a> {
        out.push('{');
        JsonObject { out, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_json_str(self.out, key);
        self.out.push(':');
        self.out
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        push_json_str(self.key(key), value);
        self
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) -> &mut Self {
        let out = self.key(key);
        let _ = write!(out, "{value}");
        self
    }

    pub(crate) fn num(&mut self, key: &str, value: f64) -> &mut Self {
        let out = self.key(key);
        if value.is_finite() {
            // serde_json's float text (shortest round-trip form).
            out.push_str(&Value::from(value).to_string());
        } else {
            out.push_str("null");
        }
        self
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// `value` must already be JSON text.
    pub(crate) fn raw(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).push_str(value);
        self
    }

    /// A nested object filled by `fill`.
    pub(crate) fn obj(&mut self, key: &str, fill: impl FnOnce(&mut JsonObject<'_>)) -> &mut Self {
        let out = self.key(key);
        let mut inner = JsonObject::new(out);
        fill(&mut inner);
        inner.end();
        self
    }

    /// `{"href": value}`.
    pub(crate) fn href(&mut self, key: &str, value: &str) -> &mut Self {
        self.obj(key, |o| {
            o.str("href", value);
        })
    }

    pub(crate) fn end(&mut self) {
        self.out.push('}');
    }
}

/// Appends the wire form of one job: `{type, id, links, meta.page.cursor, attributes}`.
/// `base` is the `.../netbackup` URL prefix for links; `now` drives the times of
/// unfinished jobs.
pub(crate) fn write_job(out: &mut String, job: &SimJob, cursor: &str, now: UnixMillis, base: &str) {
    let id = job.job_id;
    let state = job.state.as_str();
    let done = state == "DONE" || job.end_time.is_some();
    let active = state == "ACTIVE";
    let queued = state == "QUEUED" || state == "REQUEUED";
    let kb = job.kilobytes_transferred;
    let elapsed = match (job.start_time, job.end_time) {
        (Some(s), Some(e)) => e.saturating_sub(s),
        (Some(s), None) if active => now.saturating_sub(s),
        _ => 0,
    };
    let kb_to_transfer = if done { kb } else { kb.saturating_mul(2) };
    let percent = if done {
        100
    } else if kb_to_transfer > 0 {
        kb.saturating_mul(100) / kb_to_transfer
    } else {
        0
    };
    let transfer_rate = if elapsed >= 1000 { kb / (elapsed / 1000) } else { 0 };
    let scheduled = matches!(job.job_type.as_str(), "BACKUP" | "DBBACKUP" | "SNAPSHOT");
    let schedule_name = match (scheduled, job.schedule_type.as_str()) {
        (false, _) => "",
        (true, "FULL_BACKUP") => "full",
        (true, "DIFFERENTIAL_INCREMENTAL_BACKUP") => "incr",
        (true, "CUMULATIVE_INCREMENTAL_BACKUP") => "cinc",
        (true, _) => "user",
    };
    let copies = matches!(job.job_type.as_str(), "DUPLICATE" | "REPLICATE" | "RESTORE");
    let stu = ["stu-disk-01", "stu-msdp-01"][(id.rem_euclid(2)) as usize];
    let media_server = "media01.sim.example";
    let backup_id = match (scheduled && done && job.status <= 1, job.start_time) {
        (true, Some(start)) => format!("{}_{}", job.client_name, start.div_euclid(1000)),
        _ => String::new(),
    };
    let job_path = if job.parent_job_id != 0 {
        format!("{}.{}", job.parent_job_id, id)
    } else {
        id.to_string()
    };
    let pick = |yes: bool, a: &'static str| if yes { a } else { "" };
    let href = format!("{base}/admin/jobs/{id}");

    let mut o = JsonObject::new(out);
    o.str("type", "job").str("id", &id.to_string());
    o.obj("links", |l| {
        l.href("self", &href)
            .href("file-lists", &format!("{href}/file-lists"))
            .href("try-logs", &format!("{href}/try-logs"));
    });
    o.obj("meta", |m| {
        m.obj("page", |p| {
            p.str("cursor", cursor);
        });
    });
    o.obj("attributes", |a| {
        a.int("jobId", id)
            .int("parentJobId", job.parent_job_id)
            .str("jobPath", &job_path)
            .int("childCount", 0)
            .int(
                "activeProcessId",
                if active { 10_000 + id.rem_euclid(50_000) } else { 0 },
            )
            .str("jobType", &job.job_type)
            .str(
                "jobSubType",
                if scheduled && !job.policy_name.is_empty() {
                    "SCHEDULED"
                } else {
                    "IMMEDIATE"
                },
            )
            .str("policyType", &job.policy_type)
            .str("policyName", &job.policy_name)
            .str("scheduleType", &job.schedule_type)
            .str("scheduleName", schedule_name)
            .str("clientName", &job.client_name)
            .str("controlHost", "nbu-primary.sim.example")
            .str("jobOwner", "root")
            .str("jobGroup", "root")
            .str("backupId", &backup_id)
            .str("sourceMediaId", "")
            .str("sourceStorageUnitName", if copies { stu } else { "" })
            .str("sourceMediaServerName", pick(copies, media_server))
            .str("destinationMediaId", "")
            .str("destinationStorageUnitName", if copies { "" } else { stu })
            .str("destinationMediaServerName", pick(!copies, media_server))
            .str("dataMovement", "STANDARD")
            .int("streamNumber", 0)
            .int("copyNumber", 1)
            .int("priority", 0)
            .int("compression", 0)
            .int("status", job.status)
            .str("state", state)
            .int("numberOfFiles", job.number_of_files)
            .int(
                "estimatedFiles",
                if done {
                    job.number_of_files
                } else {
                    job.number_of_files.saturating_mul(2)
                },
            )
            .int("kilobytesTransferred", kb)
            .int("kilobytesDataTransferred", kb / 100 * 95)
            .int("kilobytesToTransfer", kb_to_transfer)
            .int("transferRate", transfer_rate)
            .int("percentComplete", percent)
            .int("restartable", i64::from(done && job.status > 1))
            .int("suspendable", i64::from(active))
            .int("resumable", 0)
            .int("cancellable", i64::from(active || queued))
            .int("frozenImage", 0)
            .str("transportType", "LAN");
        if let Some(ratio) = job.dedup_ratio {
            a.num("dedupRatio", ratio);
        }
        a.int("currentOperation", if active { 14 } else { 0 })
            .int("sessionId", id / 10 + 1)
            .int("numberOfTapeToEject", 0)
            .int("submissionType", 0)
            .int("acceleratorOptimization", 0)
            .str("dumpHost", "")
            .str("instanceDatabaseName", "")
            .str("auditUserName", "root")
            .str("auditDomainName", "")
            .int("auditDomainType", 0)
            .str("restoreBackupIDs", "")
            .str("startTime", &time_text(job.start_time))
            .str("endTime", &time_text(job.end_time))
            .str(
                "activeTryStartTime",
                &time_text(if queued { None } else { job.start_time }),
            )
            .str("lastUpdateTime", &format_rfc3339_millis(last_update(job, now)))
            .str("initiatorId", "root")
            .int("retentionLevel", 1)
            .int("try", if done && job.status > 1 { 2 } else { 1 });
        if let Some(reason) = job.job_queue_reason {
            a.int("jobQueueReason", reason);
        }
        let elapsed = iso_duration(elapsed);
        a.str("jobQueueResource", pick(queued, stu))
            .str("elapsedTime", &elapsed)
            .str("activeElapsedTime", &elapsed)
            .str("offHostType", "STANDARD");
    });
    o.end();
}

fn storage_category(unit: &SimStorageUnit) -> &'static str {
    if unit.is_tape() {
        return "TAPE";
    }
    match unit.storage_sub_type.as_str() {
        "CloudCatalyst" => "CLOUD_CATALYST",
        _ if unit.is_cloud || unit.storage_type.eq_ignore_ascii_case("cloud") => "CLOUD",
        "PureDisk" => "MSDP",
        "AdvancedDisk" => "ADVANCED_DISK",
        "BasicDisk" => "BASIC_DISK",
        _ => "OPEN_STORAGE",
    }
}

/// Appends the wire form of one storage unit:
/// `{type, id, links, attributes, relationships}`.
pub(crate) fn write_storage_unit(out: &mut String, unit: &SimStorageUnit, base: &str) {
    let tape = unit.is_tape();
    let mut o = JsonObject::new(out);
    o.str("type", "storageUnit").str("id", &unit.name);
    o.obj("links", |l| {
        l.href("self", &format!("{base}/storage/storage-units/{}", unit.name));
    });
    o.obj("attributes", |a| {
        a.str("name", &unit.name)
            .str("storageType", &unit.storage_type)
            .str("storageSubType", &unit.storage_sub_type)
            .str("storageServerType", &unit.storage_server_type)
            .str("storageCategory", storage_category(unit));
        let optional = [
            ("freeCapacityBytes", unit.free_capacity_bytes),
            ("usedCapacityBytes", unit.used_capacity_bytes),
            ("totalCapacityBytes", unit.total_capacity_bytes),
            (
                if tape {
                    "maxConcurrentDrives"
                } else {
                    "maxConcurrentJobs"
                },
                unit.max_concurrent_jobs,
            ),
            ("maxFragmentSizeMegabytes", unit.max_fragment_size_megabytes),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                a.int(key, v);
            }
        }
        a.bool("isCloudSTU", unit.is_cloud)
            .bool("wormCapable", unit.worm_capable)
            .bool("useWorm", unit.use_worm)
            .bool("replicationCapable", unit.replication_capable)
            .bool("replicationSourceCapable", unit.replication_capable)
            .bool("replicationTargetCapable", unit.replication_capable)
            .bool("instantAccessEnabled", unit.instant_access_enabled)
            .bool("accelerator", !tape && !unit.is_cloud)
            .bool("onDemandOnly", tape)
            .bool("useAnyAvailableMediaServer", !tape)
            .bool("snapshot", false)
            .bool("mirror", false)
            .bool("independent", false)
            .bool("primary", false)
            .bool("scaleOutEnabled", false);
        if tape {
            a.str("robotType", "TLD")
                .int("robotNumber", 0)
                .str("density", &unit.storage_sub_type)
                .int("multiplexing", 1);
        }
        a.raw(
            "mediaServerDetails",
            r#"[{"name":"media01.sim.example","operatingSystem":"linux","netbackupVersion":"11.0"}]"#,
        );
    });
    o.obj("relationships", |r| {
        if !tape {
            let pool = format!("dp-{}", unit.name);
            r.obj("diskPool", |d| {
                d.obj("links", |l| {
                    l.href("related", &format!("{base}/storage/disk-pools/{pool}"));
                })
                .obj("data", |p| {
                    p.str("type", "diskPool").str("id", &pool);
                });
            });
        }
    });
    o.end();
}

/// [`write_job`] as a `Value` (tests and small pages).
#[cfg(test)]
pub(crate) fn job_resource(job: &SimJob, cursor: &str, now: UnixMillis, base: &str) -> Value {
    let mut out = String::new();
    write_job(&mut out, job, cursor, now, base);
    serde_json::from_str(&out).expect("job JSON")
}

/// [`write_storage_unit`] as a `Value`.
#[cfg(test)]
pub(crate) fn storage_unit_resource(unit: &SimStorageUnit, base: &str) -> Value {
    let mut out = String::new();
    write_storage_unit(&mut out, unit, base);
    serde_json::from_str(&out).expect("storage unit JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SimData, MINUTE};

    const NOW: UnixMillis = 1_750_000_000_000;

    #[test]
    fn job_wire_form() {
        let data = SimData::known(NOW);
        let done = job_resource(&data.jobs[3], "c", NOW, "http://h/netbackup");
        assert_eq!(done["type"], "job");
        assert_eq!(done["id"], "104");
        assert_eq!(done["meta"]["page"]["cursor"], "c");
        assert_eq!(done["links"]["self"]["href"], "http://h/netbackup/admin/jobs/104");
        let a = &done["attributes"];
        assert!(
            a.as_object().unwrap().len() >= 40,
            "{}",
            a.as_object().unwrap().len()
        );
        assert_eq!(a["kilobytesTransferred"], 3_000_000_000i64);
        assert_eq!(a["dedupRatio"], 10.0);
        assert_eq!(a["elapsedTime"], "PT30M");
        assert_eq!(a["startTime"], format_rfc3339_millis(NOW - 55 * MINUTE));
        assert!(a.get("jobQueueReason").is_none());

        let queued = job_resource(&data.jobs[11], "c", NOW, "");
        let a = &queued["attributes"];
        assert_eq!(a["endTime"], NO_TIME);
        assert_eq!(a["jobQueueReason"], 1);
        assert!(a.get("dedupRatio").is_none());
        assert_eq!(a["lastUpdateTime"], format_rfc3339_millis(NOW));
    }

    #[test]
    fn storage_wire_form() {
        let data = SimData::known(NOW);
        let by_name = |n: &str| data.storage_units.iter().find(|u| u.name == n).unwrap();
        let disk = storage_unit_resource(by_name("stu-disk-01"), "http://h/netbackup");
        assert_eq!(disk["type"], "storageUnit");
        assert_eq!(disk["id"], "stu-disk-01");
        assert_eq!(disk["attributes"]["freeCapacityBytes"], 4_398_046_511_104i64);
        assert_eq!(disk["attributes"]["maxConcurrentJobs"], 20);
        assert_eq!(disk["attributes"]["storageCategory"], "ADVANCED_DISK");
        assert_eq!(disk["relationships"]["diskPool"]["data"]["id"], "dp-stu-disk-01");
        let cloud = storage_unit_resource(by_name("stu-cloud-01"), "");
        assert!(cloud["attributes"].get("freeCapacityBytes").is_none());
        assert_eq!(cloud["attributes"]["isCloudSTU"], true);
        let tape = storage_unit_resource(by_name("stu-tape-02"), "");
        assert_eq!(tape["attributes"]["maxConcurrentDrives"], 2);
        assert!(tape["attributes"].get("maxConcurrentJobs").is_none());
    }

    #[test]
    fn iso_durations() {
        for (ms, want) in [
            (0, "PT0S"),
            (-5, "PT0S"),
            (30_000, "PT30S"),
            (3_600_000, "PT1H"),
            (3_723_000, "PT1H2M3S"),
        ] {
            assert_eq!(iso_duration(ms), want);
        }
    }

    #[test]
    fn extreme_values_render_valid_json() {
        let mut job = SimData::known(NOW).jobs[0].clone();
        for (value, time) in [(i64::MAX, Some(i64::MAX)), (i64::MIN, Some(i64::MIN)), (0, None)] {
            job.job_id = value;
            job.parent_job_id = value;
            job.kilobytes_transferred = value;
            job.number_of_files = value;
            job.start_time = time;
            job.end_time = time.map(|t| t / 2);
            job.dedup_ratio = Some(f64::NAN);
            job.client_name = "quote\" back\\slash \u{1} tab\t é".to_string();
            for state in ["DONE", "ACTIVE", "QUEUED"] {
                job.state = state.to_string();
                let v = job_resource(&job, "c\"", i64::MAX, "b");
                assert_eq!(v["attributes"]["clientName"], job.client_name.as_str());
                assert!(v["attributes"]["dedupRatio"].is_null());
            }
        }
    }
}
