//! Who may use the exporter's port: HTTP basic authentication against the web config's
//! bcrypt hashes, and the refusal of state-changing requests a browser sends cross-site.
//!
//! Every path needs credentials except the liveness and readiness probes (`PROBES`), which
//! say nothing about the backup estate and must work for plain Kubernetes `httpGet`
//! probes. bcrypt is slow on purpose (tens of ms): each distinct credential is verified
//! once and the verdict cached, keyed by a salted SHA-256 of user, hash and password, so a
//! scrape every 15 s never pays it again. A user name is compared in constant time against
//! every configured name, and an unknown name still costs a bcrypt verification, so timing
//! tells nothing about which names exist. bcrypt verifications run one at a time: a flood
//! of new credentials costs one core, and cached credentials never wait for it.
//!
//! It knows request facts (method, target, a few header values), not routes or handlers.

use std::collections::HashMap;
use std::time::Instant;

use base64::Engine;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::config::web::BasicUser;

/// Paths served without credentials: the probes, which tell only "alive" and "ready".
pub const PROBES: [&str; 3] = ["/-/healthy", "/health", "/-/ready"];
/// The realm in `WWW-Authenticate`.
const REALM: &str = "nbu-exporter";
/// Cached verdicts kept at most; the cache starts over when full.
const MAX_VERDICTS: usize = 1024;

/// What the front learned from a request head.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct RequestFacts {
    pub method: Vec<u8>,
    /// The request target as sent (path and query).
    pub target: Vec<u8>,
    /// Every `Authorization` field value (more than one is refused).
    pub authorization: Vec<Vec<u8>>,
    pub origin: Option<Vec<u8>>,
    pub sec_fetch_site: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
}

impl RequestFacts {
    fn path(&self) -> &[u8] {
        let end = self
            .target
            .iter()
            .position(|b| *b == b'?')
            .unwrap_or(self.target.len());
        &self.target[..end]
    }

    fn is_probe(&self) -> bool {
        PROBES.iter().any(|p| p.as_bytes() == self.path())
    }

    fn is_safe_method(&self) -> bool {
        matches!(self.method.as_slice(), b"GET" | b"HEAD" | b"OPTIONS")
    }
}

/// An answer the front gives instead of forwarding the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Denial {
    pub status: u16,
    pub text: &'static str,
    /// Whether to send `WWW-Authenticate` (a 401).
    pub challenge: bool,
}

impl Denial {
    pub(super) fn www_authenticate() -> String {
        format!("WWW-Authenticate: Basic realm=\"{REALM}\", charset=\"UTF-8\"\r\n")
    }
}

const UNAUTHORIZED: Denial = Denial {
    status: 401,
    text: "authentication required",
    challenge: true,
};

/// A browser's cross-site state-changing request (a page POSTing to `/-/reload` with no
/// body needs no CORS preflight): `Sec-Fetch-Site: cross-site`, or an `Origin` that is not
/// this exporter (`scheme://Host`). Requests without either (curl, Prometheus, the reload
/// client) are not browsers' and pass.
pub(super) fn cross_site(facts: &RequestFacts, tls: bool) -> Option<Denial> {
    if facts.is_safe_method() {
        return None;
    }
    let refused = |text| {
        Some(Denial {
            status: 403,
            text,
            challenge: false,
        })
    };
    if facts
        .sec_fetch_site
        .as_deref()
        .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"cross-site"))
    {
        return refused("cross-site request refused (Sec-Fetch-Site: cross-site); send it from the exporter's own origin or without a browser");
    }
    let Some(origin) = &facts.origin else {
        return None;
    };
    let scheme: &[u8] = if tls { b"https://" } else { b"http://" };
    let own = facts
        .host
        .as_ref()
        .map(|host| [scheme, host.trim_ascii()].concat());
    if own.is_some_and(|own| origin.trim_ascii().eq_ignore_ascii_case(&own)) {
        return None;
    }
    refused("cross-site request refused (the Origin header names another site); send it from the exporter's own origin or without a browser")
}

/// The verdicts of bcrypt verifications, shared by every generation's edge so that a
/// reload does not make scrapers pay again.
pub struct Verdicts {
    salt: [u8; 32],
    cache: Mutex<HashMap<[u8; 32], bool>>,
    /// Held while one bcrypt verification runs.
    verifying: Mutex<()>,
    verifications: prometheus::IntCounter,
}

