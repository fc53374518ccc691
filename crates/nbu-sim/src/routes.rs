//! What a well-formed request is answered when no fault applies: which endpoint it is
//! (404, 405), the API key (401), version negotiation against `Accept` (406), and
//! NetBackup's JSON error body for every failure. `/ping` answers here; the jobs and storage
//! unit collections are answered by `paging`, the opt-in collectors' endpoints by
//! `resource_routes`.
//!
//! It knows nothing of sockets (`http` parsed the request and writes the answer) nor of
//! faults.

use serde_json::{json, Map, Value};

use crate::http::{Request, Response};
use crate::paging::{jobs_page, storage_page};
use crate::resource_routes::{resource_page, Resource};
use crate::server::Shared;
use crate::version::ApiVersion;

pub(crate) const JSON_MEDIA: &str = "application/vnd.netbackup+json";
const TEXT_MEDIA: &str = "text/vnd.netbackup+plain";

/// NetBackup's answers.
impl Response {
    pub(crate) fn json(version: ApiVersion, body: String) -> Response {
        Response::new(200, &format!("{JSON_MEDIA};version={version}"), body.into_bytes())
    }

    /// NetBackup's error body. The `errorCode` values are the simulator's own (8961 for a
    /// bad request, as in a spec example; otherwise the HTTP status); clients must not
    /// rely on them.
    pub(crate) fn error(status: u16, message: &str, attribute_errors: Map<String, Value>) -> Response {
        let code = if status == 400 { 8961 } else { i64::from(status) };
        let body = json!({
            "errorCode": code,
            "errorMessage": message,
            "errorDetails": [format!("nbu-exporter simulator: {message}")],
            "attributeErrors": attribute_errors,
            "fileUploadErrors": [],
        });
        Response::new(status, "application/json", body.to_string().into_bytes())
    }
}

/// The first media range of type `media` in an `Accept` list whose `version` parameter is
/// in `accepted`. Loose: case-insensitive names, optional spaces, quoted values.
pub(crate) fn negotiate(accept: Option<&str>, media: &str, accepted: &[ApiVersion]) -> Option<ApiVersion> {
    requested(accept?, media)
        .into_iter()
        .flatten()
        .find(|v| accepted.contains(v))
}

/// The versions asked for in every range of type `media` (`None`: no or a bad version).
fn requested(accept: &str, media: &str) -> Vec<Option<ApiVersion>> {
    let mut out = Vec::new();
    for range in accept.split(',') {
        let mut params = range.split(';');
        if !params.next().unwrap_or("").trim().eq_ignore_ascii_case(media) {
            continue;
        }
        let version = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("version"))
            .and_then(|(_, v)| ApiVersion::parse(v.trim().trim_matches('"')));
        out.push(version);
    }
    out
}

/// An API failure answered with the error body.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: u16,
    message: String,
    attribute: Option<&'static str>,
}

pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError {
        status: 400,
        message: message.into(),
        attribute: None,
    }
}

pub(crate) fn not_found(message: &str) -> ApiError {
    ApiError {
        status: 404,
        message: message.to_string(),
        attribute: None,
    }
}

pub(crate) fn bad_param(attribute: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status: 400,
        message: message.into(),
        attribute: Some(attribute),
    }
}

