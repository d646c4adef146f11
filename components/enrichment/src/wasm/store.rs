//! The enrichment database. Writes that belong together are one statement.

use super::counters::Counters;
use crate::config::Config;
use crate::enrich::Enriched;
use crate::names::{Name, Names};
use contracts::killmail_enriched::KillmailEnrichedSource;
use guest::bulk::{Column, SeparatorInValue};
use spin_sdk::pg3::{Connection, DbValue, Decode, ParameterValue as P};
use std::collections::BTreeSet;

pub struct Store {
    db: Connection,
    /// Where `killmail.enriched` events of live killmails go.
    topic: String,
    /// … and of backfilled ones, whose lane this keeps apart.
    backfill_topic: String,
}

fn err(what: &str) -> impl Fn(spin_sdk::pg3::PgError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn decode<T: Decode>(v: &DbValue) -> Result<T, String> {
    T::decode(v).map_err(|e| e.to_string())
}

fn id_list(ids: &BTreeSet<u64>) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// A stored killmail whose names are not all resolved yet.
pub struct Incomplete {
    pub killmail_id: u64,
    pub hash: String,
    pub source: contracts::killmail_enriched::KillmailEnrichedSource,
    pub version: u32,
    pub esi: serde_json::Value,
    pub zkb: Option<serde_json::Value>,
    pub unresolved: usize,
}

/// One killmail for [`Store::save_all`]: what enrichment made of it, the bodies it came with,
/// and the trace its event continues.
pub struct ToSave<'a> {
    pub enriched: &'a Enriched,
    pub esi: &'a serde_json::Value,
    pub zkb: Option<&'a serde_json::Value>,
    pub trace: Option<&'a str>,
}

/// A killmail's row of `save_all`'s input, without its large values (ESI body, zKillboard's
/// values, document, event): those go beside the rows ([`Large`]). It borrows what it can:
/// building a `json!` value copied each killmail's bodies and document into a tree first, and
/// that copy cost as much as the statement (#11).
#[derive(serde::Serialize)]
struct Row<'a> {
    killmail_id: u64,
    killmail_hash: &'a str,
    killmail_time: String,
    solar_system_id: u64,
    region_id: Option<u64>,
    security_band: String,
    victim_ship_type_id: Option<u64>,
    attackers: usize,
    version: u64,
    names_complete: bool,
    source: String,
    unresolved: &'a BTreeSet<u64>,
    headers: String,
    topic: &'a str,
}

/// The large values of `save_all`'s rows, a column each (`guest::bulk`).
struct Large {
    esi: Column,
    zkb: Column,
    document: Column,
    event: Column,
}

impl Large {
    fn new() -> Self {
        Self { esi: Column::new("esi"), zkb: Column::new("zkb"), document: Column::new("document"), event: Column::new("event") }
    }

    fn push(&mut self, k: &ToSave<'_>) -> Result<(), SeparatorInValue> {
        let doc = &k.enriched.document;
        let json = |v: &serde_json::Value| v.to_string();
        self.esi.push(Some(&json(k.esi)))?;
        self.zkb.push(k.zkb.map(json).as_deref())?;
        self.document.push(Some(&serde_json::to_string(doc).expect("documents serialise")))?;
        self.event.push(Some(&contracts::Envelope::borrowing(doc).to_json()))
    }
}

impl ToSave<'_> {
    fn row<'a>(&'a self, topic: &'a str) -> Row<'a> {
        let doc = &self.enriched.document;
        let system = &doc.solar_system;
        Row {
            killmail_id: doc.killmail_id,
            killmail_hash: &doc.killmail_hash,
            killmail_time: doc.killmail_time.to_rfc3339(),
            solar_system_id: system.id,
            region_id: system.region_id,
            security_band: system.security_band.to_string(),
            victim_ship_type_id: doc.victim.ship_type_id,
            attackers: doc.attackers.len(),
            version: doc.version.unwrap_or(1),
            names_complete: self.enriched.unresolved.is_empty(),
            source: doc.source.map(|s| s.to_string()).unwrap_or_default(),
            unresolved: &self.enriched.unresolved,
            headers: guest::trace::outbox_headers(self.trace),
            topic,
        }
    }
}

impl Store {
    pub fn open(config: &Config) -> Result<Self, String> {
        let db = Connection::open(&config.database_url).map_err(err("connecting to the enrichment database"))?;
        Ok(Self { db, topic: config.enriched_topic.clone(), backfill_topic: config.backfill_enriched_topic.clone() })
    }

    /// Those of `ids` already enriched.
    pub fn enriched_among(&self, ids: &BTreeSet<u64>) -> Result<BTreeSet<u64>, String> {
        let rows = self
            .db
            .query(
                "SELECT killmail_id FROM enriched_killmails WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[])",
                &[P::Str(id_list(ids))],
            )
            .map_err(err(&format!("looking up which of {} killmails are enriched", ids.len())))?;
        rows.rows.iter().map(|r| decode::<i64>(&r[0]).map(|id| id as u64)).collect()
    }

