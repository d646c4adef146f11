//! The battle database through Spin's Postgres interface: the engine's [`BattleStore`]. Each
//! change runs in a transaction that first takes one advisory lock, so changes from several
//! replicas and operators' edits run one at a time; a `Write` is applied inside it, so it lands
//! whole or not at all. The API's reads are in `queries`.

use crate::clustering::{Kill, Params};
use crate::config::Config;
use crate::engine::reach::{self, Absorber};
use crate::engine::{Announced, BattleStore, KillMap, KnownKill, StoreError, Stored, Write};
use crate::enriched;
use crate::failure::{classify, Failure};
use spin_sdk::pg3::{Connection, DbValue, Decode, ParameterValue as P, PgError, RowSet};
use std::collections::{BTreeMap, BTreeSet};

/// The advisory lock every change of the battle database holds ("battles" in ASCII).
const CHANGE_LOCK: i64 = 0x626174746c6573;

pub struct Store {
    db: Connection,
    pub config: Config,
}

pub(super) fn decode<T: Decode>(v: &DbValue) -> Result<T, StoreError> {
    T::decode(v).map_err(|e| StoreError::Permanent(format!("reading a stored value: {e}")))
}

pub(super) fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

pub(super) fn ids(text: &str) -> Vec<u64> {
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}

fn failed(what: &str) -> impl Fn(PgError) -> StoreError + '_ {
    move |e| {
        let (kind, message) = match &e {
            PgError::ConnectionFailed(m) => (Failure::Connection, m),
            PgError::QueryFailed(m) => (Failure::Query, m),
            PgError::BadParameter(m) | PgError::ValueConversionFailed(m) | PgError::Other(m) => (Failure::Other, m),
        };
        classify(kind, what, message)
    }
}

pub(super) fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Permanent(format!("{what} is not what this version stores: {e}")))
}

/// Most pilots a batch's linked-kills read filters by; past it, the read takes the time window
/// whole (see `linked`).
const PILOT_FILTER_MAX: usize = 200;

/// What clustering reads of a kill; statistics also read `detail`, loaded only for the battles
/// that are written.
const KILL_COLUMNS: &str = "killmail_id, extract(epoch FROM killmail_time)::bigint, solar_system_id,
    array_to_string(pilots, ','), array_to_string(units, ',')";

/// What `Stored` is made of.
const STORED_COLUMNS: &str = "battle_id, summary::text, announced_version, announced_kills,
    extract(epoch FROM announced_end)::bigint, (extract(epoch FROM announced_at) * 1000)::bigint, side_moves::text,
    array_to_string(units, ',')";

impl Store {
    pub fn open(config: &Config) -> Result<Self, StoreError> {
        let db = Connection::open(&config.database_url).map_err(failed("connecting to the battle database"))?;
        Ok(Self { db, config: config.clone() })
    }

    pub(super) fn query(&self, what: &str, sql: &str, params: &[P]) -> Result<RowSet, StoreError> {
        self.db.query(sql, params).map_err(failed(what))
    }

    pub(super) fn execute(&self, what: &str, sql: &str, params: &[P]) -> Result<u64, StoreError> {
        self.db.execute(sql, params).map_err(failed(what))
    }