impl ApiError {
    fn response(&self) -> Response {
        let mut attributes = Map::new();
        if let Some(name) = self.attribute {
            attributes.insert(name.to_string(), json!(self.message));
        }
        Response::error(self.status, &self.message, attributes)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Ping,
    Jobs,
    StorageUnits,
    Resource(Resource),
}

/// Answers one well-formed request without faults.
pub(crate) fn route(shared: &Shared, req: &Request) -> Response {
    if req.path == "/netbackup/security/cacert" {
        return crate::tls::cacert(shared, req);
    }
    let endpoint = match req.path.as_str() {
        "/netbackup/ping" => Endpoint::Ping,
        "/netbackup/admin/jobs" => Endpoint::Jobs,
        "/netbackup/storage/storage-units" => Endpoint::StorageUnits,
        path => match Resource::of_path(path) {
            Some(resource) => Endpoint::Resource(resource),
            None => return Response::error(404, &format!("no such resource: {}", req.path), Map::new()),
        },
    };
    if req.method != "GET" {
        let mut response = Response::error(405, &format!("method {} is not allowed", req.method), Map::new());
        response.headers.push(("Allow", "GET".to_string()));
        return response;
    }
    let (api_key, versions, served) = shared.answer_state();
    let accept = req.accept();
    if endpoint == Endpoint::Ping {
        return ping(accept.as_deref(), &versions, shared.clock.now());
    }
    if req.header("authorization") != Some(api_key.as_str()) {
        return Response::error(
            401,
            "The Authorization header is missing, the token is invalid, or you do not have permission for this action.",
            Map::new(),
        );
    }
    let Some(version) = negotiate(accept.as_deref(), JSON_MEDIA, &versions) else {
        return not_acceptable(&versions);
    };
    let base = req.base_href(shared.local_addr());
    let now = shared.clock.now();
    let result = match endpoint {
        Endpoint::Jobs => jobs_page(&served, &req.query, now, &base),
        Endpoint::Resource(resource) => {
            resource_page(resource, &served.data.resources, &req.query, version, now, &base)
        }
        _ => storage_page(&served.data, &req.query, &base),
    };
    match result {
        Ok(body) => Response::json(version, body),
        Err(e) => e.response(),
    }
}

fn not_acceptable(versions: &[ApiVersion]) -> Response {
    let list: Vec<String> = versions.iter().map(ToString::to_string).collect();
    let mut attributes = Map::new();
    attributes.insert(
        "Accept".into(),
        json!(format!("supported versions: {}", list.join(", "))),
    );
    Response::error(
        406,
        "Invalid Accept type. Make sure your Accept header matches what this API produces.",
        attributes,
    )
}

/// `GET /ping`: no auth; the primary's clock in epoch milliseconds.
fn ping(accept: Option<&str>, versions: &[ApiVersion], now: i64) -> Response {
    let asked: Vec<Option<ApiVersion>> = accept
        .map(|a| [requested(a, TEXT_MEDIA), requested(a, JSON_MEDIA)].concat())
        .unwrap_or_default();
    let version = if asked.is_empty() {
        versions.iter().max().copied()
    } else {
        asked.into_iter().flatten().find(|v| versions.contains(v))
    };
    match version {
        Some(v) => Response::new(
            200,
            &format!("{TEXT_MEDIA};version={v}"),
            now.to_string().into_bytes(),
        ),
        None => not_acceptable(versions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SimData;
    use crate::testing::*;
    use crate::time::now_millis;

    #[test]
    fn wrong_or_missing_key_is_401_with_the_error_body() {
        let server = start(SimData::known(now_millis()));
        let accept = Some("application/vnd.netbackup+json;version=13.0");
        for key in [Some("wrong"), Some("Bearer test-key-123"), None] {
            let reply = get_with(server.addr(), "/netbackup/admin/jobs", key, accept);
            assert_eq!(reply.status, 401, "{key:?}");
            let body = reply.json();
            assert!(body["errorCode"].is_i64());
            assert!(body["errorMessage"].is_string());
            assert!(body["errorDetails"].is_array() && body["attributeErrors"].is_object());
        }
        // Auth is checked before the version.
        let reply = get_with(
            server.addr(),
            "/netbackup/admin/jobs",
            Some("wrong"),
            Some("text/html"),
        );
        assert_eq!(reply.status, 401);
        server.handle().set_api_key("new-key");
        let reply = get_with(server.addr(), "/netbackup/admin/jobs", Some("new-key"), accept);
        assert_eq!(reply.status, 200);
    }

    #[test]
    fn version_negotiation() {
        let server = start(SimData::known(now_millis()));
        server
            .handle()
            .set_versions(vec![ApiVersion::V12_0, ApiVersion::V10_0]);
        let check = |accept: Option<&str>, want: u16| {
            let reply = get_with(server.addr(), "/netbackup/admin/jobs", Some(KEY), accept);
            assert_eq!(reply.status, want, "{accept:?}: {}", reply.body);
            reply
        };
        let reply = check(Some("application/vnd.netbackup+json;version=14.0"), 406);
        assert!(reply.json()["errorMessage"].is_string());
        check(Some("application/vnd.netbackup+json;version=3.0"), 406);
        check(Some("application/vnd.netbackup+json"), 406);
        check(Some("application/json"), 406);
        check(Some("*/*"), 406);
        check(None, 406);
        let reply = check(Some("application/vnd.netbackup+json;version=12.0"), 200);
        assert_eq!(
            reply.header("content-type"),
            Some("application/vnd.netbackup+json;version=12.0")
        );
        assert_eq!(reply.header("connection"), Some("close"));
        let reply = check(
            Some("text/plain, Application/VND.netbackup+json ; version = \"10.0\""),
            200,
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/vnd.netbackup+json;version=10.0")
        );
    }

    #[test]
    fn ping_needs_no_auth_and_routing_errors() {
        let server = start(SimData::default());
        let reply = get_with(server.addr(), "/netbackup/ping", None, None);
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some("text/vnd.netbackup+plain;version=14.0")
        );
        let ms: i64 = reply.body.parse().unwrap();
        assert!((ms - now_millis()).abs() < 60_000);
        let reply = get_with(
            server.addr(),
            "/netbackup/ping",
            None,
            Some("text/vnd.netbackup+plain;version=9.0"),
        );
        assert_eq!(reply.status, 406);
        let reply = get(&server, "/admin/nope");
        assert_eq!(reply.status, 404);
        assert!(reply.json()["errorCode"].is_i64());
        let reply = raw(
            server.addr(),
            b"POST /netbackup/admin/jobs HTTP/1.1\r\nAuthorization: test-key-123\r\n\r\n",
        )
        .unwrap();
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some("GET"));
    }
}
