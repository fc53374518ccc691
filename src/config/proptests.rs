//! Property tests of config loading and diffing (proptest), over generated valid configs
//! and random mutations of them: structural (delete, duplicate, retype, rename a key,
//! change a value, nest deeply) and byte-level (garbage bytes, truncation, random unicode).
//!
//! What they check: `load_from_bytes` never panics and answers either a config that keeps
//! the model's invariants or a non-empty list of problems, each with a key path, except a
//! lone whole-file problem; `diff(c, c)` is empty; no secret (random sentinel API keys,
//! inline, from `${VAR}` or from `apiKeyFile`) ever shows in a change set or a problem.
//!
//! Case counts are set explicitly so the whole suite stays within a few seconds on 2
//! cores. It must not test exact messages: the table-driven tests beside the code do.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::Index;

use super::{diff, load_from_bytes, summary, LoadError, Loaded};

// ---------------------------------------------------------------------------------------
// A tiny YAML tree, rendered in block or flow style.

#[derive(Clone, Debug)]
enum Node {
    /// YAML text as it is written in the file (already quoted when it needs to be).
    Scalar(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

fn s(text: &str) -> Node {
    Node::Scalar(text.to_owned())
}

fn map(entries: Vec<(&str, Node)>) -> Node {
    Node::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

impl Node {
    fn render(&self, flow: bool) -> String {
        let mut out = String::new();
        if flow {
            self.flow(&mut out);
            out.push('\n');
        } else {
            self.block(0, &mut out);
        }
        out
    }

    fn flow(&self, out: &mut String) {
        match self {
            Node::Scalar(text) => out.push_str(text),
            Node::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.flow(out);
                }
                out.push(']');
            }
            Node::Map(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{key}: ");
                    value.flow(out);
                }
                out.push('}');
            }
        }
    }

    /// Block style for mappings and lists at `indent`; empty containers and scalars in
    /// flow style.
    fn block(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match self {
            Node::Map(entries) if !entries.is_empty() => {
                for (key, value) in entries {
                    let _ = write!(out, "{pad}{key}:");
                    value.after_colon(indent, out);
                }
            }
            Node::List(items) if !items.is_empty() => {
                for item in items {
                    match item {
                        Node::Map(e) if !e.is_empty() => {
                            let mut inner = String::new();
                            item.block(indent + 2, &mut inner);
                            let _ = write!(out, "{pad}- {}", &inner[indent + 2..]);
                        }
                        Node::List(l) if !l.is_empty() => {
                            out.push_str(&pad);
                            out.push_str("- ");
                            item.flow(out);
                            out.push('\n');
                        }
                        _ => {
                            out.push_str(&pad);
                            out.push_str("- ");
                            item.flow(out);
                            out.push('\n');
                        }
                    }
                }
            }
            other => {
                out.push_str(&pad);
                other.flow(out);
                out.push('\n');
            }
        }
    }

    fn after_colon(&self, indent: usize, out: &mut String) {
        match self {
            Node::Map(e) if !e.is_empty() => {
                out.push('\n');
                self.block(indent + 2, out);
            }
            Node::List(l) if !l.is_empty() => {
                out.push('\n');
                self.block(indent + 2, out);
            }
            other => {
                out.push(' ');
                other.flow(out);
                out.push('\n');
            }
        }
    }