    /// Store enriched killmails and their events (first enrichments or later versions), and
    /// remember their unresolved ids, in one statement for the whole batch: per killmail, one
    /// statement cost as much as the rest of the batch's work (#11). Returns, for each, false
    /// when this version (or a newer one) was already stored. Events are queued in the order
    /// given; each continues its own trace (a `traceparent`), when it has one.
    pub fn save_all(&self, killmails: &[ToSave<'_>]) -> Result<Vec<bool>, String> {
        if killmails.is_empty() {
            return Ok(Vec::new());
        }
        let mut large = Large::new();
        let mut rows: Vec<Row<'_>> = Vec::with_capacity(killmails.len());
        for k in killmails {
            let backfilled = k.enriched.document.source == Some(KillmailEnrichedSource::Backfill);
            rows.push(k.row(if backfilled { &self.backfill_topic } else { &self.topic }));
            large.push(k).map_err(|e| format!("killmail {}: {e}", k.enriched.document.killmail_id))?;
        }
        let saved = self
            .db
            .query(
                "WITH input AS (
                    SELECT * FROM ROWS FROM (
                        json_to_recordset($1::text::json) AS (killmail_id bigint, killmail_hash text,
                            killmail_time timestamptz, solar_system_id bigint, region_id bigint, security_band text,
                            victim_ship_type_id bigint, attackers bigint, version bigint, names_complete boolean, source text,
                            unresolved bigint[], headers text, topic text),
                        string_to_table($2::text, E'\\x1e'), string_to_table($3::text, E'\\x1e'),
                        string_to_table($4::text, E'\\x1e'), string_to_table($5::text, E'\\x1e')
                    ) WITH ORDINALITY AS x(killmail_id, killmail_hash, killmail_time, solar_system_id, region_id, security_band,
                        victim_ship_type_id, attackers, version, names_complete, source, unresolved, headers, topic,
                        esi, zkb, document, event, n)
                ), saved AS (
                    INSERT INTO enriched_killmails (killmail_id, killmail_hash, killmail_time, solar_system_id, region_id,
                        security_band, victim_ship_type_id, attackers, version, names_complete, source, esi, zkb, document)
                    SELECT killmail_id, killmail_hash, killmail_time, solar_system_id, region_id, security_band,
                        victim_ship_type_id, attackers, version, names_complete, source, esi::json, NULLIF(zkb, '')::json,
                        document::json
                    FROM input
                    ON CONFLICT (killmail_id) DO UPDATE SET version = EXCLUDED.version, names_complete = EXCLUDED.names_complete,
                        document = EXCLUDED.document, updated_at = now()
                    WHERE enriched_killmails.version < EXCLUDED.version
                    RETURNING killmail_id
                ), published AS (
                    INSERT INTO outbox (topic, key, payload, headers)
                    SELECT i.topic, i.killmail_id::text, i.event, i.headers::jsonb FROM input i JOIN saved USING (killmail_id)
                    ORDER BY i.n
                    RETURNING id
                ), waiting AS (
                    INSERT INTO unresolved_names (id)
                    SELECT DISTINCT unnest(i.unresolved) FROM input i JOIN saved USING (killmail_id)
                    ON CONFLICT (id) DO NOTHING
                    RETURNING id
                )
                SELECT killmail_id FROM saved",
                &[
                    P::Str(serde_json::to_string(&rows).expect("rows serialise")),
                    P::Str(large.esi.into_text()),
                    P::Str(large.zkb.into_text()),
                    P::Str(large.document.into_text()),
                    P::Str(large.event.into_text()),
                ],
            )
            .map_err(err(&format!(
                "storing {} enriched killmails ({}..)",
                killmails.len(),
                killmails[0].enriched.document.killmail_id
            )))?;
        let saved: BTreeSet<u64> =
            saved.rows.iter().map(|r| decode::<i64>(&r[0]).map(|id| id as u64)).collect::<Result<_, _>>()?;
        Ok(killmails.iter().map(|k| saved.contains(&k.enriched.document.killmail_id)).collect())
    }

    /// Names the database knows, of `ids`.
    pub fn names(&self, ids: &BTreeSet<u64>) -> Result<Names, String> {
        if ids.is_empty() {
            return Ok(Names::new());
        }
        let rows = self
            .db
            .query(
                "SELECT id, name, category FROM esi_cache WHERE id = ANY(string_to_array($1::text, ',')::bigint[])",
                &[P::Str(id_list(ids))],
            )
            .map_err(err("reading cached names"))?;
        rows.rows
            .iter()
            .map(|r| Ok((decode::<i64>(&r[0])? as u64, Name { name: decode(&r[1])?, category: decode(&r[2])? })))
            .collect()
    }

