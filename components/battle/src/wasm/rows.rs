//! A `Write` into the battle database, inside the change's transaction: the arriving kills and
//! their names, removed battles, the battles written (with their killmails, participants and
//! statistics), marks, pins and the outbox. Each part is one statement over JSON rows, so a
//! change costs a handful of round trips however many battles it touches.

use super::store::Store;
use crate::engine::{BattleRecord, StoreError, Write};
use crate::enriched;
use crate::views;
use guest::bulk::Column;
use serde_json::{json, Value};
use spin_sdk::pg3::ParameterValue as P;

/// A value that cannot travel beside the rows would fail the same way again.
impl From<guest::bulk::SeparatorInValue> for StoreError {
    fn from(e: guest::bulk::SeparatorInValue) -> Self {
        StoreError::Permanent(e.to_string())
    }
}

fn rows<T>(items: &[T], row: impl Fn(&T) -> Value) -> P {
    P::Str(Value::Array(items.iter().map(row).collect()).to_string())
}

/// A stored kill's row; its details go beside the rows (`guest::bulk`).
#[derive(serde::Serialize)]
struct KillRow<'a> {
    id: u64,
    time: i64,
    system: u32,
    pilots: &'a [u64],
    units: &'a [u64],
    version: i64,
}

/// The kills' rows and their details, as the two parameters of "storing killmails".
fn kill_rows(kills: &[enriched::Enriched]) -> Result<[P; 2], StoreError> {
    let mut details = Column::new("detail");
    let mut rows: Vec<KillRow> = Vec::with_capacity(kills.len());
    for e in kills {
        rows.push(KillRow {
            id: e.kill.id,
            time: e.kill.time,
            system: e.kill.system,
            pilots: &e.kill.pilots,
            units: &e.kill.units,
            version: e.version,
        });
        details.push(Some(&enriched::compact(&e.detail)))?;
    }
    let rows = serde_json::to_string(&rows).expect("rows of numbers serialize");
    Ok([P::Str(rows), P::Str(details.into_text())])
}

/// The events' payloads, a column beside their rows (`guest::bulk`).
fn event_payloads(events: &[crate::engine::Outgoing]) -> Result<String, StoreError> {
    let mut payloads = Column::new("payload");
    for e in events {
        payloads.push(Some(&e.payload))?;
    }
    Ok(payloads.into_text())
}

fn ms_time(ms: i64) -> String {
    crate::enriched::format_time(ms.div_euclid(1000))
}

/// A written battle's row, without its large values (summary, participants, statistics): those
/// go beside the rows ([`battle_params`]).
fn battle_row(b: &BattleRecord) -> Value {
    let s = &b.summary;
    let bands: std::collections::BTreeSet<String> = s.systems.iter().map(|x| x.security_band.to_string()).collect();
    json!({
        "battle_id": s.battle_id, "battle_key": b.key, "start_time": s.start_time, "end_time": s.end_time,
        "kills": s.kills, "isk_destroyed": s.isk_destroyed, "pilots": s.pilots,
        "systems": s.systems.iter().map(|x| x.id).collect::<Vec<_>>(), "regions": s.regions.iter().map(|r| r.id).collect::<Vec<_>>(),
        "security_bands": bands, "version": s.version, "status": s.status.to_string(),
        "manual": s.manual, "title": s.title, "side_moves": b.side_moves,
        "announced_version": b.announced.version, "announced_kills": b.announced.kills,
        "announced_end": enriched::format_time(b.announced.end), "announced_at": ms_time(b.announced.at_ms),
        "killmail_ids": b.kill_ids, "units": b.units,
    })
}

/// A battle's pilot as "saving battles" reads them.
#[derive(serde::Serialize)]
struct PilotRow<'a> {
    c: u64,
    corp: Option<u64>,
    al: Option<u64>,
    side: Option<usize>,
    ships: &'a std::collections::BTreeSet<u64>,
}

