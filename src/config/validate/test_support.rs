//! What the validation tests share: a fake environment, a temp-dir [`Fixture`] holding key
//! and CA files, and [`check_table`], which runs a table of configs against the exact
//! problems each must yield. Every section's tests load whole configs through
//! [`load_from_bytes`], so they see what a user sees.
//!
//! Test-only; it must not hold any test itself.

use std::path::{Path, PathBuf};

use super::super::{load_from_bytes, LoadError, Loaded};

/// A fake API key; no problem or warning may ever show it.
pub(super) const SENTINEL: &str = "SENTINEL-abc123";
/// One valid site, appended to configs whose problems lie elsewhere.
pub(super) const SITE: &str = "nbuservers: [{site: paris, host: nbu.example.com, apiKey: SENTINEL-abc123}]\n";

pub(super) fn test_env(name: &str) -> Option<String> {
    let value = match name {
        "NBU_HOST" => "nbu.example.com",
        "NBU_KEY" | "PARIS_KEY" | "LONDON_KEY" | "NBU_PARIS_API_KEY" => SENTINEL,
        "NBU_PARIS_HOST" => "paris.example.com",
        "NBU_LONDON_HOST" => "london.example.com",
        "PARIS_HOST" => "paris.example.com",
        "LONDON_HOST" => "london.example.com",
        "NBU_PORT" => "1556",
        "BIG_PORT" => "70000",
        "SKIP" => "true",
        "BAD_BOOL" => "maybe",
        "EMPTY" => "",
        _ => return None,
    };
    Some(value.to_owned())
}

/// A directory holding the config path (not written unless asked) and key files.
pub(super) struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    pub(super) fn new() -> Fixture {
        let fx = Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        fx.write("key.txt", "SENTINEL-abc123\n", 0o600);
        fx.write("open.key", "SENTINEL-abc123", 0o644);
        fx.write("empty.key", "  \n", 0o600);
        fx.write("latin1.key", b"caf\xe9\n", 0o600);
        fx.write(
            "ca.pem",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            0o644,
        );
        fx.write("bad.pem", "not a certificate\n", 0o644);
        fx
    }

    pub(super) fn dir(&self) -> String {
        self.dir.path().display().to_string()
    }

    pub(super) fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(super) fn write(&self, name: &str, content: impl AsRef<[u8]>, mode: u32) {
        let path = self.file(name);
        std::fs::write(&path, content).expect("write fixture");
        set_mode(&path, mode);
    }

    pub(super) fn load(&self, yaml: &str) -> Result<Loaded, LoadError> {
        let yaml = yaml.replace("{dir}", &self.dir());
        load_from_bytes(&self.file("config.yaml"), yaml.as_bytes(), &test_env)
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

/// The problems a config yields, as displayed, with the fixture dir shown as `{dir}`.
fn problems(yaml: &str) -> Vec<String> {
    let fx = Fixture::new();
    match fx.load(yaml) {
        Ok(loaded) => vec![format!("unexpectedly valid: {:?}", loaded.config)],
        Err(e) => e
            .problems
            .iter()
            .map(|p| p.to_string().replace(&fx.dir(), "{dir}"))
            .collect(),
    }
}

/// `None` when `yaml` yields exactly `expected`, else a description of the difference.
pub(super) fn check(yaml: &str, expected: &[&str]) -> Option<String> {
    let got = problems(yaml);
    assert!(
        got.iter().all(|p| !p.contains(SENTINEL)),
        "secret leaked: {got:?}"
    );
    (got != expected).then(|| format!("{yaml}\n  got:  {got:#?}\n  want: {expected:#?}\n"))
}

/// Checks every case and reports all the failures at once. A case whose problems lie
/// outside the site list gets [`SITE`] appended, so that its problems stand alone.
pub(super) fn check_table(cases: &[(&str, &[&str])]) {
    assert!(!cases.is_empty(), "an empty table checks nothing");
    let mut failures = Vec::new();
    for (yaml, want) in cases {
        let whole_file = want.iter().any(|w| {
            w.starts_with("invalid YAML")
                || w.starts_with("config is empty")
                || w.starts_with("expected a mapping of sections")
        });
        let yaml = if whole_file || yaml.contains("nbuserver") {
            yaml.to_string()
        } else {
            format!("{yaml}{SITE}")
        };
        failures.extend(check(&yaml, want));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

pub(super) fn load_ok(fx: &Fixture, yaml: &str) -> Loaded {
    match fx.load(yaml) {
        Ok(loaded) => loaded,
        Err(e) => panic!("{yaml}\nshould load, got:\n{e}"),
    }
}
