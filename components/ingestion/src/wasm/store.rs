//! The ingestion database, through Spin's Postgres interface. Every write that belongs
//! together is one SQL statement, so a crash leaves either all of it or none.

use crate::config::Config;
use crate::intake::{Decision, Outcome};
use crate::killmail::{Killmail, Source};
use crate::ruleset::Ruleset;
use chrono::SecondsFormat;
use guest::bulk::Column;
use spin_sdk::pg3::{Connection, Decode, ParameterValue as P};
use std::collections::BTreeSet;

pub struct Store {
    db: Connection,
    /// Where `killmail.ingested` events of live killmails go (variable `ingested_topic`).
    topic: String,
    /// … and of backfilled ones (variable `backfill_ingested_topic`).
    backfill_topic: String,
}

fn opt_i64(v: Option<i64>) -> P {
    v.map(P::Int64).unwrap_or(P::DbNull)
}

fn opt_str(v: Option<&str>) -> P {
    v.map(|s| P::Str(s.to_string())).unwrap_or(P::DbNull)
}

/// One killmail's row of `Store::record_all`'s input, and its event, which goes beside the
/// rows (`guest::bulk`: embedded in them, the events were most of what Postgres parsed).
fn decision_row(km: &Killmail, decision: &Decision, topic: &str) -> Result<(serde_json::Value, String), String> {
    let (accepted, tracked, rule, reason) = match decision {
        Decision::Accept { tracked } => (true, *tracked, None, None),
        Decision::Reject { rule, reason } => (false, false, Some(rule.as_str()), reason.as_deref()),
    };
    let event = contracts::Envelope::new(crate::event::ingested(km, tracked).map_err(|e| e.to_string())?).to_json();
    let row = serde_json::json!({
        "killmail_id": km.id,
        "accepted": accepted,
        "rule": rule,
        "reason": reason,
        "source": km.source.name(),
        "killmail_hash": km.hash,
        "killmail_time": km.time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "solar_system_id": km.solar_system_id,
        "sequence": km.sequence,
        "tracked": tracked,
        "topic": topic,
    });
    Ok((row, event))
}

/// A RedisQ reference whose ESI body has not been fetched yet.
pub struct PendingReference {
    pub killmail_id: u64,
    pub hash: String,
    pub zkb: serde_json::Value,
    pub attempts: i32,
    pub last_error: String,
}

/// Where a feed stands.
#[derive(Debug, Default)]
pub struct FeedPosition {
    pub last_sequence: Option<i64>,
    pub failures: i32,
    /// Of those, unreadable answers.
    pub unreadable: i32,
    /// Seconds until the backoff after the last failure ends (0 when not waiting).
    pub wait_seconds: f64,
}

impl Store {
    pub fn open(config: &Config) -> Result<Self, String> {
        let db = Connection::open(&config.database_url).map_err(|e| format!("connecting to the ingestion database: {e}"))?;
        Ok(Self { db, topic: config.ingested_topic.clone(), backfill_topic: config.backfill_ingested_topic.clone() })
    }

    fn execute(&self, what: &str, sql: &str, params: &[P]) -> Result<u64, String> {
        self.db.execute(sql, params).map_err(|e| format!("{what}: {e}"))
    }

    fn query_one(&self, what: &str, sql: &str, params: &[P]) -> Result<Vec<spin_sdk::pg3::DbValue>, String> {
        let rows = self.db.query(sql, params).map_err(|e| format!("{what}: {e}"))?;
        rows.rows.into_iter().next().ok_or_else(|| format!("{what}: no row"))
    }