    fn kills(&self, what: &str, sql: &str, params: &[P]) -> Result<Vec<Kill>, StoreError> {
        let rows = self.query(what, sql, params)?;
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

    fn battles(&self, what: &str, condition: &str, params: &[P]) -> Result<BTreeMap<String, Stored>, StoreError> {
        let rows = self.query(what, &format!("SELECT {STORED_COLUMNS} FROM battles WHERE {condition}"), params)?;
        rows.rows
            .iter()
            .map(|r| {
                let id = decode::<String>(&r[0])?;
                let summary = json(&format!("battle {id}'s summary"), &decode::<String>(&r[1])?)?;
                let announced = Announced {
                    version: decode::<i32>(&r[2])? as u64,
                    kills: decode::<i32>(&r[3])? as u32,
                    end: decode::<i64>(&r[4])?,
                    at_ms: decode::<i64>(&r[5])?,
                };
                let side_moves = json(&format!("battle {id}'s side moves"), &decode::<String>(&r[6])?)?;
                let units = ids(&decode::<String>(&r[7])?).into_iter().collect();
                Ok((id, Stored { summary, announced, side_moves, units }))
            })
            .collect()
    }

    /// Run `change` in a transaction that holds the change lock, queueing for it (`wait`) or
    /// giving up at once (`None`) when another change holds it. Nothing of a failed change stays.
    fn locked<T>(
        &mut self,
        wait: bool,
        change: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.execute("starting a transaction", "BEGIN", &[])?;
        let outcome = self.take_lock(wait).and_then(|held| if held { change(self).map(Some) } else { Ok(None) });
        match outcome {
            Ok(value) => {
                self.execute("committing", "COMMIT", &[])?;
                Ok(value)
            }
            Err(e) => {
                // The host also rolls back a connection that comes back to its pool mid-transaction.
                let _ = self.execute("rolling back", "ROLLBACK", &[]);
                Err(e)
            }
        }
    }

    /// Take the change lock for the transaction: whether it is held now.
    fn take_lock(&self, wait: bool) -> Result<bool, StoreError> {
        let take = if wait {
            "true FROM pg_advisory_xact_lock($1::bigint)"
        } else {
            "taken FROM pg_try_advisory_xact_lock($1::bigint) AS taken"
        };
        let rows = self.query(
            "taking the change lock",
            // Planned for each call's own values: the host caches statements, and Postgres's
            // generic plan for a cached one evaluates `string_to_array($1 …)` once per row
            // (300 ms for a thousand rows of `linked`), where a plan for the values parses
            // the list once and sees how selective it is.
            &format!("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), {take}"),
            &[P::Int64(CHANGE_LOCK)],
        )?;
        rows.rows.first().map(|r| decode::<bool>(&r[1])).unwrap_or(Ok(false))
    }

    /// The kill ids of one battle (for the API too).
    pub fn members(&self, battle_id: &str) -> Result<BTreeSet<u64>, StoreError> {
        let rows = self.query(
            &format!("reading the killmails of battle {battle_id}"),
            "SELECT killmail_id FROM battle_killmails WHERE battle_id = $1::text",
            &[P::Str(battle_id.into())],
        )?;
        rows.rows.iter().map(|r| Ok(decode::<i64>(&r[0])? as u64)).collect()
    }
}

impl BattleStore for Store {
    fn exclusive<T>(&mut self, change: impl FnOnce(&mut Self) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let value = self.locked(true, change)?;
        value.ok_or_else(|| StoreError::Transient("the change lock was not taken".into()))
    }

    fn exclusive_if_free<T>(&mut self, change: impl FnOnce(&mut Self) -> Result<T, StoreError>) -> Result<Option<T>, StoreError> {
        self.locked(false, change)
    }

    fn known_all(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, KnownKill>, StoreError> {
        let rows = self.query(
            "looking the kills up",
            "SELECT killmail_id, version, coalesce(pinned_battle, '') FROM battle_kills
             WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[])",
            &[P::Str(list(kill_ids))],
        )?;
        rows.rows
            .iter()
            .map(|r| {
                let pinned = decode::<String>(&r[2])?;
                let known = KnownKill { version: decode::<i32>(&r[1])? as i64, pinned: Some(pinned).filter(|p| !p.is_empty()) };
                Ok((decode::<i64>(&r[0])? as u64, known))
            })
            .collect()
    }

    fn linked(&self, seeds: &[Kill], params: &Params) -> Result<Vec<Kill>, StoreError> {
        let seeds = reach::with_pilots(seeds);
        let Some((from, to)) = reach::span(&seeds, params.max_gap_secs) else { return Ok(Vec::new()) };
        let pilots: BTreeSet<u64> = seeds.iter().flat_map(|k| k.pilots.iter().copied()).collect();
        // Every pilot of the batch over its whole span, read by time (migration 0007: by pilot,
        // the read grew with each pilot's history): `reach::linked` keeps what is near a seed.
        // A big batch reads its window whole: `pilots && list` compared each row with the whole
        // list (about 60 µs a row at 5,000 pilots) and still kept four rows in five.
        let by_pilot = pilots.len() <= PILOT_FILTER_MAX;
        let candidates = self.kills(
            "loading linked kills",
            &format!(
                "SELECT {KILL_COLUMNS} FROM battle_kills
                 WHERE killmail_time BETWEEN to_timestamp($2::bigint) AND to_timestamp($3::bigint) AND pinned_battle IS NULL
                   AND ($1::text = '' OR pilots && string_to_array($1::text, ',')::bigint[])"
            ),
            &[P::Str(if by_pilot { list(&pilots) } else { String::new() }), P::Int64(from), P::Int64(to)],
        )?;
        Ok(reach::linked(&seeds, candidates, params))
    }

