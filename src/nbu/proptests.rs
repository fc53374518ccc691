//! Property tests of the page decoders (proptest): arbitrary bytes and mutated valid
//! `/admin/jobs` and `/storage/storage-units` pages never panic `decode_jobs_page` or
//! `decode_storage_page`, and a page whose shape is right (an object whose `data` is
//! absent, null or an array) always decodes, keeping exactly its object records.
//!
//! Case counts are set explicitly to keep the suite fast on 2 cores. It must not test
//! field-by-field decoding: the table-driven tests in `decode.rs`, `jobs.rs` and
//! `storage.rs` do.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Map, Value};

use super::{decode_jobs_page, decode_storage_page};

fn job(i: i64) -> Value {
    json!({
        "type": "job",
        "id": (1000 + i).to_string(),
        "attributes": {
            "jobId": 1000 + i,
            "jobType": "BACKUP",
            "policyType": "VMWARE",
            "state": if i % 2 == 0 { "DONE" } else { "ACTIVE" },
            "status": i % 3,
            "kilobytesTransferred": 1024 * i,
            "numberOfFiles": i,
            "dedupRatio": 2.5,
            "startTime": "2025-01-01T10:00:00.123Z",
            "endTime": "2025-01-01T10:05:00Z",
            "jobQueueReason": 0,
            "clientName": "client.example.com"
        }
    })
}

fn unit(i: i64) -> Value {
    json!({
        "type": "storageUnit",
        "id": format!("stu-{i}"),
        "attributes": {
            "name": format!("stu-{i}"),
            "storageType": if i % 3 == 0 { "Tape" } else { "DISK" },
            "storageSubType": "PureDisk",
            "storageServerType": "PureDisk",
            "freeCapacityBytes": 1_099_511_627_776_i64,
            "usedCapacityBytes": "5497558138880",
            "totalCapacityBytes": 6_597_069_766_656_i64,
            "maxConcurrentJobs": 20,
            "maxFragmentSizeMegabytes": 51200,
            "isCloudSTU": false,
            "wormCapable": "true",
            "useWorm": 0,
            "replicationCapable": 1,
            "instantAccessEnabled": true
        }
    })
}

fn jobs_page(n: usize) -> Value {
    json!({
        "data": (0..n as i64).map(job).collect::<Vec<_>>(),
        "meta": {"pagination": {"next": "eyJvZmZzZXQiOjEwMH0", "limit": 100}},
        "links": {"self": {"href": "/admin/jobs"}}
    })
}

fn storage_page(n: usize) -> Value {
    json!({
        "data": (0..n as i64).map(unit).collect::<Vec<_>>(),
        "meta": {"pagination": {"count": n, "offset": 0, "limit": 100}}
    })
}

/// Any JSON value, a few levels deep, with the edge numbers and strings decoders meet.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        proptest::sample::select(vec![
            "",
            " 7 ",
            "1e30",
            "-1e400",
            "NaN",
            "inf",
            "true",
            "TRUE",
            "0001-01-01T00:00:00Z",
            "2025-13-45T99:99:99Z",
            "9999-12-31T23:59:60.999999+23:59",
            "2025-01-01T10:00:00.Z",
            "2025-01-01T10:00:00+0",
            "\u{0}",
            "\u{10ffff}",
            "Tape",
            "tApE",
        ])
        .prop_map(|s| Value::from(s.to_owned())),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[a-zA-Z]{0,12}", inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

#[derive(Clone, Debug)]
enum Edit {
    /// Replace a node with any value.
    Replace(Index, Value),
    /// Remove a node from its parent.
    Remove(Index),
    /// Add a key to an object node (an attribute name or any name).
    AddKey(Index, String, Value),
}

fn edit() -> impl Strategy<Value = Edit> {
    let name = prop_oneof![
        proptest::sample::select(vec![
            "data",
            "meta",
            "pagination",
            "next",
            "count",
            "id",
            "attributes",
            "jobId",
            "state",
            "status",
            "startTime",
            "endTime",
            "dedupRatio",
            "name",
            "storageType",
            "freeCapacityBytes",
            "isCloudSTU",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,8}",
    ];
    prop_oneof![
        3 => (any::<Index>(), any_json()).prop_map(|(i, v)| Edit::Replace(i, v)),
        1 => any::<Index>().prop_map(Edit::Remove),
        2 => (any::<Index>(), name, any_json()).prop_map(|(i, k, v)| Edit::AddKey(i, k, v)),
    ]
}

/// Paths to every node below the root: object keys and array indices.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    At(usize),
}

fn paths(root: &Value) -> Vec<Vec<Step>> {
    fn walk(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        let children: Vec<(Step, &Value)> = match v {
            Value::Object(m) => m.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
            Value::Array(a) => a.iter().enumerate().map(|(i, v)| (Step::At(i), v)).collect(),
            _ => Vec::new(),
        };
        for (step, child) in children {
            prefix.push(step);
            out.push(prefix.clone());
            walk(child, prefix, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    walk(root, &mut Vec::new(), &mut out);
    out
}

fn at_mut<'v>(root: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(root, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::At(i) => v.get_mut(*i),
    })
}

