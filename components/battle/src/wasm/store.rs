//! The battle database: the kills the service has seen and what clustering reads of them, and
//! the one statement that writes everything a change touches. The API's reads are in
//! `queries`.

use crate::clustering::{Kill, Params};
use crate::config::Config;
use crate::enriched;
use crate::stats::KillDetail;
use spin_sdk::pg3::{Connection, DbValue, Decode, ParameterValue as P};
use std::collections::{BTreeMap, BTreeSet};

pub struct Store {
    pub(super) db: Connection,
    pub config: Config,
}

/// Kills by id, with what statistics read.
pub type KillMap = BTreeMap<u64, (Kill, KillDetail)>;

pub(super) fn decode<T: Decode>(v: &DbValue) -> Result<T, String> {
    T::decode(v).map_err(|e| e.to_string())
}

pub(super) fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

fn ids(text: &str) -> Vec<u64> {
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}

/// A battle as stored: what the next update needs to know.
pub struct Stored {
    pub version: i64,
    pub announced_kills: u32,
    pub announced_end: i64,
    pub manual: bool,
    pub title: Option<String>,
}

/// What storing a kill found.
pub enum Upsert {
    /// This version (or a newer one) was there already.
    Unchanged,
    /// New or newer; automatic clustering owns it.
    Automatic,
    /// Newer, and it belongs to this battle made by hand.
    Pinned(String),
}

/// What clustering reads of a kill; statistics also read `detail`, loaded only for the
/// battles that are written (a big battle's details are then read once per kill, not once
/// per query that finds its kills).
const KILL_COLUMNS: &str = "killmail_id, extract(epoch FROM killmail_time)::bigint, solar_system_id,
    array_to_string(pilots, ','), array_to_string(units, ',')";

impl Store {
    pub fn open(config: &Config) -> Result<Self, String> {
        let db = Connection::open(&config.database_url).map_err(|e| format!("connecting to the battle database: {e}"))?;
        Ok(Self { db, config: config.clone() })
    }

    fn kills(&self, what: &str, sql: &str, params: &[P]) -> Result<Vec<Kill>, String> {
        let rows = self.db.query(sql, params).map_err(|e| format!("{what}: {e}"))?;
        rows.rows
            .iter()
            .map(|r| {
                Ok(Kill {
                    id: decode::<i64>(&r[0])? as u64,
                    time: decode::<i64>(&r[1])?,
                    system: decode::<i64>(&r[2])? as u32,
                    pilots: ids(&decode::<String>(&r[3])?),
                    units: ids(&decode::<String>(&r[4])?),
                })
            })
            .collect()
    }

    /// Kills by id with their details, for statistics.
    pub fn with_details(&self, kill_ids: &BTreeSet<u64>) -> Result<KillMap, String> {
        if kill_ids.is_empty() {
            return Ok(KillMap::new());
        }
        let rows = self
            .db
            .query(
                &format!("SELECT {KILL_COLUMNS}, detail::text FROM battle_kills WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[])"),
                &[P::Str(list(kill_ids))],
            )
            .map_err(|e| format!("loading the details of {} kills: {e}", kill_ids.len()))?;
        rows.rows
            .iter()
            .map(|r| {
                let detail: serde_json::Value = serde_json::from_str(&decode::<String>(&r[5])?).map_err(|e| e.to_string())?;
                let (kill, detail) = enriched::from_row(
                    decode::<i64>(&r[0])? as u64,
                    decode::<i64>(&r[1])?,
                    decode::<i64>(&r[2])? as u32,
                    ids(&decode::<String>(&r[3])?),
                    ids(&decode::<String>(&r[4])?),
                    &detail,
                );
                Ok((kill.id, (kill, detail)))
            })
            .collect()
    }