    /// What the health report shows: stored killmails, schema version, the server's clock.
    /// Health is asked often and without a token, so a big table is not counted row by row:
    /// past 100,000 rows the planner's estimate (kept by autovacuum) stands in.
    pub fn health(&self) -> Result<crate::health::DatabaseState, String> {
        let row = self.query_one(
            "querying health",
            "SELECT (SELECT CASE WHEN c.reltuples > 100000 THEN c.reltuples::bigint
                                 ELSE (SELECT count(*) FROM killmail_events) END
                     FROM pg_class c WHERE c.oid = 'killmail_events'::regclass),
                    (SELECT coalesce(max(version), 0) FROM schema_migrations),
                    to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            &[],
        )?;
        let decode_err = |e: spin_sdk::pg3::Error| format!("decoding: {e}");
        Ok(crate::health::DatabaseState {
            killmails: i64::decode(&row[0]).map_err(decode_err)?,
            schema_version: i32::decode(&row[1]).map_err(decode_err)?,
            server_time: String::decode(&row[2]).map_err(decode_err)?,
        })
    }

    /// The current ruleset; the empty one (keep everything) until someone sets one.
    pub fn ruleset(&self) -> Result<(Option<i64>, Ruleset), String> {
        let rows = self
            .db
            .query("SELECT id, ruleset::text FROM rulesets ORDER BY id DESC LIMIT 1", &[])
            .map_err(|e| format!("reading the ruleset: {e}"))?;
        let Some(row) = rows.rows.first() else { return Ok((None, Ruleset::default())) };
        let id = i64::decode(&row[0]).map_err(|e| e.to_string())?;
        let json = String::decode(&row[1]).map_err(|e| e.to_string())?;
        let ruleset = Ruleset::parse(json.as_bytes()).map_err(|e| format!("stored ruleset {id} no longer parses: {e}"))?;
        Ok((Some(id), ruleset))
    }

    pub fn replace_ruleset(&self, ruleset: &Ruleset) -> Result<i64, String> {
        let json = serde_json::to_string(ruleset).expect("a ruleset serialises");
        let row = self.query_one(
            "storing the ruleset",
            "INSERT INTO rulesets (ruleset) VALUES ($1::text::jsonb) RETURNING id",
            &[P::Str(json)],
        )?;
        i64::decode(&row[0]).map_err(|e| e.to_string())
    }

    /// Record decisions on killmails in one statement, so a backfill request costs one round
    /// trip and one commit, not one per killmail (#11). Each newly decided killmail gets its
    /// decision; an accepted one is stored and its event queued in the outbox, in the order
    /// given; the feed's new position, when given, moves with them. A crash leaves all of it
    /// or none. A killmail decided before, or earlier in the same list, is a duplicate: nothing
    /// of it is stored or published again. Returns each killmail's outcome, in order.
    pub fn record_all(
        &self,
        decided: &[(&Killmail, &Decision)],
        feed_position: Option<(&str, i64)>,
    ) -> Result<Vec<Outcome>, String> {
        let Some((first, _)) = decided.first() else { return Ok(Vec::new()) };
        let mut seen = BTreeSet::new();
        let mut rows = Vec::with_capacity(decided.len());
        let mut events = Column::new("event");
        for (km, decision) in decided {
            if seen.insert(km.id) {
                let topic = if km.source == Source::Backfill { &self.backfill_topic } else { &self.topic };
                let (row, event) = decision_row(km, decision, topic)?;
                rows.push(row);
                events.push(Some(&event)).map_err(|e| format!("killmail {}: {e}", km.id))?;
            }
        }
        let repeats = (decided.len() - rows.len()) as i64;
        let result = self
            .db
            .query(
                "WITH input AS (
                    SELECT * FROM ROWS FROM (
                        json_to_recordset($1::text::json) AS (killmail_id bigint, accepted boolean, rule text, reason text,
                            source text, killmail_hash text, killmail_time timestamptz, solar_system_id integer,
                            sequence bigint, tracked boolean, topic text),
                        string_to_table($6::text, E'\\x1e')
                    ) WITH ORDINALITY AS x(killmail_id, accepted, rule, reason, source, killmail_hash, killmail_time,
                        solar_system_id, sequence, tracked, topic, event, n)
                ), decided AS (
                    INSERT INTO killmail_decisions (killmail_id, accepted, rule, reason, source)
                    SELECT killmail_id, accepted, rule, reason, source FROM input
                    ON CONFLICT (killmail_id) DO NOTHING
                    RETURNING killmail_id
                ), stored AS (
                    INSERT INTO killmail_events (killmail_id, killmail_hash, killmail_time, solar_system_id, source, sequence, tracked)
                    SELECT killmail_id, killmail_hash, killmail_time, solar_system_id, source, sequence, tracked
                    FROM input JOIN decided USING (killmail_id) WHERE accepted
                    ON CONFLICT (killmail_id) DO NOTHING
                    RETURNING killmail_id
                ), published AS (
                    INSERT INTO outbox (topic, key, payload, headers)
                    SELECT topic, killmail_id::text, event, $2::text::jsonb FROM input JOIN stored USING (killmail_id)
                    ORDER BY n
                    RETURNING id
                ), duplicates AS (
                    INSERT INTO ingestion_counters (counter, value)
                    SELECT 'duplicates', d FROM (SELECT $3::bigint + (SELECT count(*) FROM input) - (SELECT count(*) FROM decided) AS d) x
                    WHERE d > 0
                    ON CONFLICT (counter) DO UPDATE SET value = ingestion_counters.value + EXCLUDED.value
                    RETURNING 1
                ), moved AS (
                    UPDATE ingestion_status
                    SET last_sequence = $4::bigint, failures = 0, unreadable = 0, last_error = NULL, retry_at = NULL, updated_at = now()
                    WHERE feed = $5::text
                    RETURNING 1
                )
                SELECT killmail_id FROM decided",
                &[
                    P::Str(serde_json::Value::Array(rows).to_string()),
                    // The killmails' traces start with the poll or request that brought them.
                    P::Str(guest::trace::outbox_headers(guest::trace::current().as_deref())),
                    P::Int64(repeats),
                    opt_i64(feed_position.map(|(_, s)| s)),
                    opt_str(feed_position.map(|(f, _)| f)),
                    P::Str(events.into_text()),
                ],
            )
            .map_err(|e| format!("recording {} killmails ({}..): {e}", decided.len(), first.id))?;
        let newly_decided: BTreeSet<i64> =
            result.rows.iter().map(|r| i64::decode(&r[0]).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
        let mut first_seen = BTreeSet::new();
        Ok(decided
            .iter()
            .map(|(km, decision)| {
                let fresh = first_seen.insert(km.id) && newly_decided.contains(&(km.id as i64));
                match (fresh, decision) {
                    (false, _) => Outcome::Duplicate,
                    (true, Decision::Accept { .. }) => Outcome::Accepted,
                    (true, Decision::Reject { .. }) => Outcome::Rejected,
                }
            })
            .collect())
    }

    /// Add `n` to a counter (feed errors, gaps, malformed packages, plugin failures).
    pub fn count(&self, counter: &str, n: i64) -> Result<(), String> {
        self.execute(
            &format!("counting {counter}"),
            "INSERT INTO ingestion_counters (counter, value) VALUES ($1::text, $2::bigint)
             ON CONFLICT (counter) DO UPDATE SET value = ingestion_counters.value + EXCLUDED.value",
            &[P::Str(counter.into()), P::Int64(n)],
        )
        .map(drop)
    }

    pub fn feed_position(&self, feed: &str) -> Result<FeedPosition, String> {
        self.execute(
            "registering the feed",
            "INSERT INTO ingestion_status (feed) VALUES ($1::text) ON CONFLICT (feed) DO NOTHING",
            &[P::Str(feed.into())],
        )?;
        let row = self.query_one(
            "reading the feed position",
            "SELECT last_sequence, failures, unreadable,
                    greatest(0, extract(epoch FROM coalesce(retry_at, now()) - now()))::float8
             FROM ingestion_status WHERE feed = $1::text",
            &[P::Str(feed.into())],
        )?;
        Ok(FeedPosition {
            last_sequence: Option::<i64>::decode(&row[0]).map_err(|e| e.to_string())?,
            failures: i32::decode(&row[1]).map_err(|e| e.to_string())?,
            unreadable: i32::decode(&row[2]).map_err(|e| e.to_string())?,
            wait_seconds: f64::decode(&row[3]).map_err(|e| e.to_string())?,
        })
    }

    /// Move the position without a killmail (the first start, a gap, an unreadable package).
    pub fn set_position(&self, feed: &str, sequence: i64) -> Result<(), String> {
        self.execute(
            "moving the feed position",
            "UPDATE ingestion_status SET last_sequence = $2::bigint, failures = 0, unreadable = 0, last_error = NULL, retry_at = NULL, updated_at = now()
             WHERE feed = $1::text",
            &[P::Str(feed.into()), P::Int64(sequence)],
        )
        .map(drop)
    }

    pub fn set_newest(&self, feed: &str, newest: i64) -> Result<(), String> {
        self.execute(
            "recording the newest sequence",
            "UPDATE ingestion_status SET newest_sequence = greatest(newest_sequence, $2::bigint) WHERE feed = $1::text",
            &[P::Str(feed.into()), P::Int64(newest)],
        )
        .map(drop)
    }

    /// Count a failed attempt (`unreadable`: the answer was not a package) and set when to
    /// try again: `backoff` seconds from now.
    pub fn record_failure(&self, feed: &str, counter: &str, error: &str, backoff: f64, unreadable: bool) -> Result<i32, String> {
        self.count(counter, 1)?;
        let row = self.query_one(
            "recording a feed failure",
            "UPDATE ingestion_status
             SET failures = failures + 1, last_error = $2::text, updated_at = now(),
                 unreadable = unreadable + CASE WHEN $4::boolean THEN 1 ELSE 0 END,
                 retry_at = now() + make_interval(secs => $3::float8)
             WHERE feed = $1::text RETURNING failures",
            &[P::Str(feed.into()), P::Str(error.into()), P::Floating64(backoff), P::Boolean(unreadable)],
        )?;
        i32::decode(&row[0]).map_err(|e| e.to_string())
    }

    pub fn keep_unreadable(&self, feed: &str, position: &str, body: &[u8], error: &str) -> Result<(), String> {
        self.execute(
            "keeping an unreadable package",
            "INSERT INTO unreadable_packages (feed, position, body, error) VALUES ($1::text, $2::text, $3::text, $4::text)
             ON CONFLICT (feed, position) DO UPDATE SET body = EXCLUDED.body, error = EXCLUDED.error, recorded_at = now()",
            &[
                P::Str(feed.into()),
                P::Str(position.into()),
                P::Str(String::from_utf8_lossy(body).into_owned()),
                P::Str(error.into()),
            ],
        )
        .map(drop)
    }

    pub fn add_pending(&self, killmail_id: u64, hash: &str, zkb: &serde_json::Value) -> Result<(), String> {
        self.execute(
            "remembering a RedisQ reference",
            "INSERT INTO pending_references (killmail_id, killmail_hash, zkb) VALUES ($1::bigint, $2::text, $3::text::jsonb)
             ON CONFLICT (killmail_id) DO NOTHING",
            &[P::Int64(killmail_id as i64), P::Str(hash.into()), P::Str(zkb.to_string())],
        )
        .map(drop)
    }

    /// RedisQ references still waiting for their ESI body, oldest first.
    pub fn pending(&self, limit: i64) -> Result<Vec<PendingReference>, String> {
        let rows = self
            .db
            .query(
                "SELECT killmail_id, killmail_hash, zkb::text, attempts, coalesce(last_error, '')
                 FROM pending_references ORDER BY received_at LIMIT $1::bigint",
                &[P::Int64(limit)],
            )
            .map_err(|e| format!("reading pending references: {e}"))?;
        rows.rows
            .iter()
            .map(|r| {
                let text = |i: usize| String::decode(&r[i]).map_err(|e| e.to_string());
                Ok(PendingReference {
                    killmail_id: i64::decode(&r[0]).map_err(|e| e.to_string())? as u64,
                    hash: text(1)?,
                    zkb: serde_json::from_str(&text(2)?).map_err(|e| e.to_string())?,
                    attempts: i32::decode(&r[3]).map_err(|e| e.to_string())?,
                    last_error: text(4)?,
                })
            })
            .collect()
    }

    /// The reference was processed: forget it.
    pub fn settle_pending(&self, killmail_id: u64) -> Result<(), String> {
        self.execute(
            "settling a RedisQ reference",
            "DELETE FROM pending_references WHERE killmail_id = $1::bigint",
            &[P::Int64(killmail_id as i64)],
        )
        .map(drop)
    }

    /// A fetch failed. Only answers that will not change (ESI refused the reference, or sent
    /// something unreadable) count towards giving up; outages are simply retried.
    pub fn pending_failed(&self, killmail_id: u64, error: &str, lasting: bool) -> Result<(), String> {
        self.execute(
            "noting a failed ESI fetch",
            "UPDATE pending_references SET attempts = attempts + CASE WHEN $3::boolean THEN 1 ELSE 0 END, last_error = $2::text
             WHERE killmail_id = $1::bigint",
            &[P::Int64(killmail_id as i64), P::Str(error.into()), P::Boolean(lasting)],
        )
        .map(drop)
    }

    /// Everything `GET /api/ingestion/stats` reports, built by the database in one query.
    pub fn stats(&self) -> Result<serde_json::Value, String> {
        let row = self.query_one(
            "reading statistics",
            "SELECT json_build_object(
                'decisions', (SELECT coalesce(json_object_agg(k, n), '{}') FROM
                    (SELECT coalesce(rule, 'accepted') AS k, count(*) AS n FROM killmail_decisions GROUP BY 1) d),
                'bySource', (SELECT coalesce(json_object_agg(source, n), '{}') FROM
                    (SELECT source, count(*) AS n FROM killmail_decisions GROUP BY 1) s),
                'counters', (SELECT coalesce(json_object_agg(counter, value), '{}') FROM ingestion_counters),
                'feeds', (SELECT coalesce(json_agg(json_build_object(
                    'feed', feed, 'lastSequence', last_sequence, 'newestSequence', newest_sequence,
                    'sequenceLag', greatest(0, newest_sequence - last_sequence),
                    'failures', failures, 'lastError', last_error,
                    'retryAt', retry_at, 'updatedAt', updated_at) ORDER BY feed), '[]') FROM ingestion_status),
                'pendingReferences', (SELECT count(*) FROM pending_references),
                'unreadablePackages', (SELECT count(*) FROM unreadable_packages),
                'latestKillmailTime', (SELECT max(killmail_time) FROM killmail_events),
                'lagSeconds', (SELECT extract(epoch FROM now() - max(killmail_time))::bigint FROM killmail_events)
            )::text",
            &[],
        )?;
        let text = String::decode(&row[0]).map_err(|e| e.to_string())?;
        let mut stats: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        crate::stats::summarise(&mut stats);
        Ok(stats)
    }
}