/// The four parameters of "saving battles": the rows, then each battle's summary, pilots and
/// statistics as columns of their own (`guest::bulk`: a big battle's pilots and statistics run
/// to hundreds of kilobytes, which Postgres parsed twice when they were part of the rows).
fn battle_params(battles: &[BattleRecord]) -> Result<[P; 4], StoreError> {
    let (mut summaries, mut pilots, mut statistics) =
        (Column::new("summary"), Column::new("participants"), Column::new("statistics"));
    for b in battles {
        let people: Vec<PilotRow> = b
            .participants
            .iter()
            .map(|p| PilotRow { c: p.character, corp: p.corporation, al: p.alliance, side: p.side, ships: &p.ships })
            .collect();
        summaries.push(Some(&serde_json::to_string(&b.summary).expect("summaries serialize")))?;
        pilots.push(Some(&serde_json::to_string(&people).expect("pilots serialize")))?;
        let entries = Value::Array(views::statistics_entries(&b.statistics)).to_string();
        statistics.push(Some(&entries))?;
    }
    Ok([rows(battles, battle_row), P::Str(summaries.into_text()), P::Str(pilots.into_text()), P::Str(statistics.into_text())])
}

pub fn save(store: &Store, w: &Write) -> Result<(), StoreError> {
    if !w.kills.is_empty() {
        store.execute(
            "storing killmails",
            "INSERT INTO battle_kills (killmail_id, killmail_time, solar_system_id, pilots, units, version, detail)
             SELECT k.id, to_timestamp(k.time), k.system, k.pilots, k.units, k.version, k.detail::json
             FROM ROWS FROM (json_to_recordset($1::text::json) AS (id bigint, time bigint, system bigint, pilots bigint[],
                                                                   units bigint[], version int),
                             string_to_table($2::text, E'\\x1e')) AS k(id, time, system, pilots, units, version, detail)
             ON CONFLICT (killmail_id) DO UPDATE SET pilots = EXCLUDED.pilots, units = EXCLUDED.units,
                 version = EXCLUDED.version, detail = EXCLUDED.detail
             WHERE battle_kills.version < EXCLUDED.version",
            &kill_rows(&w.kills)?,
        )?;
        // Once per id: a batch of one fight names the same alliances on every kill. Names
        // already stored as they are are left out before the upsert: ON CONFLICT locks, and so
        // writes, every row it meets, and most of a batch's names are known.
        let names: std::collections::BTreeMap<u64, &String> =
            w.kills.iter().flat_map(|e| e.names.iter().map(|(id, n)| (*id, n))).collect();
        let names: Vec<(u64, &String)> = names.into_iter().collect();
        store.execute(
            "storing names",
            "INSERT INTO battle_names (id, name)
             SELECT n.id, n.name FROM json_to_recordset($1::text::json) AS n(id bigint, name text)
             WHERE NOT EXISTS (SELECT 1 FROM battle_names b WHERE b.id = n.id AND b.name = n.name)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
            &[rows(&names, |(id, name)| json!({"id": id, "name": name}))],
        )?;
    }
    if !w.removed.is_empty() {
        let removed: Vec<&String> = w.removed.iter().collect();
        store.execute(
            "removing battles",
            // Its rows go with it (no foreign keys cascade: migration 0006); killmails that moved
            // to another battle are pointed at it by the battles' write below.
            "WITH gone AS (SELECT jsonb_array_elements_text($1::text::jsonb) AS battle_id),
                  members AS (DELETE FROM battle_killmails WHERE battle_id IN (SELECT battle_id FROM gone)),
                  people AS (DELETE FROM battle_participants WHERE battle_id IN (SELECT battle_id FROM gone)),
                  figures AS (DELETE FROM battle_statistics WHERE battle_id IN (SELECT battle_id FROM gone))
             DELETE FROM battles WHERE battle_id IN (SELECT battle_id FROM gone)",
            &[P::Str(json!(removed).to_string())],
        )?;
    }
    if !w.battles.is_empty() {
        store.execute(
            "saving battles",
            "WITH input AS (
                SELECT * FROM ROWS FROM (
                    json_to_recordset($1::text::json) AS (
                        battle_id text, battle_key bigint, start_time timestamptz, end_time timestamptz, kills int,
                        isk_destroyed float8, pilots int, systems bigint[], regions bigint[], security_bands text[], version int,
                        status text, manual boolean, title text, announced_version int, announced_kills int,
                        announced_end timestamptz, announced_at timestamptz, killmail_ids bigint[], units bigint[], side_moves jsonb),
                    string_to_table($2::text, E'\\x1e'), string_to_table($3::text, E'\\x1e'), string_to_table($4::text, E'\\x1e')
                ) AS b(battle_id, battle_key, start_time, end_time, kills, isk_destroyed, pilots, systems, regions, security_bands,
                       version, status, manual, title, announced_version, announced_kills, announced_end, announced_at,
                       killmail_ids, units, side_moves, summary, participants, statistics)
            ), saved AS (
                INSERT INTO battles (battle_id, battle_key, start_time, end_time, kills, isk_destroyed, pilots, systems, regions,
                                     security_bands, summary, version, status, manual, title, announced_version, announced_kills,
                                     announced_end, announced_at, side_moves, units, updated_at)
                SELECT battle_id, battle_key, start_time, end_time, kills, isk_destroyed, pilots, systems, regions, security_bands,
                       summary::jsonb, version, status, manual, title, announced_version, announced_kills, announced_end, announced_at,
                       side_moves, units, now()
                FROM input
                ON CONFLICT (battle_id) DO UPDATE SET battle_key = EXCLUDED.battle_key, start_time = EXCLUDED.start_time,
                    end_time = EXCLUDED.end_time, kills = EXCLUDED.kills, isk_destroyed = EXCLUDED.isk_destroyed,
                    pilots = EXCLUDED.pilots, systems = EXCLUDED.systems, regions = EXCLUDED.regions,
                    security_bands = EXCLUDED.security_bands, summary = EXCLUDED.summary, version = EXCLUDED.version,
                    status = EXCLUDED.status, manual = EXCLUDED.manual, title = EXCLUDED.title, side_moves = EXCLUDED.side_moves,
                    announced_version = EXCLUDED.announced_version, announced_kills = EXCLUDED.announced_kills,
                    announced_end = EXCLUDED.announced_end, announced_at = EXCLUDED.announced_at, units = EXCLUDED.units,
                    updated_at = now()
            ),
            -- Rows are compared before they are written, and only new or changed ones go to an
            -- upsert: ON CONFLICT locks (so writes) every row it meets, even one it leaves as it
            -- is, and a big battle's write met all its killmails and pilots on every batch. The
            -- battles' rows are read by an array of their ids (the planner scanned whole tables
            -- to join them with `input`), and compared with EXCEPT, which hashes or sorts (an
            -- anti-join was planned as a nested loop: quadratic in a big battle's pilots).
            written AS (
                SELECT ARRAY(SELECT battle_id FROM input) AS ids
            ), members AS (
                INSERT INTO battle_killmails (killmail_id, battle_id)
                SELECT unnest(killmail_ids), battle_id FROM input
                EXCEPT SELECT killmail_id, battle_id FROM battle_killmails, written WHERE battle_id = ANY(written.ids)
                ON CONFLICT (killmail_id) DO UPDATE SET battle_id = EXCLUDED.battle_id
                WHERE battle_killmails.battle_id <> EXCLUDED.battle_id
            ), new_people AS MATERIALIZED (
                SELECT i.battle_id, p.c, p.corp, p.al, p.side, p.ships FROM input i,
                       json_to_recordset(i.participants::json) AS p(c bigint, corp bigint, al bigint, side int, ships bigint[])
            ), old_people AS MATERIALIZED (
                SELECT battle_id, character_id, corporation_id, alliance_id, side, ships FROM battle_participants, written
                WHERE battle_id = ANY(written.ids)
            ), people AS (
                INSERT INTO battle_participants (battle_id, character_id, corporation_id, alliance_id, side, ships)
                SELECT * FROM new_people EXCEPT SELECT * FROM old_people
                ON CONFLICT (battle_id, character_id) DO UPDATE SET corporation_id = EXCLUDED.corporation_id,
                    alliance_id = EXCLUDED.alliance_id, side = EXCLUDED.side, ships = EXCLUDED.ships
            ), stale_people AS (
                DELETE FROM battle_participants p USING written
                WHERE p.battle_id = ANY(written.ids) AND (p.battle_id, p.character_id) IN (
                    SELECT battle_id, character_id FROM old_people EXCEPT SELECT battle_id, c FROM new_people)
            ), figures AS (
                INSERT INTO battle_statistics (battle_id, side, statistics)
                SELECT i.battle_id, s.side, s.statistics FROM input i, json_to_recordset(i.statistics::json) AS s(side int, statistics jsonb)
                ON CONFLICT (battle_id, side) DO UPDATE SET statistics = EXCLUDED.statistics
                WHERE battle_statistics.statistics IS DISTINCT FROM EXCLUDED.statistics
            )
            DELETE FROM battle_statistics s USING input i
            WHERE s.battle_id = i.battle_id AND s.side >= json_array_length(i.statistics::json) - 1",
            &battle_params(&w.battles)?,
        )?;
    }
    if !w.marks.is_empty() {
        store.execute(
            "marking battles",
            "UPDATE battles b SET summary = m.summary, version = m.version, status = m.status,
                 announced_version = m.announced_version, announced_kills = m.announced_kills,
                 announced_end = m.announced_end, announced_at = m.announced_at, updated_at = now()
             FROM json_to_recordset($1::text::json) AS m(battle_id text, summary jsonb, version int, status text, announced_version int,
                                                         announced_kills int, announced_end timestamptz, announced_at timestamptz)
             WHERE b.battle_id = m.battle_id",
            &[rows(&w.marks, |m| {
                json!({"battle_id": m.summary.battle_id, "summary": m.summary, "version": m.summary.version, "status": m.summary.status.to_string(),
                       "announced_version": m.announced.version, "announced_kills": m.announced.kills,
                       "announced_end": enriched::format_time(m.announced.end), "announced_at": ms_time(m.announced.at_ms)})
            })],
        )?;
    }
    if !w.pins.is_empty() {
        let pins: Vec<(&u64, &Option<String>)> = w.pins.iter().collect();
        store.execute(
            "pinning killmails",
            "UPDATE battle_kills k SET pinned_battle = p.b FROM json_to_recordset($1::text::json) AS p(k bigint, b text)
             WHERE k.killmail_id = p.k",
            &[rows(&pins, |(k, b)| json!({"k": k, "b": b}))],
        )?;
    }
    if !w.events.is_empty() {
        store.execute(
            "queueing events",
            "INSERT INTO outbox (topic, key, payload, headers) SELECT e.topic, e.key, e.payload, $2::text::jsonb
             FROM ROWS FROM (json_to_recordset($1::text::json) AS (topic text, key text), string_to_table($3::text, E'\\x1e'))
                  WITH ORDINALITY AS e(topic, key, payload, n)
             ORDER BY e.n",
            // In the trace of what changed the battles: a batch's first killmail, an edit, a tick.
            &[
                rows(&w.events, |e| json!({"topic": e.topic, "key": e.key})),
                P::Str(guest::trace::outbox_headers(guest::trace::current().as_deref())),
                P::Str(event_payloads(&w.events)?),
            ],
        )?;
    }
    Ok(())
}
