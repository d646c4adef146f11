//! The feed pollers the cron trigger runs: one tick walks the feed for a bounded time and
//! leaves the rest for the next tick.

use super::fetch::Pacer;
use super::process;
use super::store::Store;
use crate::feed::{self, R2z2Step, RedisqPackage};
use std::time::{Duration, Instant};

/// After this many unreadable answers for one sequence, keep the body aside and move on.
const UNREADABLE_ATTEMPTS: i32 = 5;
/// After this many lasting ESI refusals, a RedisQ reference is kept aside instead of retried.
const PENDING_ATTEMPTS: i32 = 10;

fn var(name: &str, default: &str) -> String {
    spin_sdk::variables::get(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

fn var_f64(name: &str, default: f64) -> f64 {
    var(name, "").parse().unwrap_or(default)
}

/// Exponential backoff with jitter for the `failures`-th failure in a row: 0.5 s, 1 s, 2 s …
/// capped at a minute.
fn backoff(failures: i32) -> f64 {
    let base = (0.5 * 2f64.powi(failures.clamp(1, 8) - 1)).min(60.0);
    let jitter: f64 = 0.75 + 0.5 * (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    base * jitter
}

pub struct Tick {
    store: Store,
    pacer: Pacer,
    deadline: Instant,
}

impl Tick {
    pub fn start() -> Result<Self, String> {
        let budget = Duration::from_millis(var("feed_tick_ms", "4000").parse().unwrap_or(4000));
        Ok(Self {
            store: Store::open()?,
            pacer: Pacer::new(var_f64("feed_requests_per_second", 10.0)),
            deadline: Instant::now() + budget,
        })
    }

    fn time_left(&self) -> bool {
        Instant::now() < self.deadline
    }

    fn fail(&self, feed: &str, counter: &str, error: &str, failures: i32) -> Result<(), String> {
        eprintln!("ingestion: {feed}: {error}");
        let unreadable = counter.ends_with(":unreadable");
        self.store.record_failure(feed, counter, error, backoff(failures + 1), unreadable).map(drop)
    }

    /// Walk R2Z2 forward from the stored position until caught up or out of time.
    pub fn r2z2(mut self) -> Result<(), String> {
        const FEED: &str = "r2z2";
        let base = var("r2z2_url", feed::R2Z2_URL);
        let position = self.store.feed_position(FEED)?;
        if position.wait_seconds > 0.0 {
            return Ok(());
        }
        let mut last = match position.last_sequence {
            Some(s) => s,
            None => {
                // First start: begin at the configured sequence, or at the newest one.
                let start = match var("r2z2_start_sequence", "").parse::<i64>() {
                    Ok(s) => s,
                    Err(_) => match self.newest(&base)? {
                        Ok(newest) => newest,
                        Err(e) => return self.fail(FEED, "feed_errors:r2z2:sequence", &e, position.failures),
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
                Err(e) => return self.fail(FEED, "feed_errors:r2z2:transport", &e, failures),
            };
            let newest = if fetched.status == 404 {
                match self.newest(&base)? {
                    Ok(n) => Some(n),
                    Err(e) => return self.fail(FEED, "feed_errors:r2z2:sequence", &e, failures),
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
                        Err(e) => return self.fail(FEED, "feed_errors:r2z2:transport", &e, failures),
                    };
                    eprintln!("ingestion: r2z2: sequences {sequence}–{} are gone (newest is {newest}); counted as gaps", oldest - 1);
                    self.store.count("gaps:r2z2", oldest - sequence)?;
                    self.store.set_position(FEED, oldest - 1)?;
                    last = oldest - 1;
                    continue;
                }
                R2z2Step::Retry(why) => {
                    let counter = format!("feed_errors:r2z2:{}", fetched.status);
                    return self.fail(FEED, &counter, &why, failures);
                }
                R2z2Step::Process => match feed::r2z2_package(sequence, &fetched.body) {
                    Ok(km) => {
                        process(&self.store, &km, Some((FEED, sequence)))?;
                        (failures, unreadable) = (0, 0);
                    }
                    Err(e) if unreadable + 1 >= UNREADABLE_ATTEMPTS => {
                        eprintln!("ingestion: r2z2: giving up on sequence {sequence} after {UNREADABLE_ATTEMPTS} attempts: {e}");
                        self.store.count("malformed:r2z2", 1)?;
                        self.store.keep_unreadable(FEED, &sequence.to_string(), &fetched.body, &e.to_string())?;
                        self.store.set_position(FEED, sequence)?;
                        (failures, unreadable) = (0, 0);
                    }
                    Err(e) => return self.fail(FEED, "feed_errors:r2z2:unreadable", &e.to_string(), failures),
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
        let esi = var("esi_url", feed::ESI_URL);
        for pending in self.store.pending(100)? {
            if !self.time_left() {
                return Ok(());
            }
            if pending.attempts >= PENDING_ATTEMPTS {
                // ESI keeps refusing it (a wrong hash, say): keep it aside, stop asking.
                let id = pending.killmail_id;
                eprintln!("ingestion: redisq: giving up on killmail {id} after {} attempts: {}", pending.attempts, pending.last_error);
                self.store.count("malformed:redisq", 1)?;
                let reference = serde_json::json!({"killID": id, "zkb": pending.zkb}).to_string();
                self.store.keep_unreadable(FEED, &id.to_string(), reference.as_bytes(), &pending.last_error)?;
                self.store.settle_pending(id)?;
                continue;
            }
            self.resolve_reference(&esi, pending.killmail_id, &pending.hash, pending.zkb)?;
        }
        let url = format!(
            "{}?queueID={}&ttw={}",
            var("redisq_url", feed::REDISQ_URL),
            var("redisq_queue_id", "battlescope"),
            var("redisq_ttw", "1")
        );
        while self.time_left() {
            let fetched = match self.pacer.get(&url) {
                Ok(f) if f.status == 200 => f,
                Ok(f) => return self.fail(FEED, &format!("feed_errors:redisq:{}", f.status), &format!("HTTP {}", f.status), position.failures),
                Err(e) => return self.fail(FEED, "feed_errors:redisq:transport", &e, position.failures),
            };
            match feed::redisq_package(&fetched.body) {
                Ok(RedisqPackage::Empty) => return Ok(()),
                Ok(RedisqPackage::Reference { killmail_id, hash, zkb }) => {
                    // Written down before anything can fail: RedisQ will not hand it out again.
                    self.store.add_pending(killmail_id, &hash, &zkb)?;
                    self.resolve_reference(&esi, killmail_id, &hash, zkb)?;
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

    fn resolve_reference(&mut self, esi: &str, id: u64, hash: &str, zkb: serde_json::Value) -> Result<(), String> {
        // (error, lasting): a 4xx or an unreadable body will not get better by asking again.
        let outcome = match self.pacer.get(&format!("{esi}/killmails/{id}/{hash}/")) {
            Ok(f) if f.status == 200 => feed::esi_killmail(id, hash, zkb, &f.body).map_err(|e| (e.to_string(), true)),
            Ok(f) => Err((format!("ESI killmail {id}: HTTP {}", f.status), (400..500).contains(&f.status) && f.status != 420 && f.status != 429)),
            Err(e) => Err((e, false)),
        };
        match outcome {
            Ok(km) => {
                process(&self.store, &km, None)?;
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
