//! The feed pollers the cron trigger runs: one tick walks the feed for a bounded time and
//! leaves the rest for the next tick.

use super::fetch::Pacer;
use super::process;
use ingestion::config::{Config, FeedConfig};
use ingestion::feed::{self, R2z2Step, RedisqPackage};
use ingestion::wasm::store::Store;
use std::time::Instant;

/// After this many unreadable answers for one sequence, keep the body aside and move on.
const UNREADABLE_ATTEMPTS: i32 = 5;
/// After this many lasting ESI refusals, a RedisQ reference is kept aside instead of retried.
const PENDING_ATTEMPTS: i32 = 10;

/// Why a poll stopped before it caught up. Each kind is counted as `feed_errors:<feed>:<kind>`.
enum Failure {
    /// No answer (connection, timeout, redirects).
    Transport(String),
    /// The feed answered with an HTTP status that asks to come back later.
    Status(u16, String),
    /// `sequence.json` could not be read.
    Sequence(String),
    /// An answer that does not parse; retried a few times, then kept aside.
    Unreadable(String),
}

impl Failure {
    fn counter(&self, feed: &str) -> String {
        match self {
            Failure::Transport(_) => format!("feed_errors:{feed}:transport"),
            Failure::Status(status, _) => format!("feed_errors:{feed}:{status}"),
            Failure::Sequence(_) => format!("feed_errors:{feed}:sequence"),
            Failure::Unreadable(_) => format!("feed_errors:{feed}:unreadable"),
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Transport(m) | Failure::Status(_, m) | Failure::Sequence(m) | Failure::Unreadable(m) => m,
        }
    }
}