    /// Every node below this one, as child-index paths (this node itself excluded).
    fn paths(&self) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        let count = match self {
            Node::Scalar(_) => 0,
            Node::List(items) => items.len(),
            Node::Map(entries) => entries.len(),
        };
        for i in 0..count {
            prefix.push(i);
            out.push(prefix.clone());
            self.child(i).collect_paths(prefix, out);
            prefix.pop();
        }
    }

    fn child(&self, i: usize) -> &Node {
        match self {
            Node::List(items) => &items[i],
            Node::Map(entries) => &entries[i].1,
            Node::Scalar(_) => unreachable!("a scalar has no child"),
        }
    }

    fn at_mut(&mut self, path: &[usize]) -> &mut Node {
        let mut node = self;
        for &i in path {
            node = match node {
                Node::List(items) => &mut items[i],
                Node::Map(entries) => &mut entries[i].1,
                Node::Scalar(_) => unreachable!("paths only lead into containers"),
            };
        }
        node
    }

    fn at(&self, path: &[usize]) -> &Node {
        path.iter().fold(self, |node, &i| node.child(i))
    }

    /// Whether this subtree holds `needle` anywhere (key or scalar).
    fn holds(&self, needle: &str) -> bool {
        match self {
            Node::Scalar(text) => text.contains(needle),
            Node::List(items) => items.iter().any(|n| n.holds(needle)),
            Node::Map(entries) => entries.iter().any(|(k, v)| k.contains(needle) || v.holds(needle)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Generated valid configs.

/// Where a site's API key comes from.
#[derive(Clone, Copy, Debug)]
enum KeySource {
    Inline,
    /// `"${KEY_<n>}"`, the environment giving the sentinel.
    Env,
    /// `apiKeyFile: <n>.key`, the file holding the sentinel.
    File,
}

#[derive(Clone, Debug)]
struct SiteSpec {
    name: String,
    sentinel: String,
    source: KeySource,
    options: Vec<(&'static str, &'static str)>,
}

#[derive(Clone, Debug)]
struct ConfigSpec {
    server: Vec<(&'static str, &'static str)>,
    reload: Vec<(&'static str, &'static str)>,
    sites: Vec<SiteSpec>,
    inert: bool,
}

const SITE_NAMES: &[&str] = &["paris", "london", "rome", "oslo", "a.b_c:d-1"];

fn sentinel() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{12,20}".prop_map(|tail| format!("S3NT1NEL{tail}"))
}

/// A subset of `choices`, at most one value per key, in a random order.
fn options(
    choices: &'static [(&'static str, &'static str)],
) -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    proptest::sample::subsequence(choices, 0..=choices.len())
        .prop_map(|picked| {
            let mut seen = Vec::new();
            picked
                .into_iter()
                .filter(|(k, _)| {
                    let new = !seen.contains(k);
                    seen.push(*k);
                    new
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

const SERVER_OPTIONS: &[(&str, &str)] = &[
    ("host", "127.0.0.1"),
    ("host", "\"::\""),
    ("port", "2112"),
    ("port", "\"9100\""),
    ("port", "0"),
    ("uri", "/metrics"),
    ("uri", "\"/nbu/metrics\""),
    ("scrapingInterval", "1h"),
    ("scrapingInterval", "\"90m\""),
    ("collectionInterval", "5m"),
    ("logName", "\"\""),
    ("logName", "exporter.log"),
    ("logLevel", "debug"),
    ("logLevel", "WARN"),
    ("logFormat", "json"),
    ("logFormat", "LOGFMT"),
    ("enableLifecycle", "true"),
    ("enableLifecycle", "\"false\""),
    ("cacheTTL", "5m"),
];

const RELOAD_OPTIONS: &[(&str, &str)] = &[
    ("debounce", "200ms"),
    ("debounce", "\"1s\""),
    ("pollInterval", "0"),
    ("pollInterval", "30s"),
];

const SITE_OPTIONS: &[(&str, &str)] = &[
    ("scheme", "http"),
    ("scheme", "https"),
    ("port", "1556"),
    ("port", "\"443\""),
    ("uri", "netbackup/"),
    ("apiVersion", "\"13.0\""),
    ("apiVersion", "\"\""),
    ("insecureSkipVerify", "true"),
    ("timeout", "5s"),
    ("domain", "d"),
];

fn key_source() -> impl Strategy<Value = KeySource> {
    prop_oneof![
        Just(KeySource::Inline),
        Just(KeySource::Env),
        Just(KeySource::File)
    ]
}

fn config_spec() -> impl Strategy<Value = ConfigSpec> {
    let site = (sentinel(), key_source(), options(SITE_OPTIONS));
    (
        options(SERVER_OPTIONS),
        options(RELOAD_OPTIONS),
        proptest::sample::subsequence(SITE_NAMES, 1..=3).prop_shuffle(),
        proptest::collection::vec(site, 3),
        any::<bool>(),
    )
        .prop_map(|(server, reload, names, site_parts, inert)| ConfigSpec {
            server,
            reload,
            sites: names
                .into_iter()
                .zip(site_parts)
                .map(|(name, (sentinel, source, options))| SiteSpec {
                    name: name.to_owned(),
                    sentinel,
                    source,
                    options,
                })
                .collect(),
            inert,
        })
}

impl ConfigSpec {
    fn tree(&self) -> Node {
        let mut top = Vec::new();
        if !self.server.is_empty() {
            top.push(("server", map(pairs(&self.server))));
        }
        if !self.reload.is_empty() {
            top.push(("reload", map(pairs(&self.reload))));
        }
        let sites = self
            .sites
            .iter()
            .map(|site| {
                let mut entries = vec![
                    ("site", s(&site.name)),
                    ("host", s(&format!("{}.example.com", site.name))),
                ];
                entries.push(match site.source {
                    KeySource::Inline => ("apiKey", s(&site.sentinel)),
                    KeySource::Env => ("apiKey", s(&format!("\"${{{}}}\"", env_name(&site.sentinel)))),
                    KeySource::File => ("apiKeyFile", s(&format!("{}.key", site.name))),
                });
                entries.extend(pairs(&site.options));
                map(entries)
            })
            .collect();
        top.push(("nbuservers", Node::List(sites)));
        if self.inert {
            top.push((
                "collectors",
                map(vec![
                    ("alerts", map(vec![("enabled", s("true"))])),
                    (
                        "perClient",
                        map(vec![
                            ("enabled", s("false")),
                            ("allowlist", Node::List(vec![s("a"), s("b")])),
                        ]),
                    ),
                ]),
            ));
            top.push((
                "opentelemetry",
                map(vec![("enabled", s("false")), ("samplingRate", s("0.5"))]),
            ));
        }
        map(top)
    }

    fn sentinels(&self) -> Vec<String> {
        self.sites.iter().map(|site| site.sentinel.clone()).collect()
    }
}

fn pairs(options: &[(&'static str, &'static str)]) -> Vec<(&'static str, Node)> {
    options.iter().map(|(k, v)| (*k, s(v))).collect()
}

/// The variable a sentinel is reachable under: `KEY_<sentinel>`.
fn env_name(sentinel: &str) -> String {
    format!("KEY_{sentinel}")
}

/// The environment: `KEY_<sentinel>` gives the sentinel back, `SECRET` gives `secret`,
/// and a few plain variables as in the docs.
fn env_for<'a>(secret: &'a str) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        if let Some(value) = name.strip_prefix("KEY_") {
            return Some(value.to_owned());
        }
        match name {
            "SECRET" => Some(secret.to_owned()),
            "NBU_PORT" => Some("1556".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }
}

/// A temp dir holding `config.yaml` (never written) and one `<site>.key` per site.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new(spec: &ConfigSpec) -> Dir {
        let dir = tempfile::tempdir().expect("temp dir");
        for site in &spec.sites {
            let path = dir.path().join(format!("{}.key", site.name));
            std::fs::write(&path, format!("{}\n", site.sentinel)).expect("write key file");
            set_private(&path);
        }
        Dir { dir }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yaml")
    }

    fn load(&self, bytes: &[u8], secret: &str) -> Result<Loaded, LoadError> {
        load_from_bytes(&self.config_path(), bytes, &env_for(secret))
    }
}

#[cfg(unix)]
fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

#[cfg(not(unix))]
fn set_private(_path: &Path) {}

// ---------------------------------------------------------------------------------------
// Mutations.

#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index),
    Duplicate(Index),
    /// Replace a node by another kind: 0 list of it, 1 mapping holding it, 2-5 a scalar
    /// of another type, 6 an empty container.
    Retype(Index, u8),
    SetValue(Index, String),
    RenameKey(Index, String),
    /// Wrap a node in `depth` lists (or mappings).
    Nest(Index, usize, bool),
}

#[derive(Clone, Debug)]
enum ByteMutation {
    Insert(Index, Vec<u8>),
    Truncate(Index),
    Replace(Index, u8),
    Remove(Index, usize),
    InsertText(Index, String),
}

/// Scalars worth trying: edge values, variables, YAML specials, and random unicode.
fn value_text() -> impl Strategy<Value = String> {
    let special = proptest::sample::select(vec![
        "",
        "0",
        "-1",
        "65536",
        "70000",
        "99999999999999999999999",
        "1e999",
        ".inf",
        ".nan",
        "~",
        "null",
        "true",
        "yes",
        "0s",
        "-5m",
        "1h30m",
        "10s",
        "11s",
        "500ms",
        "1ns",
        "\"\"",
        "\"   \"",
        "\"${NOPE}\"",
        "\"${NBU_PORT}\"",
        "\"$${SECRET}\"",
        "\"${EMPTY}\"",
        "${",
        "&a x",
        "*a",
        "*nope",
        "!!binary aGVsbG8=",
        "!custom x",
        "<<",
        "\"/-/reload\"",
        "/",
        "http://h/x",
        "\"a b\"",
        "13.0",
        "\"99.9\"",
        "|\n  block",
        "'single ''quoted'''",
        "[",
        "{",
        "- x",
        "? x",
        "#",
        "\t",
        "\u{feff}",
        "\"\\u0000\"",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        3 => special,
        1 => "\\PC{0,16}",
        1 => "[a-z0-9./:-]{0,12}",
        1 => "\\PC{0,12}".prop_map(|t| format!("{t:?}")),
    ]
}

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => proptest::sample::select(vec![
            "", "\"\"", "apikey", "prot", "sites", "nbuserver", "host", "site", "<<", "? x", "1", "null",
            "\"a\\nb\"", "server", "apiKeyFile",
        ])
        .prop_map(str::to_owned),
        1 => "\\PC{0,10}",
        1 => "[a-zA-Z]{1,70}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        2 => (any::<Index>(), 0u8..7).prop_map(|(i, k)| Mutation::Retype(i, k)),
        3 => (any::<Index>(), value_text()).prop_map(|(i, v)| Mutation::SetValue(i, v)),
        1 => (any::<Index>(), key_text()).prop_map(|(i, k)| Mutation::RenameKey(i, k)),
        1 => (any::<Index>(), prop_oneof![1usize..8, 100usize..400], any::<bool>())
            .prop_map(|(i, d, list)| Mutation::Nest(i, d, list)),
    ]
}

fn byte_mutation() -> impl Strategy<Value = ByteMutation> {
    prop_oneof![
        2 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| ByteMutation::Insert(i, b)),
        1 => any::<Index>().prop_map(ByteMutation::Truncate),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteMutation::Replace(i, b)),
        1 => (any::<Index>(), 1usize..20).prop_map(|(i, n)| ByteMutation::Remove(i, n)),
        1 => (any::<Index>(), "\\PC{1,6}").prop_map(|(i, t)| ByteMutation::InsertText(i, t)),
    ]
}