impl Verdicts {
    /// `verifications` counts bcrypt verifications (cache misses).
    pub fn new(verifications: prometheus::IntCounter) -> Verdicts {
        let mut salt = [0u8; 32];
        // A fixed salt would still work; a random one keeps the keys from matching any
        // table computed elsewhere.
        let _ = rustls::crypto::ring::default_provider()
            .secure_random
            .fill(&mut salt);
        Verdicts {
            salt,
            cache: Mutex::new(HashMap::new()),
            verifying: Mutex::new(()),
            verifications,
        }
    }

    /// bcrypt verifications run so far.
    pub fn verifications(&self) -> u64 {
        self.verifications.get()
    }

    fn key(&self, user: &[u8], hash: &str, password: &[u8]) -> [u8; 32] {
        let mut d = Sha256::new();
        d.update(self.salt);
        for part in [user, hash.as_bytes(), password] {
            d.update((part.len() as u64).to_le_bytes());
            d.update(part);
        }
        d.finalize().into()
    }

    /// Whether `password` matches `hash`, from the cache or by one bcrypt verification
    /// (waiting for another to finish at most until `deadline`; `None` past it).
    fn verify(&self, user: &[u8], hash: &str, password: &[u8], deadline: Instant) -> Option<bool> {
        let key = self.key(user, hash, password);
        if let Some(verdict) = self.cache.lock().get(&key) {
            return Some(*verdict);
        }
        let _turn = self.verifying.try_lock_until(deadline)?;
        // Another connection may have verified the same credential meanwhile.
        if let Some(verdict) = self.cache.lock().get(&key) {
            return Some(*verdict);
        }
        let verdict = bcrypt::verify(password, hash).unwrap_or(false);
        self.verifications.inc();
        let mut cache = self.cache.lock();
        if cache.len() >= MAX_VERDICTS {
            cache.clear();
        }
        cache.insert(key, verdict);
        Some(verdict)
    }
}

/// The configured users, with name digests for constant-time lookup.
pub(super) struct BasicAuth {
    users: Vec<([u8; 32], String)>,
}

impl BasicAuth {
    /// `None` when there are no users: authentication is off.
    pub(super) fn new(users: &[BasicUser]) -> Option<BasicAuth> {
        if users.is_empty() {
            return None;
        }
        Some(BasicAuth {
            users: users
                .iter()
                .map(|u| (Sha256::digest(u.name.as_bytes()).into(), u.hash.clone()))
                .collect(),
        })
    }

    /// Checks the request's credentials; probes pass without.
    pub(super) fn check(
        &self,
        facts: &RequestFacts,
        verdicts: &Verdicts,
        deadline: Instant,
    ) -> Result<(), Denial> {
        if facts.is_probe() {
            return Ok(());
        }
        let [header] = facts.authorization.as_slice() else {
            return Err(UNAUTHORIZED);
        };
        let (user, password) = basic_credentials(header).ok_or(UNAUTHORIZED)?;
        let wanted: [u8; 32] = Sha256::digest(&user).into();
        let mut found: Option<&str> = None;
        for (name, hash) in &self.users {
            // Every name is compared, in constant time: no early exit.
            if constant_time_eq(name, &wanted) && found.is_none() {
                found = Some(hash);
            }
        }
        // An unknown user costs a verification too, against a real hash (same cost).
        let hash = found.unwrap_or(&self.users[0].1);
        match verdicts.verify(&user, hash, &password, deadline) {
            Some(true) if found.is_some() => Ok(()),
            Some(_) => Err(UNAUTHORIZED),
            None => Err(Denial {
                status: 503,
                text: "authentication is busy; retry",
                challenge: false,
            }),
        }
    }
}