/// Exponential backoff with jitter for the `failures`-th failure in a row: 0.5 s, 1 s, 2 s …
/// capped at a minute.
fn backoff(failures: i32) -> f64 {
    let base = (0.5 * 2f64.powi(failures.clamp(1, 8) - 1)).min(60.0);
    let jitter: f64 = 0.75 + 0.5 * (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    base * jitter
}

pub struct Tick {
    feeds: FeedConfig,
    /// Shown to enrichment's ESI gateway, which answers token holders only.
    api_token: String,
    store: Store,
    pacer: Pacer,
    deadline: Instant,
}

impl Tick {
    pub fn start(config: &Config, feeds: FeedConfig) -> Result<Self, String> {
        Ok(Self {
            store: Store::open(config)?,
            pacer: Pacer::new(feeds.feed_requests_per_second),
            deadline: Instant::now() + feeds.feed_tick,
            feeds,
            api_token: config.api_token.clone(),
        })
    }

    fn time_left(&self) -> bool {
        Instant::now() < self.deadline
    }

    fn fail(&self, feed: &str, failure: Failure, failures: i32) -> Result<(), String> {
        eprintln!("ingestion: {feed}: {}", failure.message());
        let unreadable = matches!(failure, Failure::Unreadable(_));
        self.store.record_failure(feed, &failure.counter(feed), failure.message(), backoff(failures + 1), unreadable).map(drop)
    }

    /// Walk R2Z2 forward from the stored position until caught up or out of time.
    pub fn r2z2(mut self) -> Result<(), String> {
        const FEED: &str = "r2z2";
        let base = self.feeds.r2z2_url.clone();
        let position = self.store.feed_position(FEED)?;
        if position.wait_seconds > 0.0 {
            return Ok(());
        }
        let mut last = match position.last_sequence {
            Some(s) => s,
            None => {
                // First start: begin at the configured sequence, or at the newest one.
                let start = match self.feeds.r2z2_start_sequence {
                    Some(s) => s,
                    None => match self.newest(&base)? {
                        Ok(newest) => newest,
                        Err(e) => return self.fail(FEED, Failure::Sequence(e), position.failures),
                    },
                };
                self.store.set_position(FEED, start - 1)?;
                start - 1
            }
        };
        let (mut failures, mut unreadable) = (position.failures, position.unreadable);
        while self.time_left() {
            let sequence = last + 1;
            let fetched = match self.pacer.get(&format!("{base}/{sequence}.json")) {
                Ok(f) => f,
                Err(e) => return self.fail(FEED, Failure::Transport(e), failures),
            };
            let newest = if fetched.status == 404 {
                match self.newest(&base)? {
                    Ok(n) => Some(n),
                    Err(e) => return self.fail(FEED, Failure::Sequence(e), failures),
                }
            } else {
                None
            };
            match feed::r2z2_step(sequence, fetched.status, newest) {
                R2z2Step::CaughtUp => return Ok(()),
                R2z2Step::Gap => {
                    // Expired sequences go from the old end: find the oldest one still there
                    // instead of walking every missing one.
                    let newest = newest.unwrap_or(sequence);
                    let oldest = match self.oldest_available(&base, sequence, newest) {
                        Ok(o) => o,
                        Err(e) => return self.fail(FEED, Failure::Transport(e), failures),
                    };
                    eprintln!(
                        "ingestion: r2z2: sequences {sequence}–{} are gone (newest is {newest}); counted as gaps",
                        oldest - 1
                    );
                    self.store.count("gaps:r2z2", oldest - sequence)?;
                    self.store.set_position(FEED, oldest - 1)?;
                    last = oldest - 1;
                    continue;
                }
                R2z2Step::Retry(why) => return self.fail(FEED, Failure::Status(fetched.status, why), failures),
                R2z2Step::Process => match feed::r2z2_package(sequence, &fetched.body) {
                    Ok(km) => {
                        process(&self.store, std::slice::from_ref(&km), Some((FEED, sequence)))?;
                        (failures, unreadable) = (0, 0);
                    }
                    Err(e) if unreadable + 1 >= UNREADABLE_ATTEMPTS => {
                        eprintln!("ingestion: r2z2: giving up on sequence {sequence} after {UNREADABLE_ATTEMPTS} attempts: {e}");
                        self.store.count("malformed:r2z2", 1)?;
                        self.store.keep_unreadable(FEED, &sequence.to_string(), &fetched.body, &e.to_string())?;
                        self.store.set_position(FEED, sequence)?;
                        (failures, unreadable) = (0, 0);
                    }
                    Err(e) => return self.fail(FEED, Failure::Unreadable(e.to_string()), failures),
                },
            }
            last = sequence;
        }
        Ok(())
    }

    /// The first sequence after `gone` that still exists, at most `newest` (binary search:
    /// expiry only ever removes the oldest sequences).
    fn oldest_available(&mut self, base: &str, gone: i64, newest: i64) -> Result<i64, String> {
        let (mut missing, mut present) = (gone, newest);
        while present - missing > 1 {
            let mid = missing + (present - missing) / 2;
            match self.pacer.get(&format!("{base}/{mid}.json"))?.status {
                404 => missing = mid,
                _ => present = mid,
            }
        }
        Ok(present)
    }

    /// The newest published sequence (recorded for the lag statistic).
    fn newest(&mut self, base: &str) -> Result<Result<i64, String>, String> {
        let fetched = match self.pacer.get(&format!("{base}/sequence.json")) {
            Ok(f) if f.status == 200 => f,
            Ok(f) => return Ok(Err(format!("sequence.json: HTTP {}", f.status))),
            Err(e) => return Ok(Err(e)),
        };
        match feed::r2z2_sequence(&fetched.body) {
            Ok(n) => {
                self.store.set_newest("r2z2", n)?;
                Ok(Ok(n))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    /// Drain RedisQ: first the references still waiting for ESI, then new packages.
    pub fn redisq(mut self) -> Result<(), String> {
        const FEED: &str = "redisq";
        let position = self.store.feed_position(FEED)?;
        if position.wait_seconds > 0.0 {
            return Ok(());
        }
        for pending in self.store.pending(100)? {
            if !self.time_left() {
                return Ok(());
            }
            if pending.attempts >= PENDING_ATTEMPTS {
                // ESI keeps refusing it (a wrong hash, say): keep it aside, stop asking.
                let id = pending.killmail_id;
                eprintln!(
                    "ingestion: redisq: giving up on killmail {id} after {} attempts: {}",
                    pending.attempts, pending.last_error
                );
                self.store.count("malformed:redisq", 1)?;
                let reference = serde_json::json!({"killID": id, "zkb": pending.zkb}).to_string();
                self.store.keep_unreadable(FEED, &id.to_string(), reference.as_bytes(), &pending.last_error)?;
                self.store.settle_pending(id)?;
                continue;
            }
            self.resolve_reference(pending.killmail_id, &pending.hash, pending.zkb)?;
        }
        let c = &self.feeds;
        let url = format!("{}?queueID={}&ttw={}", c.redisq_url, c.redisq_queue_id, c.redisq_ttw);
        while self.time_left() {
            let fetched = match self.pacer.get(&url) {
                Ok(f) if f.status == 200 => f,
                Ok(f) => return self.fail(FEED, Failure::Status(f.status, format!("HTTP {}", f.status)), position.failures),
                Err(e) => return self.fail(FEED, Failure::Transport(e), position.failures),
            };
            match feed::redisq_package(&fetched.body) {
                Ok(RedisqPackage::Empty) => return Ok(()),
                Ok(RedisqPackage::Reference { killmail_id, hash, zkb }) => {
                    // Written down before anything can fail: RedisQ will not hand it out again.
                    self.store.add_pending(killmail_id, &hash, &zkb)?;
                    self.resolve_reference(killmail_id, &hash, zkb)?;
                }
                Err(e) => {
                    self.store.count("malformed:redisq", 1)?;
                    let position = format!("{}", chrono::Utc::now().timestamp_micros());
                    self.store.keep_unreadable(FEED, &position, &fetched.body, &e.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// The body of a RedisQ reference, through enrichment's ESI gateway (one error budget for
    /// every ESI call BattleScope makes).
    fn resolve_reference(&mut self, id: u64, hash: &str, zkb: serde_json::Value) -> Result<(), String> {
        // (error, lasting): ESI's refusal (422 from the gateway) or an unreadable body will not
        // get better by asking again; an unavailable gateway or ESI will.
        let url = format!("{}/killmails/{id}/{hash}", self.feeds.esi_gateway_url);
        let authorization = format!("Bearer {}", self.api_token);
        let outcome = match Pacer::new(0.0).get_with(&url, &[("authorization", authorization.as_str())]) {
            Ok(f) if f.status == 200 => feed::esi_killmail(id, hash, zkb, &f.body).map_err(|e| (e.to_string(), true)),
            Ok(f) => {
                Err((format!("ESI killmail {id}: HTTP {}: {}", f.status, String::from_utf8_lossy(&f.body)), f.status == 422))
            }
            Err(e) => Err((e, false)),
        };
        match outcome {
            Ok(km) => {
                process(&self.store, std::slice::from_ref(&km), None)?;
                self.store.settle_pending(id)
            }
            Err((e, lasting)) => {
                eprintln!("ingestion: redisq: {e}; kept for the next tick");
                self.store.count("feed_errors:esi", 1)?;
                self.store.pending_failed(id, &e, lasting)
            }
        }
    }
}
