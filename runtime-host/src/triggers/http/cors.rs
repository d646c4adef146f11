//! Cross-origin reads: for the origins the manifest lists, the host answers preflights itself
//! (components never see an `OPTIONS`) and marks responses readable. Other origins get no CORS
//! headers, so browsers keep them out.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

/// Headers a cross-origin client may send: the API's token, JSON bodies, and revalidation.
const ALLOWED_HEADERS: &str = "authorization, content-type, if-none-match, cache-control";
const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";
/// Response headers a cross-origin script may read beyond the simple ones.
const EXPOSED_HEADERS: &str = "etag, retry-after";

#[derive(Debug, Clone, Default)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    pub fn new(origins: &[String]) -> Self {
        Self { origins: origins.iter().map(|o| o.trim_end_matches('/').to_string()).collect() }
    }

    /// The value of `Access-Control-Allow-Origin` for a request from `origin`, if allowed.
    fn allow(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?;
        let text = origin.to_str().ok()?;
        self.origins.iter().any(|o| o == "*" || o == text).then(|| origin.clone())
    }

    /// Is this a preflight the host answers (`OPTIONS` with `Access-Control-Request-Method`)?
    pub fn is_preflight(&self, method: &Method, request: &HeaderMap) -> bool {
        !self.origins.is_empty() && method == Method::OPTIONS && request.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The answer to a preflight: 204 with the grant for an allowed origin, 403 otherwise.
    pub fn preflight(&self, request: &HeaderMap) -> (StatusCode, HeaderMap) {
        let mut out = HeaderMap::new();
        out.insert(header::VARY, HeaderValue::from_static("origin"));
        let Some(origin) = self.allow(request.get(header::ORIGIN)) else { return (StatusCode::FORBIDDEN, out) };
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
        out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        (StatusCode::NO_CONTENT, out)
    }

    /// Mark a component's response readable by the requesting `origin`, when it is allowed.
    pub fn decorate(&self, origin: Option<&HeaderValue>, response: &mut HeaderMap) {
        if self.origins.is_empty() {
            return;
        }
        response.append(header::VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = self.allow(origin) {
            response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            response.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: &str, preflight: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        if preflight {
            h.insert(header::ACCESS_CONTROL_REQUEST_METHOD, HeaderValue::from_static("PATCH"));
        }
        h
    }

    #[test]
    fn listed_origins_are_granted_and_others_refused() {
        let cors = Cors::new(&["https://fleet.example/".to_string()]);
        assert!(cors.is_preflight(&Method::OPTIONS, &request("https://fleet.example", true)));
        let (status, headers) = cors.preflight(&request("https://fleet.example", true));
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://fleet.example");
        assert!(headers[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("PATCH"));
        let (status, headers) = cors.preflight(&request("https://evil.example", true));
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    }

    #[test]
    fn responses_are_marked_only_for_allowed_origins() {
        let cors = Cors::new(&["*".to_string()]);
        let mut response = HeaderMap::new();
        cors.decorate(request("https://any.example", false).get(header::ORIGIN), &mut response);
        assert_eq!(response[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://any.example");
        assert!(response[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap().contains("etag"));

        let none = Cors::new(&[]);
        let mut response = HeaderMap::new();
        cors.decorate(None, &mut response);
        none.decorate(request("https://any.example", false).get(header::ORIGIN), &mut response);
        assert!(!response.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(!none.is_preflight(&Method::OPTIONS, &request("https://any.example", true)));
    }
}