/// `Basic base64(user:password)` -> (user, password).
fn basic_credentials(header: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let header = header.trim_ascii();
    let (scheme, encoded) = header.split_at(header.iter().position(|b| *b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn facts(method: &str, target: &str, authorization: &[&str]) -> RequestFacts {
        RequestFacts {
            method: method.as_bytes().to_vec(),
            target: target.as_bytes().to_vec(),
            authorization: authorization.iter().map(|a| a.as_bytes().to_vec()).collect(),
            ..RequestFacts::default()
        }
    }

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    fn verdicts() -> Verdicts {
        Verdicts::new(prometheus::IntCounter::new("v", "v").unwrap())
    }

    #[test]
    fn credentials_are_checked_and_verified_once_each() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::new(&[
            BasicUser {
                name: "alice".into(),
                hash: hash.clone(),
            },
            BasicUser {
                name: "bob".into(),
                hash: bcrypt::hash("other", 4).unwrap(),
            },
        ])
        .expect("users");
        let v = verdicts();
        let deadline = || Instant::now() + Duration::from_secs(5);
        let check = |f: &RequestFacts| auth.check(f, &v, deadline()).map_err(|d| d.status);
        let right = basic("alice", "s3cret");
        for _ in 0..1000 {
            assert_eq!(check(&facts("GET", "/metrics", &[&right])), Ok(()));
        }
        assert_eq!(v.verifications(), 1, "one bcrypt for 1,000 requests");
        assert_eq!(check(&facts("GET", "/metrics", &[])), Err(401));
        assert_eq!(
            check(&facts("GET", "/metrics", &[&basic("alice", "wrong")])),
            Err(401)
        );
        assert_eq!(
            check(&facts("GET", "/metrics", &[&basic("bob", "s3cret")])),
            Err(401)
        );
        assert_eq!(
            check(&facts("GET", "/metrics", &[&basic("carol", "s3cret")])),
            Err(401)
        );
        assert_eq!(check(&facts("GET", "/metrics", &[&right, &right])), Err(401));
        assert_eq!(check(&facts("GET", "/metrics", &["Bearer abc"])), Err(401));
        assert_eq!(check(&facts("GET", "/metrics", &["Basic !!!"])), Err(401));
        assert_eq!(
            check(&facts("GET", "/metrics", &[&right.to_lowercase()])),
            Err(401)
        );
        assert_eq!(check(&facts("POST", "/-/reload", &[&right])), Ok(()));
        assert_eq!(check(&facts("GET", "/-/config-status", &[])), Err(401));
        assert_eq!(
            v.verifications(),
            4,
            "wrong password, bob's, carol's (against a real hash)"
        );
        for probe in ["/-/healthy", "/health", "/-/ready", "/-/ready?x=1"] {
            assert_eq!(check(&facts("GET", probe, &[])), Ok(()), "{probe}");
        }
        for not_probe in ["/-/healthy/", "/-/he%61lthy", "//health", "/-/ready#x"] {
            assert_eq!(check(&facts("GET", not_probe, &[])), Err(401), "{not_probe}");
        }
    }

    #[test]
    fn cross_site_state_changes_are_refused() {
        let request = |method: &str, origin: Option<&str>, site: Option<&str>| RequestFacts {
            method: method.as_bytes().to_vec(),
            target: b"/-/reload".to_vec(),
            origin: origin.map(|o| o.as_bytes().to_vec()),
            sec_fetch_site: site.map(|s| s.as_bytes().to_vec()),
            host: Some(b"exporter:2112".to_vec()),
            ..RequestFacts::default()
        };
        let refused = |f: RequestFacts, tls: bool| cross_site(&f, tls).map(|d| d.status);
        assert_eq!(
            refused(request("POST", None, None), false),
            None,
            "curl, the reload client"
        );
        assert_eq!(
            refused(request("POST", Some("https://evil.example"), None), false),
            Some(403)
        );
        assert_eq!(refused(request("POST", Some("null"), None), false), Some(403));
        assert_eq!(
            refused(request("POST", Some("http://exporter:2112"), None), false),
            None
        );
        assert_eq!(
            refused(request("POST", Some("http://exporter:2112"), None), true),
            Some(403)
        );
        assert_eq!(
            refused(request("POST", Some("https://exporter:2112"), None), true),
            None
        );
        assert_eq!(
            refused(request("PUT", None, Some("cross-site")), false),
            Some(403)
        );
        assert_eq!(refused(request("POST", None, Some("same-origin")), false), None);
        assert_eq!(
            refused(
                request("GET", Some("https://evil.example"), Some("cross-site")),
                false
            ),
            None
        );
    }
}
