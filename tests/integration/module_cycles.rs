//! Arrows point one way: no file in `src/` depends, directly or through others, on a file
//! that depends back on it. Dependencies are read from `use` and `crate::`/`super::`/
//! `self::` paths, test-only code left out (see `support::modgraph` for the exact rules);
//! the checker itself is tested on small synthetic trees below.

use std::path::Path;

use crate::support::modgraph::Graph;

/// Cycles being removed on other branches, as file chains (`[a, b, a]`); their edges are
/// ignored. The merge empties this list: a cycle in the merged tree must fail.
const KNOWN_CYCLES: &[&[&str]] = &[&["src/daemon.rs", "src/reload/worker.rs", "src/daemon.rs"]];

fn read_project(path: &str) -> Option<String> {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).ok()
}

/// Each tangle of files that reach each other: its shortest cycle with the lines that make
/// it, and the other files caught in it.
fn report(graph: &Graph) -> String {
    let mut out = String::new();
    for (chain, tangle) in graph.cycles().iter().zip(graph.tangles()) {
        out.push_str(&format!("  {}\n", graph.describe(chain)));
        let others: Vec<&String> = tangle.iter().filter(|f| !chain.contains(f)).collect();
        if !others.is_empty() {
            out.push_str(&format!("    (also in this tangle: {others:?})\n"));
        }
    }
    out
}

#[test]
fn src_has_no_module_cycles() {
    let mut graph = Graph::build("src/lib.rs", &read_project);
    assert!(graph.problems.is_empty(), "{:#?}", graph.problems);
    // The walk reached the tree: a broken parser must not pass as "no cycles".
    assert!(graph.edges.len() >= 40, "only {} files found", graph.edges.len());
    let edges: usize = graph.edges.values().map(|e| e.len()).sum();
    assert!(edges >= 60, "only {edges} dependencies found");
    assert!(
        graph.edges["src/config/raw.rs"].contains_key("src/config/problem.rs"),
        "raw.rs's `use super::Problem` was not followed through config's re-export"
    );
    eprintln!(
        "module graph: {} files, {} dependencies",
        graph.edges.len(),
        graph.edges.values().map(|e| e.len()).sum::<usize>()
    );

    let stale: Vec<String> = KNOWN_CYCLES.iter().flat_map(|c| graph.remove_chain(c)).collect();
    assert!(
        stale.is_empty(),
        "KNOWN_CYCLES lists dependencies that are gone; remove them: {stale:?}"
    );
    assert!(
        graph.cycles().is_empty(),
        "module cycles in src/ (file -> file it uses, with the line that uses it):\n{}",
        report(&graph)
    );
}

/// The layers' direction: `nbu` builds its client from `config` types, so `config` (and
/// with it `check-config` and validation) must never reach into the NetBackup client.
#[test]
fn config_never_depends_on_nbu() {
    let graph = Graph::build("src/lib.rs", &read_project);
    let mut upward = Vec::new();
    for (from, to) in graph
        .edges
        .iter()
        .filter(|(from, _)| from.starts_with("src/config/"))
    {
        for (file, why) in to.iter().filter(|(file, _)| file.starts_with("src/nbu/")) {
            upward.push(format!("{from}:{why} ({file})"));
        }
        for file in graph.via[from].iter().filter(|file| file.starts_with("src/nbu/")) {
            upward.push(format!("{from} names an item through {file}"));
        }
    }
    assert!(upward.is_empty(), "config depends on nbu: {upward:#?}");
    assert!(
        graph.edges["src/nbu/client.rs"].contains_key("src/config/model.rs"),
        "expected nbu::client to build from config::SiteConfig"
    );
}

// The checker on synthetic trees.

fn build(files: &[(&str, &str)]) -> Graph {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    let read = move |path: &str| files.iter().find(|(p, _)| p == path).map(|(_, t)| t.clone());
    Graph::build("src/lib.rs", &read)
}

fn deps(graph: &Graph, file: &str) -> Vec<String> {
    graph
        .edges
        .get(file)
        .map_or(Vec::new(), |e| e.keys().cloned().collect())
}

fn chains(graph: &Graph) -> Vec<String> {
    graph.cycles().iter().map(|c| c.join(" -> ")).collect()
}

