//! The raw mirror of the YAML file: which sections and keys the user wrote, with each
//! value kept as written (a [`Leaf`]). It owns the schema's shape: the list of known keys
//! in every section, unknown-key problems (with "did you mean" hints), YAML syntax errors
//! with line and column, and sections that are not mappings or lists.
//!
//! It must not interpret values: no `${VAR}` expansion, no type or range checks, no
//! defaults. That is `validate`'s job, which runs after expansion so `port: "${PORT}"`
//! works. It walks only the known structure, so deeply nested input cannot recurse it.

use serde_yaml::Value;

use super::suggest;
use super::Problem;

/// A value as written, before expansion. YAML `null` (or an empty value) never reaches
/// a field: a key set to null counts as absent.
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    Null,
    Bool(bool),
    Int(i128),
    /// A non-integer number, as YAML text (`13.0`, `.inf`).
    Float(String),
    Str(String),
    /// A list of scalars; a list nested in it is kept as an empty `List`.
    List(Vec<Leaf>),
    /// A mapping where a value was expected; its content is not kept.
    Map,
}

impl Leaf {
    /// "a list", "a mapping": for "expected ..., got ..." messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Leaf::Null => "null",
            Leaf::Bool(_) => "a boolean",
            Leaf::Int(_) | Leaf::Float(_) => "a number",
            Leaf::Str(_) => "a string",
            Leaf::List(_) => "a list",
            Leaf::Map => "a mapping",
        }
    }
}

pub type Field = Option<Leaf>;

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawConfig {
    pub server: RawServer,
    pub reload: RawReload,
    /// The legacy single-server block.
    pub nbuserver: Section<RawSite>,
    pub nbuservers: Section<Vec<RawSite>>,
    /// `collectors.<name>.<key>` settings, in file order.
    pub collectors: Vec<CollectorSetting>,
    /// Accepted settings this build does not act on (`opentelemetry.*`).
    pub inert: Vec<InertSetting>,
}

/// A section that may be absent, present, or present with the wrong shape (already
/// reported as a problem).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Section<T> {
    #[default]
    Absent,
    Invalid,
    Present(T),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawServer {
    pub host: Field,
    pub port: Field,
    pub uri: Field,
    pub scraping_interval: Field,
    pub jobs_resync_interval: Field,
    pub collection_interval: Field,
    pub collection_timeout: Field,
    pub log_name: Field,
    pub log_level: Field,
    pub log_format: Field,
    pub enable_lifecycle: Field,
    pub cache_ttl: Field,
    pub web_config_file: Field,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawReload {
    pub debounce: Field,
    pub poll_interval: Field,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawSite {
    /// Where it was written: `nbuserver` or `nbuservers[3]`.
    pub path: String,
    pub site: Field,
    pub scheme: Field,
    pub host: Field,
    pub port: Field,
    pub uri: Field,
    pub api_key: Field,
    pub api_key_file: Field,
    pub api_version: Field,
    pub insecure_skip_verify: Field,
    pub ca_file: Field,
    pub timeout: Field,
    pub domain: Field,
    pub domain_type: Field,
    pub content_type: Field,
}

/// One `collectors.<section>.<key>` setting the user wrote (`validate` gives it meaning).
#[derive(Clone, Debug, PartialEq)]
pub struct CollectorSetting {
    /// `alerts`, `malware`, `catalog`, `slo`, `tape` or `perClient`.
    pub section: &'static str,
    /// `enabled`, `interval`, `window` or `allowlist`.
    pub key: &'static str,
    pub value: Leaf,
}

impl CollectorSetting {
    /// `collectors.<section>.<key>`.
    pub fn path(&self) -> String {
        format!("collectors.{}.{}", self.section, self.key)
    }
}

/// What an inert setting must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InertKind {
    Bool,
    Text,
    Number,
}

/// One `opentelemetry.*` setting the user wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct InertSetting {
    pub path: String,
    pub kind: InertKind,
    pub value: Leaf,
}

const TOP_KEYS: &[&str] = &[
    "server",
    "reload",
    "nbuserver",
    "nbuservers",
    "collectors",
    "opentelemetry",
];

const SERVER_KEYS: &[&str] = &[
    "host",
    "port",
    "uri",
    "scrapingInterval",
    "jobsResyncInterval",
    "collectionInterval",
    "collectionTimeout",
    "logName",
    "logLevel",
    "logFormat",
    "enableLifecycle",
    "cacheTTL",
    "webConfigFile",
];

const RELOAD_KEYS: &[&str] = &["debounce", "pollInterval"];