impl Mutation {
    fn index(&self) -> &Index {
        match self {
            Mutation::Delete(i)
            | Mutation::Duplicate(i)
            | Mutation::Retype(i, _)
            | Mutation::SetValue(i, _)
            | Mutation::RenameKey(i, _)
            | Mutation::Nest(i, _, _) => i,
        }
    }

    /// Whether this mutation keeps a secret below `path` where it was: it may drop or
    /// copy the value, or wrap it, but never turn it into another key's value or a key.
    fn keeps_secrets_in_place(&self) -> bool {
        match self {
            Mutation::Delete(_) | Mutation::Duplicate(_) | Mutation::Nest(..) => true,
            Mutation::Retype(_, kind) => *kind <= 1,
            Mutation::SetValue(..) | Mutation::RenameKey(..) => false,
        }
    }

    /// Applies the mutation. With `protect`, a node holding `protect` is only touched by
    /// mutations that keep it in place.
    fn apply(&self, root: &mut Node, protect: Option<&[String]>) {
        let paths = root.paths();
        if paths.is_empty() {
            return;
        }
        let path = self.index().get(&paths).clone();
        if let Some(secrets) = protect {
            let node = root.at(&path);
            if !self.keeps_secrets_in_place() && secrets.iter().any(|s| node.holds(s)) {
                return;
            }
        }
        let (last, parent_path) = path.split_last().expect("not the root");
        let parent = root.at_mut(parent_path);
        match self {
            Mutation::Delete(_) => match parent {
                Node::List(items) => {
                    items.remove(*last);
                }
                Node::Map(entries) => {
                    entries.remove(*last);
                }
                Node::Scalar(_) => {}
            },
            Mutation::Duplicate(_) => match parent {
                Node::List(items) => items.insert(*last, items[*last].clone()),
                Node::Map(entries) => entries.insert(*last, entries[*last].clone()),
                Node::Scalar(_) => {}
            },
            Mutation::RenameKey(_, key) => {
                if let Node::Map(entries) = parent {
                    entries[*last].0 = key.clone();
                }
            }
            Mutation::Retype(_, kind) => {
                let node = parent.at_mut(&[*last]);
                let old = node.clone();
                *node = match kind {
                    0 => Node::List(vec![old]),
                    1 => Node::Map(vec![("x".to_owned(), old)]),
                    2 => s("42"),
                    3 => s("true"),
                    4 => s("~"),
                    5 => s("\"text\""),
                    _ => match old {
                        Node::List(_) => Node::Map(Vec::new()),
                        _ => Node::List(Vec::new()),
                    },
                };
            }
            Mutation::SetValue(_, text) => *parent.at_mut(&[*last]) = Node::Scalar(text.clone()),
            Mutation::Nest(_, depth, list) => {
                let node = parent.at_mut(&[*last]);
                let mut nested = node.clone();
                for _ in 0..*depth {
                    nested = if *list {
                        Node::List(vec![nested])
                    } else {
                        Node::Map(vec![("n".to_owned(), nested)])
                    };
                }
                *node = nested;
            }
        }
    }
}