impl Edit {
    fn apply(&self, root: &mut Value) {
        let all = paths(root);
        let pick = |i: &Index| (!all.is_empty()).then(|| i.get(&all).clone());
        match self {
            Edit::Replace(i, value) => match pick(i) {
                Some(path) => {
                    if let Some(node) = at_mut(root, &path) {
                        *node = value.clone();
                    }
                }
                None => *root = value.clone(),
            },
            Edit::Remove(i) => {
                let Some(path) = pick(i) else { return };
                let (last, parent) = path.split_last().expect("below the root");
                match (at_mut(root, parent), last) {
                    (Some(Value::Object(m)), Step::Key(k)) => {
                        m.remove(k);
                    }
                    (Some(Value::Array(a)), Step::At(n)) => {
                        a.remove(*n);
                    }
                    _ => {}
                }
            }
            Edit::AddKey(i, key, value) => {
                let target = match pick(i) {
                    Some(path) => at_mut(root, &path),
                    None => Some(root),
                };
                if let Some(Value::Object(m)) = target {
                    m.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

/// Byte-level damage to a serialised page.
#[derive(Clone, Debug)]
enum Damage {
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Replace(Index, u8),
    /// Wrap the page in `n` arrays or objects: deep nesting.
    Nest(usize, bool),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<Index>().prop_map(Damage::Truncate),
        (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(i, b)| Damage::Insert(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Replace(i, b)),
        (1usize..2000, any::<bool>()).prop_map(|(n, list)| Damage::Nest(n, list)),
    ]
}

impl Damage {
    fn apply(&self, bytes: &mut Vec<u8>) {
        match self {
            Damage::Truncate(i) => bytes.truncate(i.index(bytes.len() + 1)),
            Damage::Insert(i, new) => {
                let at = i.index(bytes.len() + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Damage::Replace(i, b) => {
                if !bytes.is_empty() {
                    let at = i.index(bytes.len());
                    bytes[at] = *b;
                }
            }
            Damage::Nest(n, list) => {
                let (open, close): (&[u8], &[u8]) = if *list {
                    (b"[", b"]")
                } else {
                    (b"{\"data\":", b"}")
                };
                let mut nested = open.repeat(*n);
                nested.append(bytes);
                nested.extend(close.repeat(*n));
                *bytes = nested;
            }
        }
    }
}

/// Whether a decoder must accept this page: an object whose `data` is absent, null or an
/// array (the values inside never fail a page), and how many records it keeps.
fn expected_records(page: &Value) -> Option<usize> {
    let object = page.as_object()?;
    match object.get("data") {
        None | Some(Value::Null) => Some(0),
        Some(Value::Array(items)) => Some(items.iter().filter(|v| v.is_object()).count()),
        Some(_) => None,
    }
}

fn decode_both(bytes: &[u8]) {
    let _ = decode_jobs_page(bytes);
    let _ = decode_storage_page(bytes);
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Arbitrary bytes never panic either decoder.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_both(&bytes);
    }

    /// A valid page with random edits of its tree: never a panic, and a page of the right
    /// shape decodes with one record per object in `data`.
    #[test]
    fn edited_pages_decode_by_shape(
        jobs in any::<bool>(),
        n in 0usize..6,
        edits in proptest::collection::vec(edit(), 0..6),
    ) {
        let mut page = if jobs { jobs_page(n) } else { storage_page(n) };
        for e in &edits {
            e.apply(&mut page);
        }
        let bytes = serde_json::to_vec(&page).expect("serialise");
        let expected = expected_records(&page);
        let jobs_result = decode_jobs_page(&bytes);
        let storage_result = decode_storage_page(&bytes);
        match expected {
            Some(n) => {
                let jobs_page = jobs_result.map_err(|e| TestCaseError::fail(format!("jobs page refused: {e}\n{page}")))?;
                prop_assert_eq!(jobs_page.jobs.len(), n);
                if let Some(next) = &jobs_page.next {
                    prop_assert!(!next.trim().is_empty());
                }
                let storage_page = storage_result.map_err(|e| TestCaseError::fail(format!("storage page refused: {e}\n{page}")))?;
                prop_assert_eq!(storage_page.units.len(), n);
                prop_assert_eq!(storage_page.returned, n);
            }
            None => {
                prop_assert!(jobs_result.is_err(), "jobs page of the wrong shape accepted: {}", page);
                prop_assert!(storage_result.is_err(), "storage page of the wrong shape accepted: {}", page);
            }
        }
    }

    /// A valid page with byte-level damage (truncation, garbage, deep nesting) never
    /// panics either decoder; an error names its kind.
    #[test]
    fn damaged_pages_never_panic(
        jobs in any::<bool>(),
        n in 0usize..4,
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let page = if jobs { jobs_page(n) } else { storage_page(n) };
        let mut bytes = serde_json::to_vec(&page).expect("serialise");
        for d in &damages {
            d.apply(&mut bytes);
        }
        let errors = [decode_jobs_page(&bytes).err(), decode_storage_page(&bytes).err()];
        for e in errors.into_iter().flatten() {
            prop_assert!(e.starts_with("not JSON") || e.starts_with("unexpected JSON shape"), "{}", e);
        }
    }
}