const SITE_KEYS: &[&str] = &[
    "site",
    "scheme",
    "host",
    "port",
    "uri",
    "apiKey",
    "apiKeyFile",
    "apiVersion",
    "insecureSkipVerify",
    "caFile",
    "timeout",
    "domain",
    "domainType",
    "contentType",
];

/// `collectors.<name>` sub-sections and their keys: the Go exporter's `enabled` and
/// `allowlist`, plus our `interval` and `window`.
const COLLECTORS: &[(&str, &[&str])] = &[
    ("alerts", &["enabled", "interval"]),
    ("malware", &["enabled", "interval", "window"]),
    ("catalog", &["enabled", "interval", "window"]),
    ("slo", &["enabled", "interval"]),
    ("tape", &["enabled", "interval"]),
    ("perClient", &["enabled", "interval", "allowlist"]),
];

const OPENTELEMETRY: &[(&str, InertKind)] = &[
    ("enabled", InertKind::Bool),
    ("endpoint", InertKind::Text),
    ("insecure", InertKind::Bool),
    ("samplingRate", InertKind::Number),
];

/// Parses YAML bytes into the raw mirror. `Err` holds the one problem that stops
/// everything (syntax error, empty file, not a mapping); `Ok` holds the mirror and the
/// shape problems found on the way, all of them.
pub fn parse(bytes: &[u8]) -> Result<(RawConfig, Vec<Problem>), Problem> {
    let mut doc: Value = serde_yaml::from_slice(bytes).map_err(|e| syntax_problem(&e))?;
    doc.apply_merge()
        .map_err(|e| Problem::new("", format!("invalid YAML merge key (<<): {e}")))?;
    match doc {
        Value::Null => {
            return Err(Problem::new(
                "",
                "config is empty (expected at least an nbuservers section)",
            ))
        }
        Value::Mapping(_) => {}
        other => {
            return Err(Problem::new(
                "",
                format!(
                    "expected a mapping of sections at the top level, got {}",
                    leaf(&other).kind()
                ),
            ))
        }
    }
    let mut problems = Vec::new();
    let mut raw = RawConfig::default();
    for (key, value) in entries(&doc, "", TOP_KEYS, &mut problems) {
        match key {
            "server" => raw.server = server(value, "server", &mut problems),
            "reload" => raw.reload = reload(value, "reload", &mut problems),
            "nbuserver" => {
                raw.nbuserver = match value {
                    Value::Mapping(_) => Section::Present(site(value, "nbuserver", &mut problems)),
                    _ => {
                        problems.push(expected("nbuserver", "a mapping", value));
                        Section::Invalid
                    }
                }
            }
            "nbuservers" => raw.nbuservers = sites(value, &mut problems),
            "collectors" => collectors(value, &mut raw.collectors, &mut problems),
            "opentelemetry" => inert_section(
                value,
                "opentelemetry",
                OPENTELEMETRY,
                &mut raw.inert,
                &mut problems,
            ),
            _ => {}
        }
    }
    Ok((raw, problems))
}

fn syntax_problem(e: &serde_yaml::Error) -> Problem {
    let text = e.to_string();
    match e.location() {
        Some(loc) => {
            let mark = format!(" at line {} column {}", loc.line(), loc.column());
            let detail = text.replacen(&mark, "", 1);
            Problem::new(
                "",
                format!(
                    "invalid YAML at line {} column {}: {detail}",
                    loc.line(),
                    loc.column()
                ),
            )
        }
        None => Problem::new("", format!("invalid YAML: {text}")),
    }
}

fn server(value: &Value, path: &str, problems: &mut Vec<Problem>) -> RawServer {
    let mut s = RawServer::default();
    for (key, v) in entries(value, path, SERVER_KEYS, problems) {
        let field = Some(leaf(v));
        match key {
            "host" => s.host = field,
            "port" => s.port = field,
            "uri" => s.uri = field,
            "scrapingInterval" => s.scraping_interval = field,
            "jobsResyncInterval" => s.jobs_resync_interval = field,
            "collectionInterval" => s.collection_interval = field,
            "collectionTimeout" => s.collection_timeout = field,
            "logName" => s.log_name = field,
            "logLevel" => s.log_level = field,
            "logFormat" => s.log_format = field,
            "enableLifecycle" => s.enable_lifecycle = field,
            "cacheTTL" => s.cache_ttl = field,
            "webConfigFile" => s.web_config_file = field,
            _ => {}
        }
    }
    s
}

