//! The ESI client: User-Agent, the shared error budget, the circuit breaker, retries with
//! backoff, and ETag/Expires for GETs. Breaker and budget live in Redis, so every instance and
//! replica sees the same state. Redis is not required: without it an instance keeps them for
//! itself, learning the budget from ESI's own headers on its first answer, and names come from
//! the database and ESI.

use super::counters::Counters;
use super::now_ms;
use super::store::Store;
use crate::config::Config;
use crate::esi_policy::{self, Breaker, ErrorLimit, Permit};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::redis;
use std::cell::Cell;

pub const USER_AGENT: &str =
    "BattleScope/0.1 (battle intelligence; https://github.com/battlescope; contact: ops@battlescope.dev)";
const ATTEMPTS: u32 = 3;
/// Waits up to this long inside one call; beyond it the work is handed back for later.
const MAX_INLINE_WAIT_MS: i64 = 2_000;

/// Why ESI gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum EsiError {
    /// ESI is down, throttling, or the breaker or error budget says wait: try again later.
    #[error("ESI unavailable: {0}")]
    Unavailable(String),
    /// ESI answered 4xx: asking again will not help.
    #[error("ESI refused with {0}: {1}")]
    Refused(u16, String),
}

pub struct Esi<'a> {
    base: String,
    /// `None` when Redis did not answer.
    redis: Option<redis::Connection>,
    /// Set once a Redis call fails: the rest of this call goes without Redis (each further
    /// call would wait for the same failure), and the outage is counted once when it ends.
    redis_failed: Cell<bool>,
    /// The breaker and budget as this instance knows them (kept when Redis cannot).
    breaker: Option<Breaker>,
    error_limit: Option<ErrorLimit>,
    prefix: String,
    /// How long a name stays in the Redis cache.
    pub name_cache_ttl_seconds: i64,
    pub counters: &'a mut Counters,
}

fn header(response: &Response, name: &str) -> Option<String> {
    response.header(name).and_then(|v| v.as_str()).map(str::to_string)
}

fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0
}

impl Drop for Esi<'_> {
    fn drop(&mut self) {
        if self.redis_failed.get() {
            self.counters.add("redis_unavailable", 1);
        }
    }
}