    /// Store a kill unless this version (or a newer one) is already there.
    pub fn upsert_kill(&self, e: &enriched::Enriched) -> Result<Upsert, String> {
        let rows = self
            .db
            .query(
                "INSERT INTO battle_kills (killmail_id, killmail_time, solar_system_id, pilots, units, version, detail)
                 VALUES ($1::bigint, to_timestamp($2::bigint), $3::bigint,
                         coalesce(string_to_array(nullif($4::text, ''), ',')::bigint[], '{}'),
                         coalesce(string_to_array(nullif($5::text, ''), ',')::bigint[], '{}'),
                         $6::bigint, $7::text::jsonb)
                 ON CONFLICT (killmail_id) DO UPDATE SET pilots = EXCLUDED.pilots, units = EXCLUDED.units,
                     version = EXCLUDED.version, detail = EXCLUDED.detail
                 WHERE battle_kills.version < EXCLUDED.version
                 RETURNING coalesce(pinned_battle, '')",
                &[
                    P::Int64(e.kill.id as i64),
                    P::Int64(e.kill.time),
                    P::Int64(e.kill.system as i64),
                    P::Str(list(&e.kill.pilots)),
                    P::Str(list(&e.kill.units)),
                    P::Int64(e.version),
                    P::Str(enriched::compact(&e.detail).to_string()),
                ],
            )
            .map_err(|e| format!("storing the kill: {e}"))?;
        Ok(match rows.rows.first() {
            None => Upsert::Unchanged,
            Some(r) => match decode::<String>(&r[0])? {
                pinned if pinned.is_empty() => Upsert::Automatic,
                pinned => Upsert::Pinned(pinned),
            },
        })
    }

    /// Kills that share a pilot with `kill` within the gap (the near-system test is the
    /// clustering's own).
    pub fn linked(&self, kill: &Kill, params: &Params) -> Result<Vec<Kill>, String> {
        if kill.pilots.is_empty() {
            return Ok(Vec::new());
        }
        self.kills(
            "loading linked kills",
            &format!(
                "SELECT {KILL_COLUMNS} FROM battle_kills
                 WHERE pilots && string_to_array($1::text, ',')::bigint[] AND pinned_battle IS NULL
                   AND killmail_time BETWEEN to_timestamp($2::bigint) AND to_timestamp($3::bigint)"
            ),
            &[P::Str(list(&kill.pilots)), P::Int64(kill.time - params.max_gap_secs), P::Int64(kill.time + params.max_gap_secs)],
        )
    }