#[test]
fn checker_finds_a_two_file_cycle_and_names_the_lines() {
    let graph = build(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        ("src/a.rs", "use crate::b::B;\npub struct A;\n"),
        (
            "src/b.rs",
            "//! b\n\npub struct B;\npub fn f() -> crate::a::A { crate::a::A }\n",
        ),
    ]);
    assert!(graph.problems.is_empty(), "{:?}", graph.problems);
    assert_eq!(chains(&graph), ["src/a.rs -> src/b.rs -> src/a.rs"]);
    let described = graph.describe(&graph.cycles()[0]);
    assert!(described.contains("src/a.rs:1: crate::b::B"), "{described}");
    assert!(described.contains("src/b.rs:4: crate::a::A"), "{described}");
}

#[test]
fn checker_finds_the_shortest_chain_of_a_longer_cycle() {
    let graph = build(&[
        ("src/lib.rs", "mod a; mod b; mod c; mod d;"),
        ("src/a.rs", "use crate::b::X;"),
        ("src/b.rs", "use crate::{c::Y, d::Z};"),
        ("src/c.rs", "use crate::d::Z;"),
        ("src/d.rs", "use crate::a::W;"),
    ]);
    assert_eq!(chains(&graph), ["src/a.rs -> src/b.rs -> src/d.rs -> src/a.rs"]);
}

#[test]
fn checker_reads_grouped_nested_aliased_and_relative_use_trees() {
    let graph = build(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod m;\n"),
        (
            "src/a.rs",
            "use crate::{b::{self as bee, B}, c::C as See};\nuse std::fmt;\nuse serde::Deserialize;\n",
        ),
        ("src/b.rs", "pub struct B;"),
        ("src/c.rs", "pub struct C;"),
        ("src/m/mod.rs", "mod x;\nmod y;\nuse self::x::X;\nuse y::*;\n"),
        ("src/m/x.rs", "use super::super::b::B;\npub struct X;"),
        ("src/m/y.rs", ""),
    ]);
    assert_eq!(deps(&graph, "src/a.rs"), ["src/b.rs", "src/c.rs"]);
    assert_eq!(deps(&graph, "src/m/mod.rs"), ["src/m/x.rs", "src/m/y.rs"]);
    assert_eq!(deps(&graph, "src/m/x.rs"), ["src/b.rs"]);
    assert!(graph.cycles().is_empty());
}

#[test]
fn checker_finds_files_by_mod_declarations() {
    let graph = build(&[
        (
            "src/lib.rs",
            "pub mod http;\npub mod nbu;\nmod outer {\n    pub mod deep;\n}\n",
        ),
        ("src/http.rs", "mod front;\n"),
        ("src/http/front.rs", "use crate::nbu::N;"),
        (
            "src/nbu/mod.rs",
            "#[path = \"other_name.rs\"]\nmod client;\npub use client::N;\n",
        ),
        ("src/nbu/other_name.rs", "pub struct N;"),
        ("src/outer/deep.rs", "use crate::http::front;"),
    ]);
    assert!(graph.problems.is_empty(), "{:?}", graph.problems);
    assert_eq!(deps(&graph, "src/http/front.rs"), ["src/nbu/other_name.rs"]);
    assert_eq!(deps(&graph, "src/outer/deep.rs"), ["src/http/front.rs"]);

    let missing = build(&[("src/lib.rs", "mod gone;")]);
    assert_eq!(
        missing.problems,
        ["src/lib.rs: mod gone declared, none of src/gone.rs, src/gone/mod.rs found"]
    );
}

