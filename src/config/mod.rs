//! Configuration: loading a YAML file into the checked [`Config`] the daemon runs on.
//!
//! The pipeline, one module per step: bytes -> [`raw`] (YAML syntax and the schema's shape)
//! -> [`validate`] (`${VAR}` expansion, types, ranges, defaults, key files) -> [`Config`];
//! [`diff`] compares two configs by key name. This module is the only one doing I/O: it
//! reads the config and the files it names, hashes them, and checks file modes.
//!
//! It must not know how a config is applied at run time (that is the reload worker's job).

pub mod diff;
mod env;
mod files;
pub mod model;
mod problem;
#[cfg(test)]
mod proptests;
mod raw;
mod suggest;
mod validate;
pub mod web;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use diff::{diff, Change, ChangeKind, ChangeSet};
pub use env::EnvLookup;
pub use model::{Config, ReloadSettings, Scheme, Secret, ServerConfig, SiteAddress, SiteConfig};
pub use problem::{LoadError, Problem};
pub use web::WebConfig;

use files::FileData;

/// A successfully loaded config.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    /// SHA-256 over the config bytes and, per site in order, its `apiKeyFile` and `caFile`
    /// contents: equal hashes mean nothing the config depends on changed.
    pub sha256: [u8; 32],
    /// Accepted but ignored or risky settings, one line each (`key: message`).
    pub warnings: Vec<String>,
}

impl Loaded {
    pub fn sha256_hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 12 hex characters, for logs and the status page.
    pub fn sha256_short(&self) -> String {
        let mut hex = self.sha256_hex();
        hex.truncate(12);
        hex
    }
}

/// The process environment, for production.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Largest config file read (the reload worker applies the same limit).
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
/// Largest `apiKeyFile` or `caFile` read: a key or a CA bundle is a few KiB; a path to a
/// device or a huge file must not exhaust memory.
pub const MAX_REFERENCED_FILE_BYTES: u64 = 1024 * 1024;

/// Reads at most `limit` bytes of `path`; a longer file is an error, not a truncation.
pub fn read_capped(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than the {limit}-byte limit"
        )));
    }
    Ok(bytes)
}

/// What the command line adds to every load of the config file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--web.config.file`: wins over `server.webConfigFile`, which is then not read.
    pub web_config_file: Option<PathBuf>,
}

/// Reads the config file once, then [`load_from_bytes`].
pub fn load(path: &Path, env: EnvLookup) -> Result<Loaded, LoadError> {
    load_with(path, env, &LoadOptions::default())
}

/// [`load`] with command-line options.
pub fn load_with(path: &Path, env: EnvLookup, options: &LoadOptions) -> Result<Loaded, LoadError> {
    match read_capped(path, MAX_CONFIG_BYTES) {
        Ok(bytes) => load_from_bytes_with(path, &bytes, env, options),
        Err(e) => Err(LoadError {
            path: path.to_path_buf(),
            problems: vec![Problem::new("", format!("cannot read: {e}"))],
            inputs_sha256: Sha256::digest(e.to_string()).into(),
        }),
    }
}

/// Parses and validates config bytes. `path` names the file in messages and is the base
/// for relative `apiKeyFile`, `caFile` and `logName`; the files those keys name are read
/// here (once each).
pub fn load_from_bytes(path: &Path, bytes: &[u8], env: EnvLookup) -> Result<Loaded, LoadError> {
    load_from_bytes_with(path, bytes, env, &LoadOptions::default())
}

/// [`load_from_bytes`] with command-line options.
pub fn load_from_bytes_with(
    path: &Path,
    bytes: &[u8],
    env: EnvLookup,
    options: &LoadOptions,
) -> Result<Loaded, LoadError> {
    let files = FileCache::default();
    let fail = |problems: Vec<Problem>| LoadError {
        path: path.to_path_buf(),
        problems,
        inputs_sha256: files.digest(bytes),
    };
    let (raw, mut problems) = raw::parse(bytes).map_err(|problem| fail(vec![problem]))?;
    let base_dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let read = |p: &Path| files.read(p);
    let outcome = validate::validate(&raw, base_dir, env, &read);
    problems.extend(outcome.problems);
    let mut config = match outcome.config {
        Some(config) if problems.is_empty() => config,
        _ => return Err(fail(problems)),
    };
    let mut warnings = Vec::new();
    attach_web_config(&mut config, options, &read, &mut warnings).map_err(fail)?;

    if outcome.inline_api_key {
        if let Some(mode) = file_mode(path).filter(|m| m & 0o004 != 0) {
            warnings.push(format!(
                "{} is readable by other users (mode {:04o}) and holds an API key; chmod o-r it (0640 with the service's group, or 0600)",
                path.display(),
                mode & 0o7777
            ));
        }
    }
    warnings.extend(outcome.warnings);

    let mut hasher = Sha256::new();
    hash_part(&mut hasher, Some(bytes));
    for site in &config.sites {
        let key_bytes = site.api_key_file.as_deref().and_then(|p| files.bytes(p));
        hash_part(&mut hasher, key_bytes.as_deref());
        hash_part(&mut hasher, site.ca_pem.as_deref());
    }
    // Only when set, so that configs without one keep the hash they had.
    if let Some(web) = &config.server.web {
        hash_part(&mut hasher, Some(&web.digest));
    }
    Ok(Loaded {
        config,
        sha256: hasher.finalize().into(),
        warnings,
    })
}