    fn stragglers(&self, battles: &[Absorber], params: &Params) -> Result<Vec<Kill>, StoreError> {
        let windows = reach::straggler_windows(battles, params);
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        // By system and time only (the index's columns); which unit counts is decided here, per
        // battle: an array overlap with every unit of a big fight, tested on each row in the
        // window, cost far more than reading the rows.
        let windows: Vec<serde_json::Value> =
            windows.iter().map(|w| serde_json::json!({"s": w.system, "f": w.from, "t": w.to})).collect();
        let candidates = self.kills(
            "loading stragglers",
            &format!(
                "SELECT {KILL_COLUMNS} FROM json_to_recordset($1::text::json) AS w(s bigint, f bigint, t bigint)
                 JOIN battle_kills ON solar_system_id = w.s AND killmail_time BETWEEN to_timestamp(w.f) AND to_timestamp(w.t)
                 WHERE pinned_battle IS NULL"
            ),
            &[P::Str(serde_json::Value::Array(windows).to_string())],
        )?;
        Ok(reach::stragglers(battles, candidates, params))
    }

    fn absorbing(&self, seeds: &[Kill], params: &Params) -> Result<BTreeSet<String>, StoreError> {
        let seeds = reach::with_units(seeds);
        let Some((from, to)) = reach::span(&seeds, params.quiet_period_secs) else { return Ok(BTreeSet::new()) };
        let systems: BTreeSet<u32> = seeds.iter().map(|k| k.system).collect();
        // The big battles in the batch's systems and span, each with every unit on its kills
        // (kept on the battle: gathering them from its kills cost a read of the whole battle).
        let rows = self.query(
            "finding battles that take the kills in",
            "SELECT b.battle_id, array_to_string(b.systems, ','), extract(epoch FROM b.start_time)::bigint,
                    extract(epoch FROM b.end_time)::bigint, array_to_string(b.units, ',')
             FROM battles b
             WHERE tstzrange(b.start_time, b.end_time, '[]') && tstzrange(to_timestamp($3::bigint), to_timestamp($4::bigint), '[]')
               AND NOT b.manual AND b.kills >= $1::bigint AND b.systems && string_to_array($2::text, ',')::bigint[]",
            &[P::Int64(params.anchor_kills as i64), P::Str(list(&systems)), P::Int64(from), P::Int64(to)],
        )?;
        let absorbers = rows
            .rows
            .iter()
            .map(|r| {
                Ok(Absorber {
                    battle_id: decode::<String>(&r[0])?,
                    systems: ids(&decode::<String>(&r[1])?).into_iter().map(|s| s as u32).collect(),
                    start: decode::<i64>(&r[2])?,
                    end: decode::<i64>(&r[3])?,
                    units: ids(&decode::<String>(&r[4])?).into_iter().collect(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(reach::absorbing(&seeds, &absorbers, params))
    }

    fn battles_of(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeSet<String>, StoreError> {
        if kill_ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        let rows = self.query(
            "finding battles",
            "SELECT DISTINCT battle_id FROM battle_killmails WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[])",
            &[P::Str(list(kill_ids))],
        )?;
        rows.rows.iter().map(|r| decode::<String>(&r[0])).collect()
    }

    fn kills_of(&self, battle_ids: &BTreeSet<String>) -> Result<Vec<Kill>, StoreError> {
        self.kills(
            "loading a battle's kills",
            &format!(
                // An array, not a join: by the number of members Postgres chose to read the whole
                // table (a hash or merge join), which grows with history.
                "SELECT {KILL_COLUMNS} FROM battle_kills WHERE killmail_id = ANY(ARRAY(
                    SELECT killmail_id FROM battle_killmails WHERE battle_id = ANY(string_to_array($1::text, ','))))"
            ),
            &[P::Str(list(battle_ids))],
        )
    }

    fn kills_by_id(&self, ids: &BTreeSet<u64>) -> Result<Vec<Kill>, StoreError> {
        self.kills(
            "loading kills",
            &format!("SELECT {KILL_COLUMNS} FROM battle_kills WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[])"),
            &[P::Str(list(ids))],
        )
    }

    fn members_of(&self, battle_ids: &BTreeSet<String>) -> Result<BTreeMap<String, BTreeSet<u64>>, StoreError> {
        let rows = self.query(
            "reading the killmails of battles",
            "SELECT battle_id, killmail_id FROM battle_killmails WHERE battle_id = ANY(string_to_array($1::text, ','))",
            &[P::Str(list(battle_ids))],
        )?;
        let mut members: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for r in &rows.rows {
            members.entry(decode::<String>(&r[0])?).or_default().insert(decode::<i64>(&r[1])? as u64);
        }
        Ok(members)
    }

    fn pinned(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, String>, StoreError> {
        let rows = self.query(
            "reading which battles hold the kills",
            "SELECT killmail_id, pinned_battle FROM battle_kills
             WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[]) AND pinned_battle IS NOT NULL",
            &[P::Str(list(kill_ids))],
        )?;
        rows.rows.iter().map(|r| Ok((decode::<i64>(&r[0])? as u64, decode::<String>(&r[1])?))).collect()
    }

    fn with_details(&self, kill_ids: &BTreeSet<u64>) -> Result<KillMap, StoreError> {
        if kill_ids.is_empty() {
            return Ok(KillMap::new());
        }
        let rows = self.query(
            &format!("loading the details of {} kills", kill_ids.len()),
            &format!("SELECT {KILL_COLUMNS}, detail::text FROM battle_kills WHERE killmail_id = ANY(string_to_array($1::text, ',')::bigint[])"),
            &[P::Str(list(kill_ids))],
        )?;
        rows.rows
            .iter()
            .map(|r| {
                let id = decode::<i64>(&r[0])? as u64;
                let (kill, detail) = enriched::from_row(
                    id,
                    decode::<i64>(&r[1])?,
                    decode::<i64>(&r[2])? as u32,
                    ids(&decode::<String>(&r[3])?),
                    ids(&decode::<String>(&r[4])?),
                    &decode::<String>(&r[5])?,
                )
                .map_err(|e| {
                    StoreError::Permanent(format!("killmail {id}'s stored details are not what this version stores: {e}"))
                })?;
                Ok((kill.id, (kill, detail)))
            })
            .collect()
    }

    fn stored(&self, battle_ids: &BTreeSet<String>) -> Result<BTreeMap<String, Stored>, StoreError> {
        self.battles("reading battles", "battle_id = ANY(string_to_array($1::text, ','))", &[P::Str(list(battle_ids))])
    }

    fn names(&self, ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, String>, StoreError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let rows = self.query(
            "reading names",
            "SELECT id, name FROM battle_names WHERE id = ANY(string_to_array($1::text, ',')::bigint[])",
            &[P::Str(list(ids))],
        )?;
        rows.rows.iter().map(|r| Ok((decode::<i64>(&r[0])? as u64, decode::<String>(&r[1])?))).collect()
    }

    fn watermark(&self) -> Result<Option<i64>, StoreError> {
        let rows = self.query(
            "reading the newest kill time",
            "SELECT extract(epoch FROM max(killmail_time))::bigint FROM battle_kills",
            &[],
        )?;
        rows.rows.first().map(|r| decode::<Option<i64>>(&r[0])).transpose().map(Option::flatten)
    }

    fn open_until(&self, time: i64, limit: usize) -> Result<BTreeMap<String, Stored>, StoreError> {
        self.battles(
            "reading quiet battles",
            "status = 'open' AND end_time <= to_timestamp($1::bigint) ORDER BY end_time, battle_id LIMIT $2::bigint",
            &[P::Int64(time), P::Int64(limit as i64)],
        )
    }

    fn unannounced(&self, at_ms: i64, limit: usize) -> Result<BTreeMap<String, Stored>, StoreError> {
        self.battles(
            "reading battles with changes to announce",
            "version > announced_version AND announced_at <= to_timestamp($1::bigint / 1000.0)
             ORDER BY announced_at, battle_id LIMIT $2::bigint",
            &[P::Int64(at_ms), P::Int64(limit as i64)],
        )
    }

    fn save(&mut self, w: &Write) -> Result<(), StoreError> {
        super::rows::save(self, w)
    }
}
