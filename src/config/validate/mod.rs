//! Raw mirror -> checked [`Config`]: `${VAR}` expansion, type and range checks, defaults,
//! reading `apiKeyFile`/`caFile` through an injected reader, and warnings for accepted but
//! ignored keys. Collects every problem with its key path; never stops at the first.
//!
//! Pure: the environment and the file system come in as functions, so tests pass fakes.
//! It must not know YAML syntax (that is `raw`) nor how a config is applied.
//!
//! Secrets: no message ever holds an expanded value. Messages may quote a value as the
//! user wrote it (marked "(expanded)" when it held `${VAR}`), never for `apiKey`.
//!
//! This file holds the entry point and the `Checker` core (problems, warnings, reading
//! files); each section of the config has its own module, with its tests beside it:
//! `scalars` (strings, ports, durations, booleans: the checks every section shares),
//! `server`, `reload`, `site` (`nbuservers` and the legacy `nbuserver`), `collectors`
//! (the opt-in collectors) and `inert` (`opentelemetry`, accepted so the Go exporter's
//! configs load).
//! `tests` holds what spans sections: whole files, shapes, unknown keys, secrets, hashes.

mod collectors;
mod inert;
mod reload;
mod scalars;
mod server;
mod site;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::env;
use super::model::Config;
use super::raw::{Leaf, RawConfig, RawSite, Section};
use super::{EnvLookup, Problem};

pub use super::files::{FileData, ReadFile};

/// What validation found.
#[derive(Debug)]
pub struct Outcome {
    /// Set only when there is no problem.
    pub config: Option<Config>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Whether the file itself holds an API key (an `apiKey` that is not only `${VAR}`).
    pub inline_api_key: bool,
}

/// Checks the raw mirror. `base_dir` resolves relative file paths (the config's directory).
pub fn validate(raw: &RawConfig, base_dir: &Path, env: EnvLookup, read_file: ReadFile) -> Outcome {
    let mut c = Checker {
        env,
        base_dir,
        read_file,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let server = c.server(&raw.server);
    let reload = c.reload(&raw.reload);
    let sites = c.sites(raw);
    let collectors = c.collectors(&raw.collectors);
    for setting in &raw.inert {
        c.inert(setting);
    }
    let config = c.problems.is_empty().then_some(Config {
        server,
        reload,
        sites,
        collectors,
    });
    Outcome {
        config,
        problems: c.problems,
        warnings: c.warnings,
        inline_api_key: holds_inline_api_key(raw),
    }
}

fn holds_inline_api_key(raw: &RawConfig) -> bool {
    let inline = |site: &RawSite| match &site.api_key {
        Some(Leaf::Str(text)) => !text.trim().is_empty() && !env::references_only(text),
        Some(Leaf::Int(_) | Leaf::Float(_) | Leaf::Bool(_)) => true,
        _ => false,
    };
    let legacy = match &raw.nbuserver {
        Section::Present(site) => inline(site),
        _ => false,
    };
    let listed = match &raw.nbuservers {
        Section::Present(sites) => sites.iter().any(inline),
        _ => false,
    };
    legacy || listed
}

/// A scalar as written and as expanded.
struct Text {
    original: String,
    value: String,
    /// Written as a YAML string (shown quoted).
    quoted: bool,
}

impl Text {
    /// The value as the user wrote it, for messages. Never call it for a secret.
    fn shown(&self) -> String {
        let written = if self.quoted {
            quote(&self.original)
        } else {
            self.original.clone()
        };
        if self.value == self.original {
            written
        } else {
            format!("{written} (expanded)")
        }
    }
}

/// `"text"`, escaped and cut to a sane length.
fn quote(text: &str) -> String {
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{:?}", format!("{cut}..."))
    } else {
        format!("{text:?}")
    }
}

/// One validation run: what it may consult, and what it has found so far. Each section's
/// module adds its own `impl Checker` block.
struct Checker<'a> {
    env: EnvLookup<'a>,
    base_dir: &'a Path,
    read_file: ReadFile<'a>,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Checker<'_> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    fn warn(&mut self, key: &str, message: &str) {
        self.warnings.push(format!("{key}: {message}"));
    }

    fn resolve(&self, file: &str) -> PathBuf {
        let path = Path::new(file);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    fn read(&mut self, key: &str, path: &Path) -> Option<FileData> {
        match (self.read_file)(path) {
            Ok(data) => Some(data),
            Err(e) => {
                self.problem(key, format!("cannot read {}: {e}", path.display()));
                None
            }
        }
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
