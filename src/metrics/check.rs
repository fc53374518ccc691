//! A tiny, strict checker of the text exposition format for tests: what Prometheus would
//! refuse (a sample outside its family, a second HELP or TYPE, a duplicate series, a broken
//! histogram) is an error here. Test-only; it knows nothing of NetBackup.

use std::collections::{BTreeMap, HashMap, HashSet};

pub(crate) struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) struct Parsed {
    /// Family name -> type, in output order of first appearance.
    pub families: Vec<(String, String)>,
    pub samples: Vec<Sample>,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) && !s.is_empty() => {
            s.parse().map_err(|e| format!("bad value {s:?}: {e}"))
        }
        _ => Err(format!("bad value {s:?}")),
    }
}

/// Parses `name{a="x",b="y"} value` into its parts.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..end];
    if !is_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            if !labels.is_empty() {
                rest = rest.strip_prefix(',').ok_or("expected , between labels")?;
            }
            let eq = rest.find('=').ok_or("label without =")?;
            let lname = &rest[..eq];
            if !is_name(lname) || lname.starts_with("__") {
                return Err(format!("bad label name {lname:?}"));
            }
            rest = rest[eq + 1..].strip_prefix('"').ok_or("label value not quoted")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let close = loop {
                match chars.next() {
                    None => return Err("unterminated label value".into()),
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => return Err(format!("bad escape {other:?}")),
                    },
                    Some((_, '\n')) => return Err("raw newline in label value".into()),
                    Some((_, c)) => value.push(c),
                }
            };
            rest = &rest[close + 1..];
            if labels.iter().any(|(n, _): &(String, String)| n == lname) {
                return Err(format!("label {lname} twice"));
            }
            labels.push((lname.to_string(), value));
        }
    }
    let rest = rest
        .strip_prefix(' ')
        .ok_or("expected one space before the value")?;
    let mut parts = rest.split(' ');
    let value = parse_value(parts.next().ok_or("no value")?)?;
    if let Some(ts) = parts.next() {
        ts.parse::<i64>().map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if parts.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

fn belongs(sample: &str, family: &str, kind: &str) -> bool {
    if sample == family {
        return kind != "histogram";
    }
    let Some(suffix) = sample.strip_prefix(family) else {
        return false;
    };
    match kind {
        "histogram" => matches!(suffix, "_bucket" | "_sum" | "_count"),
        "summary" => matches!(suffix, "_sum" | "_count"),
        _ => false,
    }
}

/// Checks a whole exposition; returns its families and samples.
pub(crate) fn check(text: &str) -> Result<Parsed, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("output does not end with a newline".into());
    }
    let mut families: Vec<(String, String)> = Vec::new();
    let mut seen_family: HashSet<String> = HashSet::new();
    let mut help_for: Option<String> = None;
    let mut current: Option<(String, String)> = None;
    let mut samples = Vec::new();
    let mut series: HashSet<String> = HashSet::new();

    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            if !is_name(name) || seen_family.contains(name) || help_for.is_some() {
                return Err(at("HELP repeated, misplaced or badly named".into()));
            }
            help_for = Some(name.to_string());
            current = None;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| at("TYPE without kind".into()))?;
            if help_for.as_deref() != Some(name) {
                return Err(at("TYPE not right after its HELP".into()));
            }
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at(format!("unknown type {kind}")));
            }
            help_for = None;
            seen_family.insert(name.to_string());
            families.push((name.to_string(), kind.to_string()));
            current = Some((name.to_string(), kind.to_string()));
        } else if line.starts_with('#') || line.is_empty() {
            return Err(at("unexpected comment or empty line".into()));
        } else {
            let sample = parse_sample(line).map_err(at)?;
            match &current {
                Some((family, kind)) if belongs(&sample.name, family, kind) => {}
                _ => return Err(at("sample outside its family's HELP/TYPE block".into())),
            }
            let mut labels = sample.labels.clone();
            labels.sort();
            let key = format!("{}{:?}", sample.name, labels);
            if !series.insert(key) {
                return Err(at("duplicate series".into()));
            }
            samples.push(sample);
        }
    }
    if help_for.is_some() {
        return Err("HELP without TYPE at the end".into());
    }
    check_histograms(&families, &samples)?;
    Ok(Parsed { families, samples })
}

/// Buckets cumulative with increasing `le`, the last one `+Inf` and equal to `_count`.
fn check_histograms(families: &[(String, String)], samples: &[Sample]) -> Result<(), String> {
    for (family, _) in families.iter().filter(|(_, k)| k == "histogram") {
        // Label set without `le` -> (le, value) in output order.
        let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        let mut counts: HashMap<String, f64> = HashMap::new();
        let mut sums: HashSet<String> = HashSet::new();
        let key = |s: &Sample| {
            let l: Vec<_> = s.labels.iter().filter(|(n, _)| n != "le").collect();
            format!("{l:?}")
        };
        for s in samples {
            if s.name == format!("{family}_bucket") {
                let le = parse_value(s.label("le").ok_or("bucket without le")?)?;
                buckets.entry(key(s)).or_default().push((le, s.value));
            } else if s.name == format!("{family}_count") {
                counts.insert(key(s), s.value);
            } else if s.name == format!("{family}_sum") {
                sums.insert(key(s));
            }
        }
        for (labels, b) in &buckets {
            for pair in b.windows(2) {
                if pair[1].0 <= pair[0].0 || pair[1].1 < pair[0].1 {
                    return Err(format!("{family}{labels}: buckets not cumulative: {b:?}"));
                }
            }
            let last = b.last().ok_or("no buckets")?;
            if last.0 != f64::INFINITY || Some(&last.1) != counts.get(labels) {
                return Err(format!("{family}{labels}: +Inf bucket missing or != _count"));
            }
            if !sums.contains(labels) {
                return Err(format!("{family}{labels}: no _sum"));
            }
        }
        if counts.len() != buckets.len() {
            return Err(format!("{family}: _count without buckets"));
        }
    }
    Ok(())
}

#[test]
fn checker_rejects_what_prometheus_rejects() {
    let ok = "# HELP a x\n# TYPE a gauge\na{s=\"1\"} 1\na{s=\"2\"} 2\n";
    assert!(check(ok).is_ok());
    let h =
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
    assert!(check(h).is_ok());
    for bad in [
        "# HELP a x\n# TYPE a gauge\na{s=\"1\"} 1\na{s=\"1\"} 2\n",
        "a 1\n",
        "# HELP a x\n# TYPE a gauge\n# HELP a x\n# TYPE a gauge\n",
        "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\na 1\n",
        "# HELP a x\n# TYPE a gauge\na{s=\"x} 1\n",
        "# HELP a x\n# TYPE a gauge\na{s=\"\\t\"} 1\n",
        "# HELP a x\n# TYPE a gauge\na one\n",
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 3\nh_count 1\n",
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 3\n",
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 3\nh_count 1\n",
    ] {
        assert!(check(bad).is_err(), "{bad}");
    }
}