impl ByteMutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let at = |i: &Index| i.index(bytes.len() + 1);
        match self {
            ByteMutation::Insert(i, new) => {
                let at = at(i);
                bytes.splice(at..at, new.iter().copied());
            }
            ByteMutation::InsertText(i, text) => {
                let at = at(i);
                bytes.splice(at..at, text.bytes());
            }
            ByteMutation::Truncate(i) => bytes.truncate(at(i)),
            ByteMutation::Replace(i, b) => {
                if !bytes.is_empty() {
                    let at = i.index(bytes.len());
                    bytes[at] = *b;
                }
            }
            ByteMutation::Remove(i, n) => {
                let at = at(i);
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The contract every load answers.

/// Whole-file problems: the only ones without a key path, and each comes alone.
const WHOLE_FILE: &[&str] = &[
    "invalid YAML",
    "config is empty",
    "expected a mapping of sections at the top level",
];

fn check_contract(result: &Result<Loaded, LoadError>, input: &[u8]) -> Result<(), TestCaseError> {
    let shown = || String::from_utf8_lossy(input).into_owned();
    match result {
        Ok(loaded) => {
            let config = &loaded.config;
            prop_assert!(!config.sites.is_empty(), "valid without a site:\n{}", shown());
            for (i, site) in config.sites.iter().enumerate() {
                prop_assert!(
                    config.sites[..i].iter().all(|other| other.name != site.name),
                    "duplicate site {} accepted:\n{}",
                    site.name,
                    shown()
                );
                prop_assert!(!site.api_key.is_empty(), "empty key accepted:\n{}", shown());
                prop_assert!(site.port > 0 && !site.host.is_empty() && site.uri.starts_with('/'));
            }
            prop_assert!(config.server.uri.starts_with('/'));
            prop_assert!(!config.server.collection_interval.is_zero());
            prop_assert!(config.server.collection_timeout <= config.server.collection_interval);
            prop_assert!(!config.reload.debounce.is_zero());
        }
        Err(e) => {
            prop_assert!(!e.problems.is_empty(), "rejected without a problem:\n{}", shown());
            for p in &e.problems {
                prop_assert!(
                    !p.message.trim().is_empty(),
                    "empty message at {:?}:\n{}",
                    p.key,
                    shown()
                );
                prop_assert!(
                    !p.key.chars().any(char::is_control),
                    "control character in key {:?}:\n{}",
                    p.key,
                    shown()
                );
                if p.key.trim().is_empty() {
                    prop_assert!(
                        e.problems.len() == 1 && WHOLE_FILE.iter().any(|w| p.message.starts_with(w)),
                        "a problem without a key path that is not a lone whole-file problem: {:?}\nin {:?}\n{}",
                        p,
                        e.problems,
                        shown()
                    );
                }
                if p.message.starts_with("invalid YAML at") {
                    prop_assert!(p.message.contains(" line ") && p.message.contains(" column "));
                }
            }
        }
    }
    Ok(())
}

/// No sentinel in the change set, shown or as keys or debug-printed.
fn check_no_secret_in_changes(changes: &super::ChangeSet, secrets: &[String]) -> Result<(), TestCaseError> {
    let shown = format!("{changes}\n{:?}\n{:?}", changes.keys(), changes);
    for secret in secrets {
        prop_assert!(
            !shown.contains(secret.as_str()),
            "secret in change set: {}",
            shown
        );
    }
    Ok(())
}

fn check_no_secret_in_problems(e: &LoadError, secrets: &[String]) -> Result<(), TestCaseError> {
    let mut shown = format!("{e}\n{e:?}\n");
    for p in &e.problems {
        let _ = writeln!(shown, "{} {}", p.key, p.message);
    }
    for secret in secrets {
        prop_assert!(!shown.contains(secret.as_str()), "secret in problems: {}", shown);
    }
    Ok(())
}

/// Keys whose `${SECRET}` expansion must never show: every value that is not a file path,
/// a host or a site name (those are shown, or become labels, by design).
const EXPANDED_KEYS: &[&str] = &[
    "port",
    "uri",
    "scrapingInterval",
    "collectionInterval",
    "collectionTimeout",
    "logLevel",
    "enableLifecycle",
    "cacheTTL",
    "debounce",
    "pollInterval",
    "scheme",
    "apiVersion",
    "insecureSkipVerify",
    "timeout",
    "domain",
    "enabled",
    "samplingRate",
];

/// Sets `key: "${SECRET}"` in every mapping where `key` (one of EXPANDED_KEYS) is picked.
fn plant_expanded_secret(node: &mut Node, picks: &[bool]) {
    if let Node::Map(entries) = node {
        for (key, value) in entries.iter_mut() {
            if let Some(i) = EXPANDED_KEYS.iter().position(|k| k == key) {
                if picks[i % picks.len()] {
                    *value = s("\"${SECRET}\"");
                    continue;
                }
            }
            plant_expanded_secret(value, picks);
        }
    } else if let Node::List(items) = node {
        for item in items {
            plant_expanded_secret(item, picks);
        }
    }
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(1024))]

    /// Random structural and byte mutations of a valid config never panic the loader, and
    /// the answer keeps the contract.
    #[test]
    fn mutated_configs_load_or_name_their_problems(
        spec in config_spec(),
        flow in any::<bool>(),
        mutations in proptest::collection::vec(mutation(), 0..6),
        bytes in proptest::collection::vec(byte_mutation(), 0..4),
    ) {
        let dir = Dir::new(&spec);
        let mut tree = spec.tree();
        for m in &mutations {
            m.apply(&mut tree, None);
        }
        let mut input = tree.render(flow).into_bytes();
        for b in &bytes {
            b.apply(&mut input);
        }
        let result = dir.load(&input, "unused");
        check_contract(&result, &input)?;
    }

    /// Arbitrary bytes, and arbitrary text, never panic the loader either.
    #[test]
    fn arbitrary_input_loads_or_names_its_problems(
        input in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            "\\PC{0,200}".prop_map(String::into_bytes),
            "([a-zA-Z:{}\\[\\],\\- \n\"'&*!|>#%@`]{0,40}\n){0,6}".prop_map(String::into_bytes),
        ],
    ) {
        let result = load_from_bytes(Path::new("/nonexistent/config.yaml"), &input, &env_for("x"));
        check_contract(&result, &input)?;
    }
}