    /// Kills in `systems` between `from` and `to` that involve one of `units`.
    pub fn stragglers(&self, systems: &BTreeSet<u32>, from: i64, to: i64, units: &BTreeSet<u64>) -> Result<Vec<Kill>, String> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        self.kills(
            "loading stragglers",
            &format!(
                "SELECT {KILL_COLUMNS} FROM battle_kills
                 WHERE solar_system_id = ANY(string_to_array($1::text, ',')::bigint[])
                   AND killmail_time BETWEEN to_timestamp($2::bigint) AND to_timestamp($3::bigint)
                   AND units && string_to_array($4::text, ',')::bigint[] AND pinned_battle IS NULL"
            ),
            &[P::Str(list(systems)), P::Int64(from), P::Int64(to), P::Str(list(units))],
        )
    }

    /// Big battles (at least `anchor_kills`) that would take `kill` in as a straggler: in one
    /// of their systems, within the quiet period of their span, sharing a unit.
    pub fn absorbing(&self, kill: &Kill, params: &Params) -> Result<BTreeSet<String>, String> {
        if kill.units.is_empty() {
            return Ok(BTreeSet::new());
        }
        let rows = self
            .db
            .query(
                "SELECT b.battle_id FROM battles b
                 WHERE NOT b.manual AND b.kills >= $1::bigint AND $2::bigint = ANY(b.systems)
                   AND to_timestamp($3::bigint) BETWEEN b.start_time - make_interval(secs => $4::bigint)
                                                   AND b.end_time + make_interval(secs => $4::bigint)
                   AND EXISTS (SELECT 1 FROM battle_killmails m JOIN battle_kills k USING (killmail_id)
                               WHERE m.battle_id = b.battle_id AND k.units && string_to_array($5::text, ',')::bigint[])",
                &[
                    P::Int64(params.anchor_kills as i64),
                    P::Int64(kill.system as i64),
                    P::Int64(kill.time),
                    P::Int64(params.quiet_period_secs),
                    P::Str(list(&kill.units)),
                ],
            )
            .map_err(|e| format!("finding battles that take the kill in: {e}"))?;
        rows.rows.iter().map(|r| decode::<String>(&r[0])).collect()
    }

    /// The battles these kills belong to now.
    pub fn battles_of(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeSet<String>, String> {
        if kill_ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        let rows = self
            .db
            .query(
                "SELECT DISTINCT battle_id FROM battle_killmails WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[])",
                &[P::Str(list(kill_ids))],
            )
            .map_err(|e| format!("finding battles: {e}"))?;
        rows.rows.iter().map(|r| decode::<String>(&r[0])).collect()
    }

    /// Kills by id (those the service has seen).
    pub fn kills_by_id(&self, ids: &BTreeSet<u64>) -> Result<Vec<Kill>, String> {
        self.kills(
            "loading kills",
            &format!("SELECT {KILL_COLUMNS} FROM battle_kills WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[])"),
            &[P::Str(list(ids))],
        )
    }

    pub fn kills_of(&self, battle_ids: &BTreeSet<String>) -> Result<Vec<Kill>, String> {
        self.kills(
            "loading a battle's kills",
            &format!(
                "SELECT {KILL_COLUMNS} FROM battle_kills WHERE killmail_id IN
                    (SELECT killmail_id FROM battle_killmails WHERE battle_id = ANY(string_to_array($1::text, ',')))"
            ),
            &[P::Str(list(battle_ids))],
        )
    }

    /// The killmails of one battle.
    pub fn kill_ids_of(&self, battle_id: &str) -> Result<BTreeSet<u64>, String> {
        let rows = self
            .db
            .query("SELECT killmail_id FROM battle_killmails WHERE battle_id = $1::text", &[P::Str(battle_id.into())])
            .map_err(|e| format!("reading the killmails of battle {battle_id}: {e}"))?;
        rows.rows.iter().map(|r| Ok(decode::<i64>(&r[0])? as u64)).collect()
    }

    /// The manual battles that hold any of these kills, by kill.
    pub fn pinned(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, String>, String> {
        let rows = self
            .db
            .query(
                "SELECT killmail_id, pinned_battle FROM battle_kills
                 WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[]) AND pinned_battle IS NOT NULL",
                &[P::Str(list(kill_ids))],
            )
            .map_err(|e| format!("reading which battles hold the kills: {e}"))?;
        rows.rows.iter().map(|r| Ok((decode::<i64>(&r[0])? as u64, decode::<String>(&r[1])?))).collect()
    }

    pub fn stored(&self, battle_ids: &BTreeSet<String>) -> Result<BTreeMap<String, Stored>, String> {
        let rows = self
            .db
            .query(
                "SELECT battle_id, version, announced_kills, extract(epoch FROM announced_end)::bigint, manual, coalesce(title, '')
                 FROM battles
                 WHERE battle_id = ANY(string_to_array($1::text, ','))",
                &[P::Str(list(battle_ids))],
            )
            .map_err(|e| format!("reading battles: {e}"))?;
        rows.rows
            .iter()
            .map(|r| {
                Ok((
                    decode::<String>(&r[0])?,
                    Stored {
                        version: decode::<i32>(&r[1])? as i64,
                        announced_kills: decode::<i32>(&r[2])? as u32,
                        announced_end: decode::<i64>(&r[3])?,
                        manual: decode::<bool>(&r[4])?,
                        title: Some(decode::<String>(&r[5])?).filter(|t| !t.is_empty()),
                    },
                ))
            })
            .collect()
    }

    /// Write the battles (JSON rows, see `rows`), delete the ones merged away, set which
    /// manual battle holds which kills (`pins`: kill → battle, or none to release it), and queue
    /// the events, in one statement.
    pub fn save(
        &self,
        battles: &serde_json::Value,
        gone: &BTreeSet<String>,
        pins: &BTreeMap<u64, Option<String>>,
    ) -> Result<(), String> {
        let pins: Vec<serde_json::Value> = pins.iter().map(|(k, b)| serde_json::json!({"k": k, "b": b})).collect();
        self.db
            .execute(
                "WITH input AS (
                    SELECT * FROM json_to_recordset($1::text::json) AS b(
                        battle_id text, battle_key bigint, start_time text, end_time text, kills int, isk_destroyed float8,
                        pilots int, systems bigint[], regions bigint[], summary jsonb, version int, announced_kills int,
                        announced_end text, killmail_ids bigint[], participants json, statistics json, event text, topic text,
                        security_bands text[], manual boolean, title text)
                ), gone AS (
                    DELETE FROM battles WHERE battle_id = ANY(string_to_array(nullif($2::text, ''), ','))
                      AND battle_id NOT IN (SELECT battle_id FROM input)
                ), saved AS (
                    INSERT INTO battles (battle_id, battle_key, start_time, end_time, kills, isk_destroyed, pilots, systems, regions,
                                         summary, version, announced_kills, announced_end, updated_at, security_bands, manual, title)
                    SELECT battle_id, battle_key, start_time::timestamptz, end_time::timestamptz, kills, isk_destroyed, pilots,
                           systems, regions, summary, version, announced_kills, announced_end::timestamptz, now(),
                           security_bands, manual, title FROM input
                    ON CONFLICT (battle_id) DO UPDATE SET start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time,
                        kills = EXCLUDED.kills, isk_destroyed = EXCLUDED.isk_destroyed, pilots = EXCLUDED.pilots,
                        systems = EXCLUDED.systems, regions = EXCLUDED.regions, summary = EXCLUDED.summary,
                        version = EXCLUDED.version, announced_kills = EXCLUDED.announced_kills,
                        announced_end = EXCLUDED.announced_end, updated_at = now(), battle_key = EXCLUDED.battle_key,
                        security_bands = EXCLUDED.security_bands, manual = EXCLUDED.manual, title = EXCLUDED.title
                ), pins AS (
                    UPDATE battle_kills k SET pinned_battle = p.b
                    FROM json_to_recordset($3::text::json) AS p(k bigint, b text) WHERE k.killmail_id = p.k
                ), members AS (
                    INSERT INTO battle_killmails (killmail_id, battle_id)
                    SELECT unnest(killmail_ids), battle_id FROM input
                    ON CONFLICT (killmail_id) DO UPDATE SET battle_id = EXCLUDED.battle_id
                    WHERE battle_killmails.battle_id <> EXCLUDED.battle_id
                ), new_people AS MATERIALIZED (
                    SELECT i.battle_id, p.c, p.corp, p.al, p.side FROM input i,
                           json_to_recordset(i.participants) AS p(c bigint, corp bigint, al bigint, side int)
                ), people AS (
                    INSERT INTO battle_participants (battle_id, character_id, corporation_id, alliance_id, side)
                    SELECT battle_id, c, corp, al, side FROM new_people
                    ON CONFLICT (battle_id, character_id) DO UPDATE SET corporation_id = EXCLUDED.corporation_id,
                        alliance_id = EXCLUDED.alliance_id, side = EXCLUDED.side
                    WHERE (battle_participants.corporation_id, battle_participants.alliance_id, battle_participants.side)
                          IS DISTINCT FROM (EXCLUDED.corporation_id, EXCLUDED.alliance_id, EXCLUDED.side)
                ), stale_people AS (
                    DELETE FROM battle_participants p
                    WHERE p.battle_id IN (SELECT battle_id FROM input)
                      AND NOT EXISTS (SELECT 1 FROM new_people n WHERE n.battle_id = p.battle_id AND n.c = p.character_id)
                ), figures AS (
                    INSERT INTO battle_statistics (battle_id, side, statistics)
                    SELECT i.battle_id, s.side, s.statistics FROM input i,
                           json_to_recordset(i.statistics) AS s(side int, statistics jsonb)
                    ON CONFLICT (battle_id, side) DO UPDATE SET statistics = EXCLUDED.statistics
                ), stale_sides AS (
                    DELETE FROM battle_statistics s USING input i
                    WHERE s.battle_id = i.battle_id AND s.side >= json_array_length(i.statistics) - 1
                )
                INSERT INTO outbox (topic, key, payload)
                SELECT topic, battle_id, event FROM input WHERE event IS NOT NULL",
                &[P::Str(battles.to_string()), P::Str(list(gone)), P::Str(serde_json::Value::Array(pins).to_string())],
            )
            .map(drop)
            .map_err(|e| format!("saving battles: {e}"))
    }
}
