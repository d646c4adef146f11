//! Outbound HTTP for the feeds: a descriptive User-Agent, redirects followed, a pace that
//! stays well under zKillboard's limits.

use ingestion::feed::USER_AGENT;
use spin_sdk::http::{Method, Request, Response};
use std::time::{Duration, Instant};

const MAX_REDIRECTS: usize = 5;

/// A response, or why there was none.
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Spaces requests at least `interval` apart.
pub struct Pacer {
    interval: Duration,
    last: Option<Instant>,
}

impl Pacer {
    /// `per_second` ≤ 0 means no pacing (local replays in tests).
    pub fn new(per_second: f64) -> Self {
        let interval = if per_second > 0.0 { Duration::from_secs_f64(1.0 / per_second) } else { Duration::ZERO };
        Self { interval, last: None }
    }

    fn wait(&mut self) {
        if let Some(last) = self.last {
            let since = last.elapsed();
            if since < self.interval {
                std::thread::sleep(self.interval - since);
            }
        }
        self.last = Some(Instant::now());
    }

    /// GET `url`, following redirects; the status is the final one.
    pub fn get(&mut self, url: &str) -> Result<Fetched, String> {
        self.get_with(url, &[])
    }

    /// `get` with extra request headers, sent only to `url`'s origin (a redirect elsewhere
    /// does not carry a token along).
    pub fn get_with(&mut self, url: &str, headers: &[(&str, &str)]) -> Result<Fetched, String> {
        let origin = origin_of(url).to_string();
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            self.wait();
            let mut builder = Request::builder();
            builder.method(Method::Get).uri(&url).header("user-agent", USER_AGENT).header("accept", "application/json");
            if origin_of(&url) == origin {
                for (name, value) in headers {
                    builder.header(*name, *value);
                }
            }
            let request = builder.build();
            let response: Response = spin_executor::run(spin_sdk::http::send(request)).map_err(|e| format!("GET {url}: {e}"))?;
            let status = *response.status();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = response
                    .header("location")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| format!("GET {url}: {status} without a Location"))?;
                url = resolve(&url, location);
                continue;
            }
            return Ok(Fetched { status, body: response.into_body() });
        }
        Err(format!("GET {url}: more than {MAX_REDIRECTS} redirects"))
    }
}

/// A Location relative to `base` made absolute (absolute and origin-relative forms).
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let origin_end = base.find("://").map(|i| i + 3).and_then(|i| base[i..].find('/').map(|j| i + j)).unwrap_or(base.len());
    if location.starts_with('/') {
        format!("{}{location}", &base[..origin_end])
    } else {
        let dir_end = base.rfind('/').filter(|i| *i >= origin_end).unwrap_or(origin_end);
        format!("{}/{location}", &base[..dir_end])
    }
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}