proptest! {
    #![proptest_config(cases(128))]

    /// A valid config loads; the diff with itself is empty, and so is the diff with the
    /// same config written in the other style or loaded twice.
    #[test]
    fn diff_of_a_config_with_itself_is_empty(spec in config_spec()) {
        let dir = Dir::new(&spec);
        let tree = spec.tree();
        let block = tree.render(false);
        let loaded = match dir.load(block.as_bytes(), "unused") {
            Ok(loaded) => loaded,
            Err(e) => return Err(TestCaseError::fail(format!("generated config rejected:\n{block}\n{e}"))),
        };
        prop_assert!(diff(&loaded.config, &loaded.config).is_empty());
        prop_assert_eq!(diff(&loaded.config, &loaded.config).to_string(), "");
        let again = dir.load(block.as_bytes(), "unused").expect("loads twice");
        prop_assert!(diff(&loaded.config, &again.config).is_empty());
        prop_assert_eq!(loaded.sha256, again.sha256);
        let flow = dir.load(tree.render(true).as_bytes(), "unused").expect("flow style loads");
        prop_assert!(diff(&loaded.config, &flow.config).is_empty(), "block vs flow: {}", diff(&loaded.config, &flow.config));
        prop_assert_eq!(&loaded.config, &flow.config);
        for (site, spec) in loaded.config.sites.iter().zip(&spec.sites) {
            prop_assert_eq!(site.api_key.expose(), spec.sentinel.as_str());
        }
    }

    /// The change set between two valid configs names keys only: no sentinel key, wherever
    /// it came from, ever shows in it; a key rotation on a kept site is reported by name.
    #[test]
    fn diff_never_shows_a_secret(a in config_spec(), b in config_spec()) {
        let dir_a = Dir::new(&a);
        let dir_b = Dir::new(&b);
        let old = dir_a.load(a.tree().render(false).as_bytes(), "unused").expect("a loads").config;
        let new = dir_b.load(b.tree().render(true).as_bytes(), "unused").expect("b loads").config;
        let secrets: Vec<String> = a.sentinels().into_iter().chain(b.sentinels()).collect();
        for changes in [diff(&old, &new), diff(&new, &old)] {
            check_no_secret_in_changes(&changes, &secrets)?;
        }
        let changes = diff(&old, &new);
        // Sites are matched by name, so only their order may differ in an empty diff.
        let by_name = |c: &super::Config| {
            let mut c = c.clone();
            c.sites.sort_by(|x, y| x.name.cmp(&y.name));
            c
        };
        prop_assert_eq!(changes.is_empty(), by_name(&old) == by_name(&new), "{}", changes);
        for site in &new.sites {
            if let Some(before) = old.sites.iter().find(|s| s.name == site.name) {
                let key = format!("nbuservers[{}].apiKey", site.name);
                prop_assert_eq!(
                    changes.keys().contains(&key),
                    before.api_key != site.api_key,
                    "{} in {}", key, changes
                );
            }
        }
    }

    /// Problems never hold a secret: sentinel API keys that mutations may drop, copy or
    /// wrap (but not move under another key), and `${SECRET}` expanded in any value that
    /// is not a path, a host or a site name.
    #[test]
    fn problems_never_show_a_secret(
        spec in config_spec(),
        secret in sentinel(),
        flow in any::<bool>(),
        picks in proptest::collection::vec(any::<bool>(), EXPANDED_KEYS.len()),
        mutations in proptest::collection::vec(mutation(), 0..5),
    ) {
        let dir = Dir::new(&spec);
        let mut tree = spec.tree();
        let mut secrets = spec.sentinels();
        secrets.push(secret.clone());
        plant_expanded_secret(&mut tree, &picks);
        // `${SECRET}` is protected too: renamed to `caFile`, its expansion would rightly
        // be shown as the path that cannot be read.
        let protected: Vec<String> = spec.sentinels().into_iter().chain(["${SECRET}".to_owned()]).collect();
        for m in &mutations {
            m.apply(&mut tree, Some(&protected));
        }
        let input = tree.render(flow);
        match dir.load(input.as_bytes(), &secret) {
            Err(e) => check_no_secret_in_problems(&e, &secrets)?,
            Ok(loaded) => {
                let shown = format!("{:?}\n{}", loaded.warnings, summary(&loaded));
                for s in &secrets {
                    prop_assert!(!shown.contains(s.as_str()), "secret in warnings or summary: {}", shown);
                }
            }
        }
    }
}