fn reload(value: &Value, path: &str, problems: &mut Vec<Problem>) -> RawReload {
    let mut r = RawReload::default();
    for (key, v) in entries(value, path, RELOAD_KEYS, problems) {
        let field = Some(leaf(v));
        match key {
            "debounce" => r.debounce = field,
            "pollInterval" => r.poll_interval = field,
            _ => {}
        }
    }
    r
}

fn sites(value: &Value, problems: &mut Vec<Problem>) -> Section<Vec<RawSite>> {
    let Value::Sequence(items) = value else {
        problems.push(expected("nbuservers", "a list of sites", value));
        return Section::Invalid;
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("nbuservers[{i}]");
        match untag(item) {
            Value::Mapping(_) => out.push(site(item, &path, problems)),
            _ => problems.push(expected(&path, "a mapping", item)),
        }
    }
    if out.is_empty() && !items.is_empty() {
        // Every entry was malformed (and reported); do not also report "no sites".
        return Section::Invalid;
    }
    Section::Present(out)
}

fn site(value: &Value, path: &str, problems: &mut Vec<Problem>) -> RawSite {
    let mut s = RawSite {
        path: path.to_owned(),
        ..RawSite::default()
    };
    for (key, v) in entries(value, path, SITE_KEYS, problems) {
        let field = Some(leaf(v));
        match key {
            "site" => s.site = field,
            "scheme" => s.scheme = field,
            "host" => s.host = field,
            "port" => s.port = field,
            "uri" => s.uri = field,
            "apiKey" => s.api_key = field,
            "apiKeyFile" => s.api_key_file = field,
            "apiVersion" => s.api_version = field,
            "insecureSkipVerify" => s.insecure_skip_verify = field,
            "caFile" => s.ca_file = field,
            "timeout" => s.timeout = field,
            "domain" => s.domain = field,
            "domainType" => s.domain_type = field,
            "contentType" => s.content_type = field,
            _ => {}
        }
    }
    s
}

fn collectors(value: &Value, out: &mut Vec<CollectorSetting>, problems: &mut Vec<Problem>) {
    let names: Vec<&str> = COLLECTORS.iter().map(|(name, _)| *name).collect();
    for (section, v) in entries(value, "collectors", &names, problems) {
        if let Some((_, keys)) = COLLECTORS.iter().find(|(name, _)| *name == section) {
            for (key, v) in entries(v, &format!("collectors.{section}"), keys, problems) {
                out.push(CollectorSetting {
                    section,
                    key,
                    value: leaf(v),
                });
            }
        }
    }
}

fn inert_section(
    value: &Value,
    path: &str,
    settings: &[(&str, InertKind)],
    out: &mut Vec<InertSetting>,
    problems: &mut Vec<Problem>,
) {
    let names: Vec<&str> = settings.iter().map(|(name, _)| *name).collect();
    for (key, v) in entries(value, path, &names, problems) {
        if let Some((name, kind)) = settings.iter().find(|(name, _)| *name == key) {
            out.push(InertSetting {
                path: join(path, name),
                kind: *kind,
                value: leaf(v),
            });
        }
    }
}

