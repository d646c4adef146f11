//! Answers for the embedded assets: the single page (`index.html`) for every path without a
//! file extension (the page routes itself), ETags with 304s, gzip when the browser takes it,
//! and cache headers that make revalidation cheap.

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    /// Strong ETag, quoted: a digest of `body`.
    pub etag: &'static str,
    pub body: &'static [u8],
    /// The same, compressed at build time.
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

use std::borrow::Cow;

/// What to send back: an embedded file, or a page drawn for the request.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Cow<'static, [u8]>,
}

/// The request as far as serving a file cares.
#[derive(Debug, Default, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub if_none_match: Option<&'a str>,
    pub accept_encoding: Option<&'a str>,
}

/// The page, for every route the page handles itself.
const PAGE: &str = "index.html";

/// The pages themselves, a browser always revalidates (a 304 costs a round trip, a stale page
/// a confused user); the files they load, it may keep for five minutes.
fn cache_control(asset: &Asset) -> &'static str {
    if asset.name == PAGE {
        "no-cache"
    } else {
        "public, max-age=300"
    }
}

/// Scripts may talk to this origin only (the APIs and the live WebSocket) and to nothing else.
const SECURITY_POLICY: &str =
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: https://images.evetech.net; \
     style-src 'self'; script-src 'self'; frame-ancestors 'none'";

fn text(status: u16, message: &'static str) -> Reply {
    Reply { status, headers: vec![("content-type", "text/plain; charset=utf-8".into())], body: message.as_bytes().into() }
}

fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// Whether the browser takes gzip (`Accept-Encoding`, a `q=0` refusing it).
fn takes_gzip(header: &str) -> bool {
    header.split(',').any(|part| {
        let mut pieces = part.split(';').map(str::trim);
        pieces.next() == Some("gzip") && !pieces.any(|p| p.replace(' ', "") == "q=0")
    })
}

pub fn serve(req: Request) -> Reply {
    let head = req.method == "HEAD";
    if req.method != "GET" && !head {
        let mut r = text(405, "the web UI only answers GET and HEAD\n");
        r.headers.push(("allow", "GET, HEAD".into()));
        return r;
    }
    let name = req.path.trim_start_matches('/');
    // The page stands in for its own routes only: an API path no API answers stays a 404.
    if name.starts_with("api/") || name == "api" || name.starts_with("ws/") {
        return text(404, "no such API endpoint\n");
    }
    let file = name.rsplit('/').next().unwrap_or_default();
    let Some(asset) = (if file.contains('.') { asset(name) } else { asset(PAGE) }) else {
        return text(404, "no such file\n");
    };
    let mut headers = vec![
        ("etag", asset.etag.to_string()),
        ("cache-control", cache_control(asset).to_string()),
        ("vary", "Accept-Encoding".to_string()),
        ("x-content-type-options", "nosniff".to_string()),
    ];
    if asset.name == PAGE {
        headers.push(("content-security-policy", SECURITY_POLICY.to_string()));
    }
    if req.if_none_match.is_some_and(|h| guest::http::etag_matches(h, asset.etag)) {
        return Reply { status: 304, headers, body: Cow::Borrowed(&[]) };
    }
    headers.push(("content-type", asset.content_type.to_string()));
    let body = if req.accept_encoding.is_some_and(takes_gzip) && asset.gzip.len() < asset.body.len() {
        headers.push(("content-encoding", "gzip".to_string()));
        asset.gzip
    } else {
        asset.body
    };
    headers.push(("content-length", body.len().to_string()));
    Reply { status: 200, headers, body: Cow::Borrowed(if head { &[] } else { body }) }
}

/// The page as it is embedded (`index.html`), for drawing a report into.
pub fn page_template() -> &'static str {
    std::str::from_utf8(asset(PAGE).expect("index.html is embedded").body).expect("index.html is UTF-8")
}

/// The battle id of a report's path (`/battle/{id}`), for a read of it.
pub fn report_route<'a>(req: &Request<'a>) -> Option<&'a str> {
    let id = req.path.strip_prefix("/battle/")?;
    let reads = req.method == "GET" || req.method == "HEAD";
    (reads && !id.is_empty() && !id.contains('/')).then_some(id)
}

