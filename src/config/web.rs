//! The web config file (`server.webConfigFile`, or `--web.config.file` which wins): TLS,
//! basic authentication and response headers for the exporter's own port, in the format of
//! Prometheus' exporter-toolkit, of which it implements a documented subset. Unknown keys
//! are problems with their path, like in the main YAML; parts of the toolkit format that
//! are not implemented are refused by name, never silently ignored.
//!
//! The files it names (certificate, key, client CA) are read through the loader's reader,
//! so they join the config hash and the watch. Its last check builds the rustls server
//! configuration, so a key that does not match its certificate is a validation problem:
//! `check-config` reports it and a reload is rejected, with the old settings serving on.
//!
//! It must not know how the port enforces any of this (that is `http`). No message holds a
//! private key or a password hash.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_yaml::Value;
use sha2::{Digest, Sha256};

use super::files::ReadFile;
use super::raw::{entries, expected, join, key_text, untag};
use super::Problem;

/// A checked web config.
#[derive(Clone)]
pub struct WebConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// `None`: plain HTTP.
    pub tls: Option<TlsServer>,
    /// Empty: no authentication.
    pub users: Vec<BasicUser>,
    /// `http_server_config.headers`, added to every answer, in file order.
    pub headers: Vec<(String, String)>,
    /// SHA-256 over the file and every file it names, for the config hash and equality.
    pub digest: [u8; 32],
}

impl WebConfig {
    /// The web config file and the files it names, for the watch.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path.clone()];
        if let Some(tls) = &self.tls {
            files.extend(
                [&tls.cert_file, &tls.key_file, &tls.client_ca_file]
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
        files
    }
}

impl PartialEq for WebConfig {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.digest == other.digest
    }
}

/// Names what is set, never a key or a hash.
impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .field("tls", &self.tls)
            .field("users", &self.users)
            .field("headers", &self.headers)
            .finish()
    }
}

/// One `basic_auth_users` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicUser {
    pub name: String,
    /// A bcrypt hash (`$2y$10$...`), checked to parse.
    pub hash: String,
}

impl fmt::Debug for BasicUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BasicUser({:?}, <bcrypt hash>)", self.name)
    }
}

/// `tls_server_config`, checked and built.
#[derive(Clone)]
pub struct TlsServer {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub client_ca_file: Option<PathBuf>,
    pub client_auth: ClientAuth,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// Built once here; the listener serves it as is.
    pub server_config: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServer")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("client_ca_file", &self.client_ca_file)
            .field("client_auth", &self.client_auth)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .finish_non_exhaustive()
    }
}

/// `client_auth_type`, the values implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    NoClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// Names accepted under `http_server_config.headers` (the toolkit's list).
const HEADERS: &[&str] = &[
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Strict-Transport-Security",
];

const TOP_KEYS: &[&str] = &[
    "tls_server_config",
    "http_server_config",
    "basic_auth_users",
    "rate_limit",
];

const TLS_KEYS: &[&str] = &[
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
];

const HTTP_KEYS: &[&str] = &["http2", "headers"];

/// Reads and checks the web config at `path`. Relative paths in it are relative to its own
/// directory, as in the toolkit. Every problem is returned, each with its key path in the
/// web config file.
pub fn load(path: &Path, read: ReadFile) -> Result<WebConfig, Vec<Problem>> {
    let mut c = Checker {
        dir: match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        },
        read,
        problems: Vec::new(),
        digest: Sha256::new(),
    };
    let bytes = match read(path) {
        Ok(data) => data.bytes,
        Err(e) => return Err(vec![Problem::new("", format!("cannot read: {e}"))]),
    };
    c.part(&bytes);
    let doc: Value = serde_yaml::from_slice(&bytes).map_err(|e| vec![syntax_problem(&e)])?;
    let mut tls = None;
    let mut users = Vec::new();
    let mut headers = Vec::new();
    match untag(&doc) {
        Value::Null | Value::Mapping(_) => {
            for (key, value) in entries(&doc, "", TOP_KEYS, &mut c.problems) {
                match key {
                    "tls_server_config" => tls = c.tls(value),
                    "http_server_config" => headers = c.http(value),
                    "basic_auth_users" => users = c.users(value),
                    "rate_limit" => c.problem(
                        "rate_limit",
                        "is not supported by this exporter (its front already caps connections and request sizes); remove it",
                    ),
                    _ => {}
                }
            }
        }
        other => c.problems.push(expected("", "a mapping", other)),
    }
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(WebConfig {
        path: path.to_path_buf(),
        tls,
        users,
        headers,
        digest: c.digest.finalize().into(),
    })
}