#[test]
fn checker_does_not_count_a_parent_reexport_of_its_children() {
    // nbu/mod.rs re-exports client's `Client`; client uses a helper defined in mod.rs;
    // jobs uses `Client` through the re-export. None of this is a cycle.
    let tree = [
        ("src/lib.rs", "pub mod nbu;\npub mod user;\n"),
        (
            "src/nbu/mod.rs",
            "pub mod client;\npub mod jobs;\npub use client::{Client, Options as ClientOptions};\npub use jobs::*;\npub fn helper() {}\n",
        ),
        ("src/nbu/client.rs", "use super::helper;\npub struct Client;\npub struct Options;\n"),
        ("src/nbu/jobs.rs", "use crate::nbu::ClientOptions;\nuse super::Client;\n"),
        ("src/user.rs", "use crate::nbu::{Client, ClientOptions};\n"),
    ];
    let graph = build(&tree);
    assert!(graph.cycles().is_empty(), "{:?}", chains(&graph));
    assert_eq!(deps(&graph, "src/nbu/mod.rs"), Vec::<String>::new());
    assert_eq!(deps(&graph, "src/nbu/jobs.rs"), ["src/nbu/client.rs"]);
    assert_eq!(deps(&graph, "src/user.rs"), ["src/nbu/client.rs"]);
    assert_eq!(graph.via["src/user.rs"], ["src/nbu/mod.rs".to_string()].into());
    assert!(graph.via["src/nbu/client.rs"].is_empty());

    // A parent that *uses* its child (not `pub use`) while the child uses the parent is one.
    let mut cyclic = tree;
    cyclic[1].1 = "pub mod client;\nuse client::Client;\npub fn helper() -> Client { Client }\n";
    let graph = build(&cyclic);
    assert_eq!(
        chains(&graph),
        ["src/nbu/client.rs -> src/nbu/mod.rs -> src/nbu/client.rs"]
    );

    // A re-export of something outside the module is an edge of the re-exporting file.
    let graph = build(&[
        ("src/lib.rs", "pub mod leaf;\npub mod nbu;\n"),
        ("src/leaf.rs", "pub struct V;"),
        ("src/nbu/mod.rs", "pub use crate::leaf::V;"),
    ]);
    assert_eq!(deps(&graph, "src/nbu/mod.rs"), ["src/leaf.rs"]);
}

#[test]
fn checker_ignores_test_only_code() {
    let graph = build(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n#[cfg(test)]\nmod stub;\n"),
        (
            "src/a.rs",
            r#"
use std::fmt;

pub struct A;

#[cfg(test)]
use crate::b::Test1;

#[cfg(all(test, unix))]
fn helper() -> crate::b::Test2 { todo!() }

#[test]
fn a_test() { let _ = crate::b::Test3; }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b::{Test4, Test5};
    fn f() -> Result<(), String> { crate::b::test6(); Ok(()) }
}

#[cfg(not(test))]
fn real() -> crate::b::Real { todo!() }

pub struct S {
    #[cfg(test)]
    pub probe: crate::b::Test7,
    pub kept: u8,
}
"#,
        ),
        ("src/b.rs", "use crate::a::A;\npub struct Real;\n"),
        ("src/stub.rs", "use crate::a::A;\nuse crate::b::Real;\n"),
    ]);
    assert!(graph.problems.is_empty(), "{:?}", graph.problems);
    // Only `cfg(not(test))` code makes a -> b, and with b -> a that is a cycle.
    assert_eq!(chains(&graph), ["src/a.rs -> src/b.rs -> src/a.rs"]);
    assert_eq!(graph.edges["src/a.rs"]["src/b.rs"], "23: crate::b::Real");
    assert!(
        !graph.edges.contains_key("src/stub.rs"),
        "a test-only file was read"
    );
}

#[test]
fn checker_ignores_comments_strings_and_lifetimes() {
    let graph = build(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "src/a.rs",
            r###"
// use crate::b::X;
/* use crate::b::X; /* nested */ crate::b::X */
/// Calls `crate::b::X`.
fn f<'a>(s: &'a str) -> &'a str {
    let _ = "use crate::b::X;";
    let _ = r#"crate::b::X " "#;
    let _ = b"crate::b::X";
    let _ = ('"', '\'', b'"');
    s
}
"###,
        ),
        ("src/b.rs", "use crate::a::f;"),
    ]);
    assert_eq!(deps(&graph, "src/a.rs"), Vec::<String>::new());
    assert!(graph.cycles().is_empty());
}

#[test]
fn checker_removes_known_chains_and_reports_stale_ones() {
    let mut graph = build(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        ("src/a.rs", "use crate::b::B;"),
        ("src/b.rs", "use crate::a::A;"),
    ]);
    assert_eq!(graph.cycles().len(), 1);
    assert!(graph
        .remove_chain(&["src/a.rs", "src/b.rs", "src/a.rs"])
        .is_empty());
    assert!(graph.cycles().is_empty());
    assert_eq!(
        graph.remove_chain(&["src/a.rs", "src/b.rs"]),
        ["src/a.rs -> src/b.rs"]
    );
}
