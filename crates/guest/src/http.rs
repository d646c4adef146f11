//! HTTP answers: JSON bodies, errors that say what was wrong (and, for bad input, which
//! parameter), conditional GETs (ETag, 304, Cache-Control), and the API token check for write
//! endpoints.

use serde::Serialize;
use serde_json::json;
use spin_sdk::http::{Request, Response};

/// A request that cannot be answered with what was asked, as the status and body it gets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HttpError {
    /// 400: the request is wrong; `parameter` names the field, parameter or path segment.
    #[error("{message}")]
    BadRequest { parameter: String, message: String },
    /// 401: missing or wrong token.
    #[error("missing or wrong API token (Authorization: Bearer <token>)")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    /// 503: a dependency is down. The detail is logged; the body says only what is unavailable.
    #[error("{what} is unavailable")]
    Unavailable { what: String, detail: String },
}

impl HttpError {
    pub fn bad(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest { parameter: parameter.into(), message: message.into() }
    }

    pub fn unavailable(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Unavailable { what: what.into(), detail: detail.to_string() }
    }

    /// The parameter a 400 names.
    pub fn parameter(&self) -> Option<&str> {
        match self {
            Self::BadRequest { parameter, .. } => Some(parameter),
            _ => None,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Unauthorized => 401,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::Conflict(_) => 409,
            Self::Unavailable { .. } => 503,
        }
    }
}

impl From<HttpError> for Response {
    fn from(e: HttpError) -> Response {
        let body = match &e {
            HttpError::BadRequest { parameter, message } => json!({ "error": message, "parameter": parameter }),
            HttpError::Unavailable { what, detail } => {
                eprintln!("{what} unavailable: {detail}");
                json!({ "error": e.to_string() })
            }
            other => json!({ "error": other.to_string() }),
        };
        json_response(e.status(), &body)
    }
}

/// A JSON response.
pub fn json_response(status: u16, body: &impl Serialize) -> Response {
    let text = serde_json::to_string(body).expect("a response body serialises");
    Response::builder().status(status).header("content-type", "application/json").body(text).build()
}

/// A service's `/health` answer: 200 with what each dependency reported (`state`, an object)
/// when all of them answered, else 503 saying which did not. Causes go to the log only: they
/// name servers and tables.
pub fn health(service: &str, dependencies: Vec<(&str, Result<serde_json::Value, String>)>) -> Response {
    let mut body = json!({ "service": service });
    let mut all_answer = true;
    for (dependency, state) in dependencies {
        body[dependency] = match state {
            Ok(mut report) => {
                report["reachable"] = json!(true);
                report
            }
            Err(e) => {
                eprintln!("{service} health: the {dependency} did not answer: {e}");
                all_answer = false;
                json!({ "reachable": false, "error": format!("the {service} {dependency} is unavailable") })
            }
        };
    }
    body["status"] = json!(if all_answer { "ok" } else { "unavailable" });
    json_response(if all_answer { 200 } else { 503 }, &body)
}

/// [`health`] of a service whose one dependency is its database.
pub fn database_health(service: &str, state: Result<serde_json::Value, String>) -> Response {
    health(service, vec![("database", state)])
}

/// What an endpoint returns: a response, or the error that becomes one.
pub type Reply = Result<Response, HttpError>;

/// Turn a reply into the response to send.
pub fn respond(reply: Reply) -> Response {
    reply.unwrap_or_else(Response::from)
}

/// A strong ETag for `body`, quoted: the first 128 bits of its SHA-256.
pub fn etag_of(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    format!("\"{}\"", digest[..16].iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Whether `header` (an `If-None-Match` value) names `etag`; GETs compare weakly, so a `W/`
/// tag matches too.
pub fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(etag))
}

/// A read's answer made cacheable at the edge and in browsers: a 200 gets an ETag of its body
/// and `cache_control`; a request whose `If-None-Match` names that ETag gets a 304 without a
/// body. Other statuses pass unchanged (errors are not cached).
pub fn cacheable(req: &Request, mut response: Response, cache_control: &str) -> Response {
    if *response.status() != 200 {
        return response;
    }
    let etag = etag_of(response.body());
    let asked = req.header("if-none-match").and_then(|v| v.as_str());
    if asked.is_some_and(|h| etag_matches(h, &etag)) {
        return Response::builder().status(304).header("etag", etag).header("cache-control", cache_control).build();
    }
    response.set_header("etag", etag);
    response.set_header("cache-control", cache_control);
    response
}

/// The path below the route's prefix (Spin's `spin-path-info` header), without slashes at
/// either end, as segments.
pub fn path_segments(req: &Request) -> Vec<String> {
    let path = req.header("spin-path-info").and_then(|v| v.as_str()).unwrap_or("");
    path.trim_matches('/').split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Whether a path segment is a UUID in its text form (battle ids are): a check before any
/// lookup, so a wrong id is a 400 naming it rather than a 404.
pub fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// Write endpoints need `Authorization: Bearer <token>`; an empty configured token closes them.
pub fn authorise(req: &Request, expected: &str) -> Result<(), HttpError> {
    let given = req.header("authorization").and_then(|v| v.as_str()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
    if token_matches(given, expected) {
        Ok(())
    } else {
        Err(HttpError::Unauthorized)
    }
}

/// Compares every byte, so the time taken says nothing about how much of a guess was right.
/// An empty expected token matches nothing.
pub fn token_matches(given: &str, expected: &str) -> bool {
    !expected.is_empty()
        && given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(token_matches("secret", "secret"));
        assert!(!token_matches("secreT", "secret"));
        assert!(!token_matches("secret1", "secret"));
        assert!(!token_matches("", ""), "an empty token closes write endpoints");
    }

    fn get(if_none_match: Option<&str>) -> Request {
        let mut builder = Request::builder();
        builder.method(spin_sdk::http::Method::Get).uri("/api/things");
        if let Some(tag) = if_none_match {
            builder.header("if-none-match", tag);
        }
        builder.build()
    }

    #[test]
    fn a_read_gets_validators_and_a_known_etag_a_304() {
        let first = cacheable(&get(None), json_response(200, &json!({"a": 1})), "public, max-age=5");
        let etag = first.header("etag").and_then(|v| v.as_str()).unwrap().to_string();
        assert_eq!(etag, etag_of(br#"{"a":1}"#));
        assert_eq!(first.header("cache-control").and_then(|v| v.as_str()), Some("public, max-age=5"));
        for asked in [etag.clone(), format!("W/{etag}"), format!("\"other\", {etag}"), "*".to_string()] {
            let again = cacheable(&get(Some(&asked)), json_response(200, &json!({"a": 1})), "public, max-age=5");
            assert_eq!((*again.status(), again.body().len()), (304, 0), "{asked}");
        }
        let changed = cacheable(&get(Some(&etag)), json_response(200, &json!({"a": 2})), "public, max-age=5");
        assert_eq!(*changed.status(), 200);
        let error = cacheable(&get(None), json_response(404, &json!({"error": "no"})), "public, max-age=5");
        assert!(error.header("etag").is_none() && error.header("cache-control").is_none());
    }

    #[test]
    fn statuses() {
        assert_eq!(HttpError::bad("limit", "too big").status(), 400);
        assert_eq!(
            HttpError::unavailable("the battle database", "connection refused").to_string(),
            "the battle database is unavailable"
        );
    }
}