fn syntax_problem(e: &serde_yaml::Error) -> Problem {
    match e.location() {
        Some(loc) => {
            let mark = format!(" at line {} column {}", loc.line(), loc.column());
            let detail = e.to_string().replacen(&mark, "", 1);
            Problem::new(
                "",
                format!(
                    "invalid YAML at line {} column {}: {detail}",
                    loc.line(),
                    loc.column()
                ),
            )
        }
        None => Problem::new("", format!("invalid YAML: {e}")),
    }
}

struct Checker<'a> {
    dir: PathBuf,
    read: ReadFile<'a>,
    problems: Vec<Problem>,
    digest: Sha256,
}

/// PEM material and where it came from.
struct Pem {
    bytes: Vec<u8>,
    file: Option<PathBuf>,
    /// `tls_server_config.cert_file`, or `tls_server_config.cert` when inline.
    key: String,
}

impl Checker<'_> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    /// Length-prefixed, so that moving bytes between parts changes the digest.
    fn part(&mut self, bytes: &[u8]) {
        self.digest.update((bytes.len() as u64).to_le_bytes());
        self.digest.update(bytes);
    }

    fn string(&mut self, key: &str, value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                self.problems.push(expected(key, "a string", other));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                self.problems.push(expected(key, "true or false", other));
                None
            }
        }
    }

    /// `inline` (a PEM string in the file) or `file` (a path to read), exactly one.
    fn pem(&mut self, inline: (&str, Option<&Value>), file: (&str, Option<&Value>)) -> Option<Pem> {
        match (inline.1, file.1) {
            (Some(_), Some(_)) => {
                self.problem(
                    "tls_server_config",
                    format!("set either {} or {}, not both", inline.0, file.0),
                );
                None
            }
            (None, None) => None,
            (Some(value), None) => {
                let key = join("tls_server_config", inline.0);
                let text = self.string(&key, value)?;
                Some(Pem {
                    bytes: text.into_bytes(),
                    file: None,
                    key,
                })
            }
            (None, Some(value)) => {
                let key = join("tls_server_config", file.0);
                let text = self.string(&key, value)?;
                if text.trim().is_empty() {
                    self.problem(&key, "is empty");
                    return None;
                }
                let path = self.dir.join(text.trim());
                match (self.read)(&path) {
                    Ok(data) => Some(Pem {
                        bytes: data.bytes,
                        file: Some(path),
                        key,
                    }),
                    Err(e) => {
                        self.problem(&key, format!("cannot read {}: {e}", path.display()));
                        None
                    }
                }
            }
        }
    }

    fn tls(&mut self, value: &Value) -> Option<TlsServer> {
        let p = "tls_server_config";
        let fields = entries(value, p, TLS_KEYS, &mut self.problems);
        if fields.is_empty() {
            return None;
        }
        let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        for (name, why) in [
            (
                "client_allowed_sans",
                "is not supported by this exporter; trust only the client CA that issues your scrapers' certificates",
            ),
            (
                "cipher_suites",
                "is not supported by this exporter: rustls offers only modern AEAD suites; remove it",
            ),
            (
                "curve_preferences",
                "is not supported by this exporter: rustls picks among X25519, P-256 and P-384; remove it",
            ),
        ] {
            if get(name).is_some() {
                self.problem(&join(p, name), why);
            }
        }
        let cert = self.pem(("cert", get("cert")), ("cert_file", get("cert_file")));
        let key = self.pem(("key", get("key")), ("key_file", get("key_file")));
        let client_ca = self.pem(
            ("client_ca", get("client_ca")),
            ("client_ca_file", get("client_ca_file")),
        );
        if cert.is_none() && get("cert").is_none() && get("cert_file").is_none() {
            self.problem(&join(p, "cert_file"), "is required (or cert) to serve TLS");
        }
        if key.is_none() && get("key").is_none() && get("key_file").is_none() {
            self.problem(&join(p, "key_file"), "is required (or key) to serve TLS");
        }
        let client_auth = match get("client_auth_type") {
            None => Some(ClientAuth::NoClientCert),
            Some(v) => {
                let key = join(p, "client_auth_type");
                match self.string(&key, v).as_deref() {
                    Some("NoClientCert") => Some(ClientAuth::NoClientCert),
                    Some("VerifyClientCertIfGiven") => Some(ClientAuth::VerifyClientCertIfGiven),
                    Some("RequireAndVerifyClientCert") => Some(ClientAuth::RequireAndVerifyClientCert),
                    Some(other @ ("RequestClientCert" | "RequireAnyClientCert")) => {
                        self.problem(
                            &key,
                            format!(
                                "{other} accepts client certificates without verifying them and is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"
                            ),
                        );
                        None
                    }
                    Some(other) => {
                        self.problem(
                            &key,
                            format!(
                                "{other:?} is not a client auth type (expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                            ),
                        );
                        None
                    }
                    None => None,
                }
            }
        };
        match (client_auth, &client_ca) {
            (Some(ClientAuth::NoClientCert), Some(_)) => self.problem(
                &join(p, "client_auth_type"),
                "client CA certificates are set but client_auth_type is NoClientCert; set RequireAndVerifyClientCert (or VerifyClientCertIfGiven), or remove the client CA",
            ),
            (Some(ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert), None)
                if get("client_ca").is_none() && get("client_ca_file").is_none() =>
            {
                self.problem(
                    &join(p, "client_ca_file"),
                    "is required (or client_ca) to verify client certificates",
                )
            }
            _ => {}
        }
        let mut min_version = self.version(p, "min_version", get("min_version"), TlsVersion::Tls12);
        let max_version = self.version(p, "max_version", get("max_version"), TlsVersion::Tls13);
        if let (Some(min), Some(max)) = (min_version, max_version) {
            if min > max {
                self.problem(&join(p, "min_version"), "is above max_version");
                min_version = None;
            }
        }
        let prefer_server_order = match get("prefer_server_cipher_suites") {
            None => Some(true),
            Some(v) => self.boolean(&join(p, "prefer_server_cipher_suites"), v),
        };
        let (cert, key, client_auth, min_version, max_version, prefer_server_order) = (
            cert?,
            key?,
            client_auth?,
            min_version?,
            max_version?,
            prefer_server_order?,
        );
        for pem in [Some(&cert), Some(&key), client_ca.as_ref()]
            .into_iter()
            .flatten()
        {
            self.part(pem.bytes.as_slice());
        }
        let built = build(
            &cert,
            &key,
            client_ca.as_ref(),
            client_auth,
            (min_version, max_version),
            prefer_server_order,
        );
        match built {
            Ok(server_config) => Some(TlsServer {
                cert_file: cert.file,
                key_file: key.file,
                client_ca_file: client_ca.and_then(|c| c.file),
                client_auth,
                min_version,
                max_version,
                server_config: Arc::new(server_config),
            }),
            Err(problem) => {
                self.problems.push(problem);
                None
            }
        }
    }

    fn version(
        &mut self,
        section: &str,
        name: &str,
        value: Option<&Value>,
        default: TlsVersion,
    ) -> Option<TlsVersion> {
        let Some(value) = value else {
            return Some(default);
        };
        let key = join(section, name);
        match self.string(&key, value)?.as_str() {
            "TLS12" => Some(TlsVersion::Tls12),
            "TLS13" => Some(TlsVersion::Tls13),
            old @ ("TLS10" | "TLS11") => {
                self.problem(
                    &key,
                    format!("{old} is not supported (rustls offers TLS12 and TLS13)"),
                );
                None
            }
            other => {
                self.problem(
                    &key,
                    format!("{other:?} is not a TLS version (expected TLS12 or TLS13)"),
                );
                None
            }
        }
    }

    fn http(&mut self, value: &Value) -> Vec<(String, String)> {
        let p = "http_server_config";
        let mut headers = Vec::new();
        for (key, value) in entries(value, p, HTTP_KEYS, &mut self.problems) {
            match key {
                "http2" if self.boolean(&join(p, "http2"), value) == Some(true) => {
                    self.problem(
                        &join(p, "http2"),
                        "HTTP/2 is not supported by this exporter; set http2: false or remove it",
                    );
                }
                "headers" => headers = self.headers(value),
                _ => {}
            }
        }
        headers
    }

    fn headers(&mut self, value: &Value) -> Vec<(String, String)> {
        let p = "http_server_config.headers";
        let Value::Mapping(mapping) = value else {
            self.problems
                .push(expected(p, "a mapping of header names to values", value));
            return Vec::new();
        };
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in mapping {
            let shown = key_text(k);
            let key = join(p, &shown);
            let Some(name) = HEADERS
                .iter()
                .find(|h| matches!(untag(k), Value::String(s) if s.eq_ignore_ascii_case(h)))
            else {
                self.problem(
                    &key,
                    format!(
                        "is not a header this exporter sets (expected one of {})",
                        HEADERS.join(", ")
                    ),
                );
                continue;
            };
            let Some(text) = (match untag(v) {
                Value::Null => Some(String::new()),
                other => self.string(&key, other),
            }) else {
                continue;
            };
            let text = text.trim().to_string();
            if text.chars().any(|c| c.is_control()) {
                self.problem(&key, "must be one line of text");
                continue;
            }
            let allowed: &[&str] = match *name {
                "X-Frame-Options" => &["deny", "sameorigin"],
                "X-Content-Type-Options" => &["nosniff"],
                _ => &[],
            };
            if !text.is_empty()
                && !allowed.is_empty()
                && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&text))
            {
                self.problem(
                    &key,
                    format!("{text:?} is not accepted (expected {})", allowed.join(" or ")),
                );
                continue;
            }
            // Blank means unset, as in the toolkit.
            if !text.is_empty() {
                out.push(((*name).to_string(), text));
            }
        }
        out
    }

    fn users(&mut self, value: &Value) -> Vec<BasicUser> {
        let p = "basic_auth_users";
        let Value::Mapping(mapping) = value else {
            self.problems
                .push(expected(p, "a mapping of user names to bcrypt hashes", value));
            return Vec::new();
        };
        let mut users = Vec::new();
        for (k, v) in mapping {
            let key = join(p, &key_text(k));
            let name = match untag(k) {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    self.problem(&key, "a user name must be a string");
                    continue;
                }
            };
            if name.is_empty() || name.contains(':') || name.chars().any(|c| c.is_control()) {
                self.problem(
                    &key,
                    "is not a usable user name (non-empty, no ':' and no control characters)",
                );
                continue;
            }
            let hash = match untag(v) {
                Value::String(s) => s.trim().to_string(),
                other => {
                    self.problems.push(expected(&key, "a bcrypt hash", other));
                    continue;
                }
            };
            // The hash is not shown: it is a password's stand-in.
            match bcrypt::HashParts::from_str(&hash) {
                Ok(_) if hash.starts_with("$2x$") => self.problem(
                    &key,
                    "is a $2x$ bcrypt hash (from a buggy implementation); hash the password again, e.g. htpasswd -nBC 10 \"\" | tr -d ':\\n'",
                ),
                Ok(parts) if !(4..=31).contains(&parts.get_cost()) => self.problem(
                    &key,
                    format!("bcrypt cost {} is out of range 4-31", parts.get_cost()),
                ),
                Ok(_) => users.push(BasicUser { name, hash }),
                Err(_) => self.problem(
                    &key,
                    "is not a bcrypt hash (expected 60 characters like $2y$10$..., e.g. from htpasswd -nBC 10 \"\" | tr -d ':\\n')",
                ),
            }
        }
        for user in &users {
            self.part(user.name.as_bytes());
            self.part(user.hash.as_bytes());
        }
        users
    }
}

