//! Property test of the reload path (proptest): a random sequence of config writes (valid,
//! invalid, or the same bytes again), each followed by `POST /-/reload` or left to the
//! file watcher, always leaves the running generation equal to the last valid content
//! written: the same `Config` that `config::load_from_bytes` gives for it, the same
//! SHA-256, and one generation per applied change, no more.
//!
//! Waits are deadline-bounded conditions, never sleeps. A watched valid write is waited
//! for until it is applied, so "last valid content" is well defined: a valid write that
//! is overwritten before anything read it would otherwise never have been seen.

use std::path::Path;
use std::time::Duration;

use nbu_exporter::config::{self, Loaded};
use nbu_sim::SimServer;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::support::*;

const LONG: Duration = Duration::from_secs(20);

/// What a valid config varies in: every field is live-reloadable.
#[derive(Clone, Debug)]
struct Valid {
    interval_s: u32,
    log_level: &'static str,
    key_from_env: bool,
    second_site: bool,
    timeout_s: Option<u32>,
}

#[derive(Clone, Debug)]
enum Content {
    Valid(Valid),
    /// A valid config broken in one of several ways (0..6).
    Invalid(Valid, u8),
    /// The bytes the file holds now, written again.
    Same,
}

#[derive(Clone, Copy, Debug)]
enum How {
    /// `POST /-/reload`, answered once the reload is done.
    Http,
    /// Only the write: the watcher notices it.
    Watch,
}

fn valid() -> impl Strategy<Value = Valid> {
    (
        30u32..40,
        proptest::sample::select(vec!["info", "warn", "error"]),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(1u32..20),
    )
        .prop_map(
            |(interval_s, log_level, key_from_env, second_site, timeout_s)| Valid {
                interval_s,
                log_level,
                key_from_env,
                second_site,
                timeout_s,
            },
        )
}

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        4 => valid().prop_map(Content::Valid),
        3 => (valid(), 0u8..6).prop_map(|(v, k)| Content::Invalid(v, k)),
        2 => Just(Content::Same),
    ]
}

fn step() -> impl Strategy<Value = (Content, How)> {
    (content(), prop_oneof![Just(How::Http), Just(How::Watch)])
}

fn render(v: &Valid, sim: &SimServer) -> String {
    let site_extra = v
        .timeout_s
        .map(|t| format!("    timeout: {t}s\n"))
        .unwrap_or_default();
    let mut sites = vec![site_yaml("paris", sim, &site_extra)];
    if v.second_site {
        sites.push(site_yaml("london", sim, ""));
    }
    let yaml = config_yaml(
        &format!(
            "  collectionInterval: {}s\n  logLevel: {}\n",
            v.interval_s, v.log_level
        ),
        &sites,
    );
    if v.key_from_env {
        yaml.replace(&format!("apiKey: {KEY}"), "apiKey: \"${TEST_KEY}\"")
    } else {
        yaml
    }
}

fn render_invalid(v: &Valid, kind: u8, sim: &SimServer) -> String {
    let good = render(v, sim);
    match kind {
        0 => good.replace("    scheme: http\n", "    scheme: http\n    port: 70000\n"),
        1 => good.replace(
            "  enableLifecycle: true\n",
            "  enableLifecycle: true\n  banana: 1\n",
        ),
        2 => format!("{good}  - [unclosed\n"),
        3 => String::new(),
        4 => good
            .replacen(&format!("apiKey: {KEY}"), "apiKey: \"${NOPE}\"", 1)
            .replacen("apiKey: \"${TEST_KEY}\"", "apiKey: \"${NOPE}\"", 1),
        _ => good.replace(
            "  collectionInterval:",
            "  collectionTimeout: 10m\n  collectionInterval:",
        ),
    }
}

/// The daemon's environment, as `TestDaemon` sets it.
fn env(name: &str) -> Option<String> {
    (name == "TEST_KEY").then(|| KEY.to_string())
}

fn load(path: &Path, bytes: &[u8]) -> Option<Loaded> {
    config::load_from_bytes(path, bytes, &env).ok()
}

/// The running generation is exactly `expected`.
fn check_running(d: &TestDaemon, expected: &Loaded, generation: u64, at: &str) -> Result<(), TestCaseError> {
    let current = d.daemon().shared().current();
    prop_assert_eq!(&*current.config, &expected.config, "{}: running config", at);
    prop_assert_eq!(current.sha256, expected.sha256, "{}: running sha256", at);
    prop_assert_eq!(current.number, generation, "{}: generation number", at);
    Ok(())
}

fn run_sequence(steps: &[(Content, How)]) -> Result<(), TestCaseError> {
    let sim = known_site();
    let first = render(
        &Valid {
            interval_s: 30,
            log_level: "info",
            key_from_env: false,
            second_site: false,
            timeout_s: None,
        },
        &sim,
    );
    let d = TestDaemon::start(&first);
    let mut file = first.into_bytes();
    let mut expected = load(&d.path, &file).expect("the first config is valid");
    let mut generation = 1;
    check_running(&d, &expected, generation, "start")?;

    for (i, (content, how)) in steps.iter().enumerate() {
        let at = format!("step {i} {content:?} {how:?}");
        file = match content {
            Content::Valid(v) => render(v, &sim).into_bytes(),
            Content::Invalid(v, kind) => render_invalid(v, *kind, &sim).into_bytes(),
            Content::Same => file,
        };
        std::fs::write(&d.path, &file).expect("write config");
        let loaded = load(&d.path, &file);
        let changes = loaded.as_ref().is_some_and(|l| l.sha256 != expected.sha256);
        match how {
            How::Http => {
                let (status, answer) = d.reload();
                let result = answer["result"].as_str().unwrap_or_default().to_owned();
                match &loaded {
                    // The watcher may have applied it first; then the POST finds it unchanged.
                    Some(_) => prop_assert!(
                        status == 200 && (result == "applied" || result == "unchanged"),
                        "{}: {} {}",
                        at,
                        status,
                        answer
                    ),
                    None => prop_assert!(
                        status == 400 && result == "rejected",
                        "{}: {} {}",
                        at,
                        status,
                        answer
                    ),
                }
            }
            How::Watch => {
                if let (true, Some(new)) = (changes, &loaded) {
                    wait_until(LONG, &format!("{at}: applied by the watcher"), || {
                        d.daemon().shared().current().sha256 == new.sha256
                    });
                }
            }
        }
        if let (true, Some(new)) = (changes, loaded) {
            expected = new;
            generation += 1;
        }
        check_running(&d, &expected, generation, &at)?;
    }

    // Fence: a synchronous reload of what the file holds now changes nothing more.
    let (status, answer) = d.reload();
    let want = if load(&d.path, &file).is_some() {
        "unchanged"
    } else {
        "rejected"
    };
    prop_assert_eq!(
        answer["result"].as_str(),
        Some(want),
        "final reload: {} {}",
        status,
        answer
    );
    check_running(&d, &expected, generation, "end")?;
    d.stop();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        // Each case runs a daemon for a few seconds: shrink briefly.
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    #[test]
    fn running_generation_follows_the_last_valid_write(
        steps in proptest::collection::vec(step(), 10..=20),
    ) {
        run_sequence(&steps)?;
    }
}