    /// Ids not to ask ESI about yet: it could not name them recently.
    pub fn waiting(&self, ids: &BTreeSet<u64>) -> Result<BTreeSet<u64>, String> {
        if ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        let rows = self
            .db
            .query(
                "SELECT id FROM unresolved_names WHERE id = ANY(string_to_array($1::text, ',')::bigint[]) AND retry_at > now()",
                &[P::Str(id_list(ids))],
            )
            .map_err(err("reading unresolved ids"))?;
        rows.rows.iter().map(|r| Ok(decode::<i64>(&r[0])? as u64)).collect()
    }

    /// Keep names ESI resolved, and forget them as unresolved.
    pub fn remember(&self, names: &Names) -> Result<(), String> {
        if names.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> =
            names.iter().map(|(id, n)| serde_json::json!({"id": id, "name": n.name, "category": n.category})).collect();
        self.db
            .execute(
                "WITH incoming AS (
                    SELECT * FROM json_to_recordset($1::text::json) AS x(id bigint, name text, category text)
                ), kept AS (
                    INSERT INTO esi_cache (id, name, category) SELECT id, name, category FROM incoming
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category, resolved_at = now()
                    RETURNING id
                )
                DELETE FROM unresolved_names WHERE id IN (SELECT id FROM incoming)",
                &[P::Str(serde_json::Value::Array(rows).to_string())],
            )
            .map_err(err("storing resolved names"))
            .map(drop)
    }

    /// ESI could not name these: try again after a growing delay (`lasting`: ESI said the id
    /// is invalid; otherwise ESI was unavailable and the next cron run may retry).
    pub fn not_resolved(&self, ids: &BTreeSet<u64>, lasting: bool, error: &str) -> Result<(), String> {
        if ids.is_empty() {
            return Ok(());
        }
        self.db
            .execute(
                "INSERT INTO unresolved_names (id, attempts, last_error, retry_at)
                 SELECT x::bigint, CASE WHEN $2::boolean THEN 1 ELSE 0 END, $3::text,
                        now() + CASE WHEN $2::boolean THEN interval '1 hour' ELSE interval '0' END
                 FROM unnest(string_to_array($1::text, ',')) AS x
                 ON CONFLICT (id) DO UPDATE SET
                    attempts = unresolved_names.attempts + CASE WHEN $2::boolean THEN 1 ELSE 0 END,
                    last_error = EXCLUDED.last_error,
                    retry_at = now() + CASE WHEN $2::boolean
                        THEN interval '1 hour' * power(2, least(unresolved_names.attempts, 6)) ELSE interval '0' END",
                &[P::Str(id_list(ids)), P::Boolean(lasting), P::Str(error.into())],
            )
            .map_err(err("recording unresolved ids"))
            .map(drop)
    }

    /// Ids due for another try.
    pub fn due_unresolved(&self, limit: i64) -> Result<BTreeSet<u64>, String> {
        let rows = self
            .db
            .query(
                "SELECT id FROM unresolved_names WHERE retry_at <= now() ORDER BY retry_at LIMIT $1::bigint",
                &[P::Int64(limit)],
            )
            .map_err(err("reading due unresolved ids"))?;
        rows.rows.iter().map(|r| Ok(decode::<i64>(&r[0])? as u64)).collect()
    }

    /// Killmails published without some names, oldest first.
    pub fn incomplete(&self, limit: i64) -> Result<Vec<Incomplete>, String> {
        let rows = self
            .db
            .query(
                "SELECT killmail_id, killmail_hash, source, version, esi::text, zkb::text,
                        json_array_length(document->'unresolvedIds')
                 FROM enriched_killmails WHERE NOT names_complete ORDER BY killmail_time LIMIT $1::bigint",
                &[P::Int64(limit)],
            )
            .map_err(err("reading incomplete killmails"))?;
        rows.rows
            .iter()
            .map(|r| {
                let json = |v: Option<String>| v.map(|t| serde_json::from_str(&t).map_err(|e| e.to_string())).transpose();
                Ok(Incomplete {
                    killmail_id: decode::<i64>(&r[0])? as u64,
                    hash: decode(&r[1])?,
                    source: decode::<String>(&r[2])?.parse().map_err(|e| format!("stored source: {e}"))?,
                    version: decode::<i32>(&r[3])? as u32,
                    esi: json(Some(decode(&r[4])?))?.unwrap_or_default(),
                    zkb: json(decode(&r[5])?)?,
                    unresolved: decode::<i32>(&r[6])? as usize,
                })
            })
            .collect()
    }

    /// A cached GET response: (etag, fresh, body).
    pub fn http_cache(&self, url: &str) -> Result<Option<(Option<String>, bool, String)>, String> {
        let rows = self
            .db
            .query(
                "SELECT etag, coalesce(expires_at > now(), false), body FROM esi_http_cache WHERE url = $1::text",
                &[P::Str(url.into())],
            )
            .map_err(err("reading the HTTP cache"))?;
        rows.rows.first().map(|r| Ok((decode(&r[0])?, decode(&r[1])?, decode(&r[2])?))).transpose()
    }

    pub fn keep_http(&self, url: &str, etag: Option<&str>, max_age_s: Option<i64>, body: &str) -> Result<(), String> {
        self.db
            .execute(
                "INSERT INTO esi_http_cache (url, etag, expires_at, body) VALUES ($1::text, $2::text, now() + make_interval(secs => $3::bigint), $4::text)
                 ON CONFLICT (url) DO UPDATE SET etag = coalesce(EXCLUDED.etag, esi_http_cache.etag), expires_at = EXCLUDED.expires_at,
                    body = EXCLUDED.body, stored_at = now()",
                &[
                    P::Str(url.into()),
                    etag.map(|e| P::Str(e.into())).unwrap_or(P::DbNull),
                    P::Int64(max_age_s.unwrap_or(0)),
                    P::Str(body.into()),
                ],
            )
            .map_err(err("storing an HTTP response"))
            .map(drop)
    }

    pub fn count(&self, counters: &Counters) -> Result<(), String> {
        if counters.is_empty() {
            return Ok(());
        }
        self.db
            .execute(
                "INSERT INTO enrichment_counters (counter, value)
                 SELECT key, value::bigint FROM json_each_text($1::text::json)
                 ON CONFLICT (counter) DO UPDATE SET value = enrichment_counters.value + EXCLUDED.value",
                &[P::Str(counters.to_json())],
            )
            .map_err(err("counting"))
            .map(drop)
    }

    /// The stored enriched killmail, with when it was enriched.
    pub fn killmail(&self, id: u64) -> Result<Option<serde_json::Value>, String> {
        let rows = self
            .db
            .query(
                "SELECT document::text, enriched_at::text, updated_at::text FROM enriched_killmails WHERE killmail_id = $1::bigint",
                &[P::Int64(id as i64)],
            )
            .map_err(err("reading the killmail"))?;
        let Some(r) = rows.rows.first() else { return Ok(None) };
        let mut doc: serde_json::Value = serde_json::from_str(&decode::<String>(&r[0])?).map_err(|e| e.to_string())?;
        doc["enrichedAt"] = serde_json::json!(decode::<String>(&r[1])?);
        doc["updatedAt"] = serde_json::json!(decode::<Option<String>>(&r[2])?);
        Ok(Some(doc))
    }

    /// What `GET /api/enrichment/health` reports of the database: schema version, killmails
    /// enriched (the planner's estimate past 100,000), those still waiting for names, the newest
    /// kill enriched (how far enrichment has come) and the server's clock. Asked often and
    /// without a token, so the counts use the estimate and a partial index.
    pub fn health(&self) -> Result<serde_json::Value, String> {
        let rows = self
            .db
            .query(
                "SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations),
                        (SELECT CASE WHEN c.reltuples > 100000 THEN c.reltuples::bigint
                                     ELSE (SELECT count(*) FROM enriched_killmails) END
                         FROM pg_class c WHERE c.oid = 'enriched_killmails'::regclass),
                        (SELECT count(*) FROM enriched_killmails WHERE NOT names_complete),
                        to_char((SELECT max(killmail_time) FROM enriched_killmails) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                &[],
            )
            .map_err(err("querying health"))?;
        let row = rows.rows.first().ok_or("querying health: no row")?;
        Ok(serde_json::json!({
            "schemaVersion": decode::<i32>(&row[0])?,
            "killmails": decode::<i64>(&row[1])?,
            "namesIncomplete": decode::<i64>(&row[2])?,
            "newestKill": decode::<Option<String>>(&row[3])?,
            "serverTime": decode::<String>(&row[4])?,
        }))
    }

    pub fn stats(&self) -> Result<serde_json::Value, String> {
        let rows = self
            .db
            .query(
                "SELECT json_build_object(
                    'killmails', (SELECT count(*) FROM enriched_killmails),
                    'namesIncomplete', (SELECT count(*) FROM enriched_killmails WHERE NOT names_complete),
                    'cachedNames', (SELECT count(*) FROM esi_cache),
                    'unresolvedIds', (SELECT count(*) FROM unresolved_names),
                    'cachedResponses', (SELECT count(*) FROM esi_http_cache),
                    'counters', (SELECT coalesce(json_object_agg(counter, value), '{}') FROM enrichment_counters)
                )::text",
                &[],
            )
            .map_err(err("reading statistics"))?;
        let text: String = decode(&rows.rows.first().ok_or("statistics: no row")?[0])?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }
}
