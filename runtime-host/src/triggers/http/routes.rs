//! Spin's route matching: exact paths, and `/prefix/...` wildcards that match the prefix and
//! everything below it. The most specific route wins: an exact match first, then the longest
//! wildcard prefix.

/// A route from the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    /// As written in the manifest.
    raw: String,
    /// Path segments of the fixed part.
    segments: Vec<String>,
    wildcard: bool,
}

impl RoutePattern {
    /// Parse a route such as `/api/ingestion/health` or `/api/...`.
    pub fn parse(route: &str) -> Result<Self, String> {
        if !route.starts_with('/') {
            return Err(format!("route {route:?} must start with `/`"));
        }
        let mut segments: Vec<String> = route.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
        let wildcard = segments.last().is_some_and(|s| s == "...");
        if wildcard {
            segments.pop();
        }
        if let Some(bad) = segments.iter().find(|s| s.contains("...")) {
            return Err(format!("route {route:?}: `...` may only be the last segment, not {bad:?}"));
        }
        Ok(Self { raw: route.to_string(), segments, wildcard })
    }

    /// The route as the manifest writes it (a metrics label: bounded, unlike request paths).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// A normal form: two routes with the same normal form claim the same requests.
    pub fn canonical(&self) -> String {
        let mut s = format!("/{}", self.segments.join("/"));
        if self.wildcard {
            s.push_str(if self.segments.is_empty() { "..." } else { "/..." });
        }
        s
    }

    /// The route as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The fixed part, without the wildcard: Spin's `spin-component-route`.
    pub fn base(&self) -> String {
        format!("/{}", self.segments.join("/")).trim_end_matches('/').to_string()
    }

    /// How many path segments of `path` this pattern consumes, if it matches.
    fn matches(&self, path_segments: &[&str]) -> bool {
        if self.wildcard {
            path_segments.len() >= self.segments.len() && self.segments.iter().zip(path_segments).all(|(a, b)| a == b)
        } else {
            path_segments.len() == self.segments.len() && self.segments.iter().zip(path_segments).all(|(a, b)| a == b)
        }
    }
}

/// A matched request: which entry and what the wildcard covered.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteMatch<'a, T> {
    pub target: &'a T,
    pub pattern: &'a RoutePattern,
    /// The part of the path below the route's fixed part (Spin's `spin-path-info`), `""` for
    /// an exact route.
    pub path_info: String,
}

/// A route table.
#[derive(Debug)]
pub struct Router<T> {
    /// Sorted most specific first.
    routes: Vec<(RoutePattern, T)>,
}

impl<T> Router<T> {
    pub fn new(mut routes: Vec<(RoutePattern, T)>) -> Self {
        routes.sort_by(|(a, _), (b, _)| {
            // Exact before wildcard at equal length; longer before shorter.
            b.segments.len().cmp(&a.segments.len()).then(a.wildcard.cmp(&b.wildcard))
        });
        Self { routes }
    }

    pub fn routes(&self) -> impl Iterator<Item = &(RoutePattern, T)> {
        self.routes.iter()
    }

    /// The most specific route that matches `path` (query string excluded).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_, T>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        // An exact route wins over any wildcard, whatever their lengths.
        let exact = self.routes.iter().find(|(p, _)| !p.wildcard && p.matches(&segments));
        let found = exact.or_else(|| self.routes.iter().find(|(p, _)| p.wildcard && p.matches(&segments)))?;
        let (pattern, target) = found;
        let path_info = if pattern.wildcard {
            let rest = &segments[pattern.segments.len()..];
            let mut info = String::new();
            for s in rest {
                info.push('/');
                info.push_str(s);
            }
            if path.ends_with('/') && !rest.is_empty() {
                info.push('/');
            }
            info
        } else {
            String::new()
        };
        Some(RouteMatch { target, pattern, path_info })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[&str]) -> Router<String> {
        Router::new(routes.iter().map(|r| (RoutePattern::parse(r).unwrap(), r.to_string())).collect())
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router(&["/...", "/api/...", "/api/ingestion/...", "/api/ingestion/health"]);
        assert_eq!(r.route("/api/ingestion/health").unwrap().target, "/api/ingestion/health");
        let m = r.route("/api/ingestion/stats").unwrap();
        assert_eq!(m.target, "/api/ingestion/...");
        assert_eq!(m.path_info, "/stats");
        assert_eq!(r.route("/api/battles/1").unwrap().target, "/api/...");
        assert_eq!(r.route("/index.html").unwrap().target, "/...");
        assert_eq!(r.route("/").unwrap().target, "/...");
    }

    #[test]
    fn wildcard_matches_its_own_prefix() {
        let r = router(&["/api/..."]);
        let m = r.route("/api").unwrap();
        assert_eq!(m.path_info, "");
        assert_eq!(r.route("/api/a/b/").unwrap().path_info, "/a/b/");
        assert!(r.route("/apix").is_none());
        assert!(r.route("/").is_none());
    }

    #[test]
    fn exact_route_does_not_match_below_itself() {
        let r = router(&["/health"]);
        assert!(r.route("/health").is_some());
        assert!(r.route("/health/deep").is_none());
        assert!(r.route("/health/").is_some(), "a trailing slash names the same path");
    }

    #[test]
    fn canonical_forms_detect_duplicate_claims() {
        let a = RoutePattern::parse("/api/...").unwrap();
        let b = RoutePattern::parse("/api//...").unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(RoutePattern::parse("/...").unwrap().canonical(), "/...");
        assert_ne!(a.canonical(), RoutePattern::parse("/api").unwrap().canonical());
        assert_eq!(a.base(), "/api");
    }

    #[test]
    fn rejects_malformed_routes() {
        assert!(RoutePattern::parse("api").unwrap_err().contains("must start"));
        assert!(RoutePattern::parse("/a/.../b").unwrap_err().contains("last segment"));
    }
}