/// The known keys of a mapping with their non-null values, in file order. Reports
/// unknown keys and a value that is not a mapping; a null section is an empty one.
pub(super) fn entries<'k, 'v>(
    value: &'v Value,
    path: &str,
    known: &[&'k str],
    problems: &mut Vec<Problem>,
) -> Vec<(&'k str, &'v Value)> {
    let value = untag(value);
    let mapping = match value {
        Value::Mapping(m) => m,
        Value::Null => return Vec::new(),
        other => {
            problems.push(expected(path, "a mapping", other));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (k, v) in mapping {
        let name = match untag(k) {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        };
        match name.and_then(|n| known.iter().find(|known| **known == n)) {
            Some(known_key) => {
                if !matches!(untag(v), Value::Null) {
                    out.push((*known_key, untag(v)));
                }
            }
            None => {
                let shown = key_text(k);
                let hint = name
                    .and_then(|n| suggest::closest(n, known))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                problems.push(Problem::new(join(path, &shown), format!("unknown key{hint}")));
            }
        }
    }
    out
}

/// A custom tag (`!foo bar`) is ignored; YAML gives a node at most one tag.
pub(super) fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

/// A mapping key as it can be shown in a key path: escaped, one line, bounded length. An
/// empty or blank key is shown quoted (`""`), so the path still names it.
pub(super) fn key_text(key: &Value) -> String {
    let text = match untag(key) {
        Value::String(s) if s.trim().is_empty() => return format!("{s:?}"),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_owned(),
        Value::Sequence(_) => "<list>".to_owned(),
        Value::Mapping(_) => "<mapping>".to_owned(),
        Value::Tagged(_) => "<tagged>".to_owned(),
    };
    let escaped: String = text.escape_debug().collect();
    if escaped.chars().count() > 64 {
        let cut: String = escaped.chars().take(61).collect();
        format!("{cut}...")
    } else {
        escaped
    }
}

fn leaf(value: &Value) -> Leaf {
    match untag(value) {
        Value::Sequence(items) => Leaf::List(items.iter().map(scalar_leaf).collect()),
        other => scalar_leaf(other),
    }
}

fn scalar_leaf(value: &Value) -> Leaf {
    match untag(value) {
        Value::Null => Leaf::Null,
        Value::Bool(b) => Leaf::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Leaf::Int(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Leaf::Int(i128::from(u))
            } else {
                Leaf::Float(n.to_string())
            }
        }
        Value::String(s) => Leaf::Str(s.clone()),
        Value::Sequence(_) => Leaf::List(Vec::new()),
        Value::Mapping(_) | Value::Tagged(_) => Leaf::Map,
    }
}

pub(super) fn expected(path: &str, what: &str, got: &Value) -> Problem {
    Problem::new(path, format!("expected {what}, got {}", leaf(got).kind()))
}

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        match parse(yaml.as_bytes()) {
            Ok((_, problems)) => problems.iter().map(ToString::to_string).collect(),
            Err(problem) => vec![problem.to_string()],
        }
    }

    #[test]
    fn shape_problems() {
        let cases: &[(&str, &[&str])] = &[
            ("server: {port: 1}\n", &[]),
            (
                "[1, 2]\n",
                &["expected a mapping of sections at the top level, got a list"],
            ),
            ("server: 5\n", &["server: expected a mapping, got a number"]),
            (
                "nbuservers: {a: 1}\n",
                &["nbuservers: expected a list of sites, got a mapping"],
            ),
            (
                "nbuservers: [x]\n",
                &["nbuservers[0]: expected a mapping, got a string"],
            ),
            ("nbuserver: [x]\n", &["nbuserver: expected a mapping, got a list"]),
            ("? [a]\n: 1\n", &["<list>: unknown key"]),
            ("1: x\n", &["1: unknown key"]),
            ("\"a\\nb\": x\n", &["a\\nb: unknown key"]),
            (
                "collectors: {alerts: {enabled: true, extra: 1}, tapes: {}}\n",
                // A section's own unknown keys come before those of its sub-sections.
                &[
                    "collectors.tapes: unknown key (did you mean `tape`?)",
                    "collectors.alerts.extra: unknown key",
                ],
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(problems(yaml), *want, "{yaml}");
        }
    }

    #[test]
    fn null_values_are_absent_and_tags_ignored() {
        let (raw, problems) = parse(b"server:\n  port:\n  host: !custom h\n").unwrap();
        assert!(problems.is_empty());
        assert_eq!(raw.server.port, None);
        assert_eq!(raw.server.host, Some(Leaf::Str("h".into())));
    }

    #[test]
    fn merge_keys_apply() {
        let yaml = "base: &b {port: 1556}\n";
        let (_, problems) = parse(yaml.as_bytes()).unwrap();
        assert_eq!(problems[0].to_string(), "base: unknown key");
        let yaml = "x: &d {scheme: http}\nnbuservers:\n  - <<: *d\n    site: a\n";
        let (raw, _) = parse(yaml.as_bytes()).unwrap();
        let Section::Present(sites) = raw.nbuservers else {
            panic!("no sites")
        };
        assert_eq!(sites[0].scheme, Some(Leaf::Str("http".into())));
    }

    /// Found by `config::proptests`: `"": 1` gave a problem with an empty key path, shown
    /// as a bare "unknown key", and `server: {"": 1}` the path `server.`.
    #[test]
    fn regression_empty_key_has_a_key_path() {
        assert_eq!(problems("\"\": 1\n"), ["\"\": unknown key"]);
        assert_eq!(problems("server: {\"\": 1}\n"), ["server.\"\": unknown key"]);
        assert_eq!(problems("\"  \": 1\n"), ["\"  \": unknown key"]);
    }

    #[test]
    fn long_keys_are_cut() {
        let yaml = format!("{}: 1\n", "k".repeat(200));
        let got = problems(&yaml);
        assert_eq!(got, vec![format!("{}...: unknown key", "k".repeat(61))]);
    }
}