/// Loads the web config that `--web.config.file` or `server.webConfigFile` names into
/// `config.server.web`. Its problems are reported under the key that named it, each with
/// the web config file and the key path in it.
fn attach_web_config(
    config: &mut Config,
    options: &LoadOptions,
    read: files::ReadFile,
    warnings: &mut Vec<String>,
) -> Result<(), Vec<Problem>> {
    let (key, path) = match (&options.web_config_file, &config.server.web_config_file) {
        (Some(flag), written) => {
            if written.as_ref().is_some_and(|w| w != flag) {
                warnings.push(
                    "server.webConfigFile: ignored because --web.config.file is set on the command line"
                        .to_string(),
                );
            }
            ("--web.config.file", flag.clone())
        }
        (None, Some(written)) => ("server.webConfigFile", written.clone()),
        (None, None) => return Ok(()),
    };
    let web = web::load(&path, read).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| Problem::new(key, format!("{}: {p}", path.display())))
            .collect::<Vec<_>>()
    })?;
    config.server.web_config_file = Some(path);
    config.server.web = Some(std::sync::Arc::new(web));
    Ok(())
}

/// Length-prefixed, so that moving bytes between parts changes the hash.
fn hash_part(hasher: &mut Sha256, part: Option<&[u8]>) {
    match part {
        None => hasher.update([0u8]),
        Some(bytes) => {
            hasher.update([1u8]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
    }
}

/// Files named by the config, each read at most once per load.
#[derive(Default)]
struct FileCache {
    read: RefCell<HashMap<PathBuf, Result<FileData, String>>>,
}

impl FileCache {
    fn read(&self, path: &Path) -> Result<FileData, String> {
        if let Some(found) = self.read.borrow().get(path) {
            return found.clone();
        }
        let result = read_capped(path, MAX_REFERENCED_FILE_BYTES)
            .map(|bytes| FileData {
                bytes,
                mode: file_mode(path),
            })
            .map_err(|e| e.to_string());
        self.read.borrow_mut().insert(path.to_path_buf(), result.clone());
        result
    }

    /// The config bytes and every file read so far, in path order.
    fn digest(&self, config: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hash_part(&mut hasher, Some(config));
        let read = self.read.borrow();
        let mut paths: Vec<&PathBuf> = read.keys().collect();
        paths.sort();
        for path in paths {
            hash_part(&mut hasher, Some(path.as_os_str().as_encoded_bytes()));
            match &read[path] {
                Ok(data) => hash_part(&mut hasher, Some(&data.bytes)),
                Err(e) => hash_part(&mut hasher, Some(e.as_bytes())),
            }
        }
        hasher.finalize().into()
    }

    fn bytes(&self, path: &Path) -> Option<Vec<u8>> {
        match self.read.borrow().get(path) {
            Some(Ok(data)) => Some(data.bytes.clone()),
            _ => None,
        }
    }
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

/// The one line `check-config` prints, e.g.
/// `config OK: 2 sites (paris, london), listening on 0.0.0.0:2112/metrics, sha256 0123456789ab`.
pub fn summary(loaded: &Loaded) -> String {
    let config = &loaded.config;
    let names: Vec<&str> = config.sites.iter().map(|s| s.name.as_str()).collect();
    let count = match names.len() {
        1 => "1 site".to_owned(),
        n => format!("{n} sites"),
    };
    let host = if config.server.host.contains(':') && !config.server.host.starts_with('[') {
        format!("[{}]", config.server.host)
    } else {
        config.server.host.clone()
    };
    let mut line = format!(
        "config OK: {count} ({}), listening on {host}:{}{}, sha256 {}",
        names.join(", "),
        config.server.port,
        config.server.uri,
        loaded.sha256_short()
    );
    if let Some(web) = &config.server.web {
        let mut parts = Vec::new();
        if web.tls.is_some() {
            parts.push("TLS".to_string());
        }
        match web.users.len() {
            0 => {}
            1 => parts.push("basic auth for 1 user".to_string()),
            n => parts.push(format!("basic auth for {n} users")),
        }
        if parts.is_empty() {
            parts.push("nothing enabled".to_string());
        }
        line.push_str(&format!(
            ", web config {} ({})",
            web.path.display(),
            parts.join(", ")
        ));
    }
    match loaded.warnings.len() {
        0 => {}
        1 => line.push_str(", 1 warning"),
        n => line.push_str(&format!(", {n} warnings")),
    }
    line
}