/// Builds the rustls server configuration: the last check of `tls_server_config`.
fn build(
    cert: &Pem,
    key: &Pem,
    client_ca: Option<&Pem>,
    client_auth: ClientAuth,
    (min, max): (TlsVersion, TlsVersion),
    prefer_server_order: bool,
) -> Result<rustls::ServerConfig, Problem> {
    let named = |pem: &Pem| match &pem.file {
        Some(file) => format!("{} ", file.display()),
        None => String::new(),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert.bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| Problem::new(&cert.key, format!("{}is not valid PEM: {e}", named(cert))))?;
    if chain.is_empty() {
        return Err(Problem::new(
            &cert.key,
            format!(
                "{}holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)",
                named(cert)
            ),
        ));
    }
    // The error text of a key parse could quote key material: name the file only.
    let private_key = PrivateKeyDer::from_pem_slice(&key.bytes).map_err(|_| {
        Problem::new(
            &key.key,
            format!(
                "{}holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1)",
                named(key)
            ),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (min..=max).contains(v))
    .map(|(_, version)| version)
    .collect();
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| Problem::new("tls_server_config", format!("cannot use these TLS versions: {e}")))?;
    let builder = match (client_auth, client_ca) {
        (ClientAuth::NoClientCert, _) | (_, None) => builder.with_no_client_auth(),
        (auth, Some(ca)) => {
            let mut roots = rustls::RootCertStore::empty();
            let mut count = 0;
            for der in CertificateDer::pem_slice_iter(&ca.bytes) {
                let der =
                    der.map_err(|e| Problem::new(&ca.key, format!("{}is not valid PEM: {e}", named(ca))))?;
                roots.add(der).map_err(|e| {
                    Problem::new(
                        &ca.key,
                        format!(
                            "{}holds a certificate that cannot be a trust anchor: {e}",
                            named(ca)
                        ),
                    )
                })?;
                count += 1;
            }
            if count == 0 {
                return Err(Problem::new(
                    &ca.key,
                    format!(
                        "{}holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)",
                        named(ca)
                    ),
                ));
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::clone(&provider),
            );
            let verifier = match auth {
                ClientAuth::VerifyClientCertIfGiven => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            let verifier = verifier
                .build()
                .map_err(|e| Problem::new(&ca.key, format!("cannot verify clients with it: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, private_key).map_err(|e| {
        let detail = match e {
            rustls::Error::InconsistentKeys(_) => "does not match the certificate".to_string(),
            other => format!("cannot be used with the certificate: {other}"),
        };
        Problem::new(&key.key, format!("{}{detail}", named(key)))
    })?;
    config.ignore_client_order = prefer_server_order;
    // HTTP/1.1 only; a client offering h2 alone is refused in the handshake.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::super::files::FileData;
    use super::*;

    struct Fixture {
        dir: tempfile::TempDir,
    }

    /// A certificate for `localhost` and its key, PEM.
    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    impl Fixture {
        fn new() -> Fixture {
            let fx = Fixture {
                dir: tempfile::tempdir().unwrap(),
            };
            let (cert, key) = self_signed();
            fx.write("server.crt", &cert);
            fx.write("server.key", &key);
            fx.write("ca.crt", &cert);
            let (_, other_key) = self_signed();
            fx.write("other.key", &other_key);
            fx.write("garbage.pem", "not pem at all\n");
            fx
        }

        fn write(&self, name: &str, text: &str) {
            std::fs::write(self.dir.path().join(name), text).unwrap();
        }

        fn load(&self, yaml: &str) -> Result<WebConfig, Vec<String>> {
            self.write("web.yml", yaml);
            let read = |p: &Path| -> Result<FileData, String> {
                std::fs::read(p)
                    .map(|bytes| FileData { bytes, mode: None })
                    .map_err(|e| e.to_string())
            };
            load(&self.dir.path().join("web.yml"), &read).map_err(|ps| {
                ps.iter()
                    .map(|p| p.to_string().replace(&self.dir(), "{dir}"))
                    .collect()
            })
        }

        fn dir(&self) -> String {
            self.dir.path().display().to_string()
        }
    }

    #[test]
    fn bad_web_configs_report_exact_problems() {
        let fx = Fixture::new();
        #[rustfmt::skip]
        let cases: &[(&str, &[&str])] = &[
            ("tls_server_config: {cert_file: server.crt, key_file: server.key, cert_fiel: x}\n", &["tls_server_config.cert_fiel: unknown key (did you mean `cert_file`?)"]),
            ("basic_auth_user: {}\n", &["basic_auth_user: unknown key (did you mean `basic_auth_users`?)"]),
            ("tls_server_config: {key_file: server.key}\n", &["tls_server_config.cert_file: is required (or cert) to serve TLS"]),
            ("tls_server_config: {cert_file: server.crt, key_file: missing.key}\n", &["tls_server_config.key_file: cannot read {dir}/missing.key: No such file or directory (os error 2)"]),
            ("tls_server_config: {cert_file: server.crt, key_file: other.key}\n", &["tls_server_config.key_file: {dir}/other.key does not match the certificate"]),
            ("tls_server_config: {cert_file: garbage.pem, key_file: server.key}\n", &["tls_server_config.cert_file: {dir}/garbage.pem holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)"]),
            ("tls_server_config: {cert_file: server.crt, key_file: garbage.pem}\n", &["tls_server_config.key_file: {dir}/garbage.pem holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1)"]),
            ("tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: RequireAndVerifyClientCert}\n", &["tls_server_config.client_ca_file: is required (or client_ca) to verify client certificates"]),
            ("tls_server_config: {cert_file: server.crt, key_file: server.key, client_ca_file: ca.crt}\n", &["tls_server_config.client_auth_type: client CA certificates are set but client_auth_type is NoClientCert; set RequireAndVerifyClientCert (or VerifyClientCertIfGiven), or remove the client CA"]),
            ("tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: RequireAnyClientCert}\n", &["tls_server_config.client_auth_type: RequireAnyClientCert accepts client certificates without verifying them and is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"]),
            ("tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: Always}\n", &["tls_server_config.client_auth_type: \"Always\" is not a client auth type (expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"]),
            ("tls_server_config: {cert_file: server.crt, key_file: server.key, min_version: TLS10}\n", &["tls_server_config.min_version: TLS10 is not supported (rustls offers TLS12 and TLS13)"]),
            ("tls_server_config: {cert_file: server.crt, key_file: server.key, min_version: TLS13, max_version: TLS12}\n", &["tls_server_config.min_version: is above max_version"]),
            ("tls_server_config: {cert_file: server.crt, key_file: server.key, cipher_suites: [TLS_AES_128_GCM_SHA256]}\n", &["tls_server_config.cipher_suites: is not supported by this exporter: rustls offers only modern AEAD suites; remove it"]),
            ("tls_server_config: {cert_file: server.crt, cert: x, key_file: server.key}\n", &["tls_server_config: set either cert or cert_file, not both"]),
            ("http_server_config: {http2: true}\n", &["http_server_config.http2: HTTP/2 is not supported by this exporter; set http2: false or remove it"]),
            ("http_server_config: {headers: {X-Frame-Options: allow}}\n", &["http_server_config.headers.X-Frame-Options: \"allow\" is not accepted (expected deny or sameorigin)"]),
            ("http_server_config: {headers: {Server: nginx}}\n", &["http_server_config.headers.Server: is not a header this exporter sets (expected one of Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, Strict-Transport-Security)"]),
            ("basic_auth_users: {alice: secret}\n", &["basic_auth_users.alice: is not a bcrypt hash (expected 60 characters like $2y$10$..., e.g. from htpasswd -nBC 10 \"\" | tr -d ':\\n')"]),
            ("basic_auth_users: {\"a:b\": x}\n", &["basic_auth_users.a:b: is not a usable user name (non-empty, no ':' and no control characters)"]),
            ("basic_auth_users: [alice]\n", &["basic_auth_users: expected a mapping of user names to bcrypt hashes, got a list"]),
            ("rate_limit: {interval: 1s, burst: 20}\n", &["rate_limit: is not supported by this exporter (its front already caps connections and request sizes); remove it"]),
            ("tls_server_config: [\n", &["invalid YAML at line 2 column 1: did not find expected node content"]),
            ("- a\n", &["expected a mapping, got a list"]),
        ];
        for (yaml, want) in cases {
            let got = fx.load(yaml).err().unwrap_or_default();
            let got = got
                .iter()
                .map(|s| {
                    s.split(" while parsing")
                        .next()
                        .unwrap_or(s)
                        .trim_end_matches(',')
                        .to_string()
                })
                .collect::<Vec<_>>();
            assert_eq!(got, *want, "{yaml}");
        }
    }

    #[test]
    fn a_good_web_config_is_read_whole() {
        let fx = Fixture::new();
        let hash = bcrypt::hash("secret", 4).expect("bcrypt");
        let yaml = format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS13\n\
             http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: DENY\n    Strict-Transport-Security: max-age=31536000\n    Content-Security-Policy: \"\"\n\
             basic_auth_users:\n  alice: {hash}\n  bob: \"{hash}\"\n"
        );
        let web = fx.load(&yaml).expect("valid");
        let tls = web.tls.as_ref().expect("tls on");
        assert_eq!(tls.client_auth, ClientAuth::RequireAndVerifyClientCert);
        assert_eq!(
            (tls.min_version, tls.max_version),
            (TlsVersion::Tls13, TlsVersion::Tls13)
        );
        assert_eq!(
            web.headers,
            vec![
                ("X-Frame-Options".to_string(), "DENY".to_string()),
                (
                    "Strict-Transport-Security".to_string(),
                    "max-age=31536000".to_string()
                )
            ]
        );
        assert_eq!(
            web.users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["alice", "bob"]
        );
        let files = web.files();
        assert_eq!(files.len(), 4, "{files:?}");
        let shown = format!("{web:?}");
        assert!(
            !shown.contains(&hash) && !shown.contains("PRIVATE KEY"),
            "{shown}"
        );

        // Same content, same digest; a changed key file changes it.
        let again = fx.load(&yaml).expect("valid");
        assert_eq!(web, again);
        let (cert, key) = self_signed();
        fx.write("server.crt", &cert);
        fx.write("server.key", &key);
        assert_ne!(web, fx.load(&yaml).expect("valid"));
    }

    #[test]
    fn empty_files_and_sections_enable_nothing() {
        let fx = Fixture::new();
        for yaml in ["", "# nothing\n", "tls_server_config:\nbasic_auth_users: {}\n"] {
            let web = fx.load(yaml).expect("valid");
            assert!(
                web.tls.is_none() && web.users.is_empty() && web.headers.is_empty(),
                "{yaml}"
            );
        }
    }

    #[test]
    fn inline_pem_is_accepted() {
        let fx = Fixture::new();
        let (cert, key) = self_signed();
        let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
        let yaml = format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}",
            indent(&cert),
            indent(&key)
        );
        let web = fx.load(&yaml).expect("valid");
        assert!(web.tls.as_ref().is_some_and(|t| t.cert_file.is_none()));
        assert_eq!(web.files().len(), 1);
    }

    #[test]
    fn the_main_config_names_it_and_hashes_what_it_names() {
        let fx = Fixture::new();
        fx.write(
            "web.yml",
            "tls_server_config: {cert_file: server.crt, key_file: server.key}\n",
        );
        let path = fx.dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "server:\n  webConfigFile: web.yml\nnbuservers: [{site: paris, host: nbu, apiKey: k}]\n",
        )
        .unwrap();
        let env = |_: &str| None;
        let first = crate::config::load(&path, &env).expect("valid");
        let web = first.config.server.web.as_ref().expect("web config loaded");
        assert!(web.tls.is_some());
        assert_eq!(first.config.referenced_files().len(), 3, "web.yml, cert and key");

        let (cert, key) = self_signed();
        fx.write("server.crt", &cert);
        fx.write("server.key", &key);
        let rotated = crate::config::load(&path, &env).expect("valid");
        assert_ne!(
            first.sha256, rotated.sha256,
            "a rotated certificate is a config change"
        );
        assert_eq!(
            crate::config::diff(&first.config, &rotated.config).keys(),
            ["server.webConfigFile"]
        );

        std::fs::copy(fx.dir.path().join("other.key"), fx.dir.path().join("server.key")).unwrap();
        let err = crate::config::load(&path, &env).expect_err("a mismatched key");
        let shown: Vec<String> = err
            .problems
            .iter()
            .map(|p| p.to_string().replace(&fx.dir(), "{dir}"))
            .collect();
        assert_eq!(
            shown,
            ["server.webConfigFile: {dir}/web.yml: tls_server_config.key_file: {dir}/server.key does not match the certificate"]
        );

        fx.write("flag.yml", "basic_auth_users: {}\n");
        let options = crate::config::LoadOptions {
            web_config_file: Some(fx.dir.path().join("flag.yml")),
        };
        let flagged =
            crate::config::load_with(&path, &env, &options).expect("the flag wins over the bad file");
        let web = flagged.config.server.web.as_ref().expect("web config loaded");
        assert!(web.path.ends_with("flag.yml") && web.tls.is_none());
        assert!(
            flagged.warnings.contains(
                &"server.webConfigFile: ignored because --web.config.file is set on the command line"
                    .to_string()
            ),
            "{:?}",
            flagged.warnings
        );
    }
}