/// A page drawn for this request (a report): the page's headers, never kept by a browser
/// without asking again, since the battle it shows may change.
pub fn drawn_page(req: &Request, status: u16, html: String) -> Reply {
    let headers = vec![
        ("content-type", "text/html; charset=utf-8".to_string()),
        ("cache-control", "no-cache".to_string()),
        ("x-content-type-options", "nosniff".to_string()),
        ("content-security-policy", SECURITY_POLICY.to_string()),
        ("content-length", html.len().to_string()),
    ];
    let body = if req.method == "HEAD" { Vec::new() } else { html.into_bytes() };
    Reply { status, headers, body: Cow::Owned(body) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(path: &str) -> Request<'_> {
        Request { method: "GET", path, ..Request::default() }
    }

    fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
        r.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_route_of_the_page_gets_the_page_and_files_get_themselves() {
        for path in ["/", "/battles", "/battle/00000000-0000-4000-8000-000005c7f893", "/search"] {
            let r = serve(get(path));
            assert_eq!((r.status, header(&r, "content-type")), (200, Some("text/html; charset=utf-8")), "{path}");
            assert_eq!(header(&r, "cache-control"), Some("no-cache"));
            assert!(header(&r, "content-security-policy").is_some());
        }
        let js = serve(get("/app.js"));
        assert_eq!((js.status, header(&js, "content-type")), (200, Some("text/javascript; charset=utf-8")));
        assert_eq!(header(&js, "cache-control"), Some("public, max-age=300"));
        assert_eq!(serve(get("/missing.js")).status, 404);
        assert_eq!(serve(get("/api/nothing")).status, 404, "not the page");
        assert_eq!(serve(get("/../Cargo.toml")).status, 404);
    }

    #[test]
    fn a_known_etag_gets_a_304_without_a_body() {
        let first = serve(get("/app.css"));
        let etag = header(&first, "etag").unwrap().to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        let again = serve(Request { if_none_match: Some(&etag), ..get("/app.css") });
        assert_eq!((again.status, again.body.len()), (304, 0));
        assert_eq!(serve(Request { if_none_match: Some("\"other\", W/"), ..get("/app.css") }).status, 200);
        assert_eq!(serve(Request { if_none_match: Some(&format!("W/{etag}")), ..get("/app.css") }).status, 304);
    }

    #[test]
    fn gzip_when_taken_and_it_unpacks_to_the_file() {
        let plain = serve(get("/app.js"));
        let packed = serve(Request { accept_encoding: Some("br, gzip;q=0.8"), ..get("/app.js") });
        assert_eq!(header(&packed, "content-encoding"), Some("gzip"));
        assert!(packed.body.len() < plain.body.len());
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(&packed.body[..]).read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, &plain.body[..]);
        let refused = serve(Request { accept_encoding: Some("gzip;q=0, identity"), ..get("/app.js") });
        assert_eq!(header(&refused, "content-encoding"), None);
    }

    #[test]
    fn report_paths_are_recognised_for_reads_only() {
        let id = "00000000-0000-4000-8000-000005c7f893";
        let path = format!("/battle/{id}");
        assert_eq!(report_route(&get(&path)), Some(id));
        assert_eq!(report_route(&get("/battle/")), None);
        assert_eq!(report_route(&get("/battle/a/b")), None);
        assert_eq!(report_route(&get("/battles")), None);
        assert_eq!(report_route(&Request { method: "POST", path: &path, ..Request::default() }), None);
        let page = drawn_page(&Request { method: "HEAD", ..get(&path) }, 200, "<p>x</p>".into());
        assert_eq!((page.body.len(), header(&page, "content-length")), (0, Some("8")));
        assert!(page_template().contains(crate::render::BODY_MARK), "index.html has the marks reports are drawn into");
    }

    #[test]
    fn only_reads_are_answered() {
        let r = serve(Request { method: "POST", path: "/", ..Request::default() });
        assert_eq!((r.status, header(&r, "allow")), (405, Some("GET, HEAD")));
        let head = serve(Request { method: "HEAD", path: "/", ..Request::default() });
        assert_eq!((head.status, head.body.len()), (200, 0));
        assert_ne!(header(&head, "content-length"), Some("0"), "HEAD says how long the GET would be");
    }
}