impl<'a> Esi<'a> {
    /// A client for this call; Redis, when it does not answer, is done without (and counted).
    pub fn open(config: &Config, counters: &'a mut Counters) -> Self {
        let redis = redis::Connection::open(&config.redis_address);
        let redis_failed = Cell::new(false);
        if let Err(e) = &redis {
            redis_failed.set(true);
            eprintln!("enrichment: Redis does not answer ({e:?}); going on without its caches and shared ESI state");
        }
        Self {
            base: config.esi_url.clone(),
            redis: redis.ok(),
            redis_failed,
            breaker: None,
            error_limit: None,
            prefix: config.redis_prefix.clone(),
            name_cache_ttl_seconds: config.name_cache_ttl_seconds,
            counters,
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The Redis connection, unless Redis failed earlier in this call.
    pub fn redis(&self) -> Option<&redis::Connection> {
        self.redis.as_ref().filter(|_| !self.redis_failed.get())
    }

    /// Notes that a Redis call (`what`) failed; from here on this call goes without Redis.
    pub fn redis_call_failed(&self, what: &str, error: &redis::Error) {
        if !self.redis_failed.replace(true) {
            eprintln!("enrichment: Redis failed {what} ({error:?}); going on without its caches and shared ESI state");
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The shared value of `name` in Redis; `None` when Redis has none or does not answer.
    fn load<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        let stored = match self.redis()?.get(&self.key(name)) {
            Ok(stored) => stored?,
            Err(e) => {
                self.redis_call_failed(&format!("reading {name}"), &e);
                return None;
            }
        };
        serde_json::from_slice(&stored).ok()
    }

    fn save<T: serde::Serialize>(&self, name: &str, value: &T) {
        let Some(redis) = self.redis() else { return };
        let body = serde_json::to_vec(value).expect("state serialises");
        if let Err(e) = redis.set(&self.key(name), &body) {
            self.redis_call_failed(&format!("saving {name}"), &e);
        }
    }

    /// What `/health` reports of Redis: that it answers, and the state of the ESI breaker kept
    /// there (unlike [`Self::breaker`], a Redis error is an error here, not a closed breaker).
    pub fn redis_health(&self) -> Result<serde_json::Value, String> {
        let redis = self.redis().ok_or("Redis did not answer")?;
        let stored = redis.get(&self.key("esi:breaker")).map_err(|e| format!("reading the ESI breaker: {e:?}"))?;
        let breaker: Breaker = stored.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        Ok(serde_json::json!({ "esiBreaker": breaker.name() }))
    }

    /// The shared breaker, else this instance's own.
    pub fn breaker(&self) -> Breaker {
        self.load("esi:breaker").or(self.breaker).unwrap_or_default()
    }

    fn set_breaker(&mut self, breaker: Breaker) {
        self.save("esi:breaker", &breaker);
        self.breaker = Some(breaker);
    }

    /// The shared error budget, else what this instance learnt from ESI's headers.
    pub fn error_limit(&self) -> Option<ErrorLimit> {
        self.load::<Option<ErrorLimit>>("esi:error-limit").flatten().or(self.error_limit)
    }

    fn set_error_limit(&mut self, limit: ErrorLimit) {
        self.save("esi:error-limit", &Some(limit));
        self.error_limit = Some(limit);
    }

    /// Wait for the error budget and the breaker, or say why not now.
    fn clearance(&mut self) -> Result<(), EsiError> {
        if let Some(pause) = self.error_limit().and_then(|l| l.pause_ms(now_ms())) {
            self.counters.add("esi_error_limit_pauses", 1);
            if pause > MAX_INLINE_WAIT_MS {
                return Err(EsiError::Unavailable(format!("error limit nearly spent; resets in {} ms", pause)));
            }
            std::thread::sleep(std::time::Duration::from_millis(pause as u64));
        }
        let mut breaker = self.breaker();
        let before = breaker;
        match breaker.permit(now_ms()) {
            Permit::Call => Ok(()),
            Permit::Probe => {
                self.set_breaker(breaker);
                self.counters.add("esi_breaker_probes", 1);
                Ok(())
            }
            Permit::Wait(ms) => {
                debug_assert_eq!(before, breaker);
                Err(EsiError::Unavailable(format!("circuit breaker {}; next try in {ms} ms", breaker.name())))
            }
        }
    }

    fn record(&mut self, outcome: Result<u16, ()>) {
        let mut breaker = self.breaker();
        let before = breaker;
        match outcome {
            Ok(status) if !esi_policy::is_upstream_failure(status) => breaker.on_success(),
            _ => {
                self.counters.add("esi_failures", 1);
                breaker.on_failure(now_ms());
            }
        }
        if breaker != before {
            if breaker.name() != before.name() {
                eprintln!("enrichment: ESI circuit breaker {} → {}", before.name(), breaker.name());
                self.counters.add(&format!("esi_breaker_to_{}", breaker.name()), 1);
            }
            self.set_breaker(breaker);
        }
    }

    /// Send with retries. Only the final answer is returned; 4xx are final at once.
    fn send(&mut self, make: impl Fn() -> Request) -> Result<Response, EsiError> {
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            self.clearance()?;
            self.counters.add("esi_calls", 1);
            let sent: Result<Response, _> = spin_executor::run(spin_sdk::http::send(make()));
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    self.record(Err(()));
                    last = format!("transport: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(esi_policy::backoff_ms(attempt, jitter())));
                    continue;
                }
            };
            let status = *response.status();
            if let Some(limit) = ErrorLimit::from_headers(
                header(&response, "x-esi-error-limit-remain").as_deref(),
                header(&response, "x-esi-error-limit-reset").as_deref(),
                now_ms(),
            ) {
                self.set_error_limit(limit);
            }
            self.record(Ok(status));
            if !esi_policy::is_upstream_failure(status) {
                return Ok(response);
            }
            last = format!("HTTP {status}");
            std::thread::sleep(std::time::Duration::from_millis(esi_policy::backoff_ms(attempt, jitter())));
        }
        Err(EsiError::Unavailable(format!("after {ATTEMPTS} attempts: {last}")))
    }

    /// `GET /killmails/{id}/{hash}/`, from the HTTP cache while it is fresh, revalidated with
    /// `If-None-Match` when it is not.
    pub fn killmail(&mut self, store: &Store, id: u64, hash: &str) -> Result<serde_json::Value, EsiError> {
        let path = format!("/killmails/{id}/{hash}/");
        let cached = store.http_cache(&path).map_err(EsiError::Unavailable)?;
        if let Some((_, true, body)) = &cached {
            self.counters.add("esi_http_cache_fresh", 1);
            return serde_json::from_str(body).map_err(|e| EsiError::Refused(200, format!("cached body: {e}")));
        }
        let etag = cached.as_ref().and_then(|(etag, _, _)| etag.clone());
        let extra: Vec<(&str, String)> = etag.iter().map(|e| ("if-none-match", e.clone())).collect();
        let base = self.base.clone();
        let response = self.send(|| request(&base, Method::Get, &path, None, &extra))?;
        let status = *response.status();
        let max_age = max_age_s(&response);
        let body = match (status, cached) {
            (304, Some((_, _, body))) => {
                self.counters.add("esi_not_modified", 1);
                store.keep_http(&path, None, max_age, &body).map_err(EsiError::Unavailable)?;
                body
            }
            (200, _) => {
                let body = String::from_utf8_lossy(response.body()).into_owned();
                store.keep_http(&path, header(&response, "etag").as_deref(), max_age, &body).map_err(EsiError::Unavailable)?;
                body
            }
            (s, _) => return Err(EsiError::Refused(s, String::from_utf8_lossy(response.body()).into_owned())),
        };
        serde_json::from_str(&body).map_err(|e| EsiError::Refused(status, format!("the body is not JSON: {e}")))
    }

    /// `POST /universe/names/` for at most 1,000 ids.
    pub fn names(&mut self, ids: &[u64]) -> Result<Response, EsiError> {
        debug_assert!(ids.len() <= crate::names::MAX_IDS_PER_CALL);
        let body = serde_json::to_vec(ids).expect("ids serialise");
        self.counters.add("esi_name_calls", 1);
        let base = self.base.clone();
        self.send(|| request(&base, Method::Post, "/universe/names/", Some(body.clone()), &[]))
    }
}

fn request(base: &str, method: Method, path: &str, body: Option<Vec<u8>>, extra: &[(&str, String)]) -> Request {
    let mut b = Request::builder();
    b.method(method).uri(format!("{base}{path}")).header("user-agent", USER_AGENT).header("accept", "application/json");
    for (name, value) in extra {
        b.header(*name, value.as_str());
    }
    if let Some(body) = body {
        b.header("content-type", "application/json").body(body);
    }
    b.build()
}

/// Seconds until `Expires`, from the response's `Expires` and `Date` headers.
fn max_age_s(response: &Response) -> Option<i64> {
    let parse = |name: &str| header(response, name).and_then(|v| chrono::DateTime::parse_from_rfc2822(&v).ok());
    let expires = parse("expires")?;
    let date = parse("date").map(|d| d.timestamp()).unwrap_or_else(|| chrono::Utc::now().timestamp());
    Some((expires.timestamp() - date).max(0))
}
