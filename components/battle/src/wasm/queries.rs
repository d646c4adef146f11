//! The API's reads: the battle list with its filters, one battle with sides, participants,
//! statistics and timeline, and a battle's killmails, all with names.

use super::store::{decode, ids, json, Store};
use crate::api::ListQuery;
use crate::engine::preview::preview;
use crate::engine::{BattleStore, BattleSummary, StoreError};
use crate::moves::SideMove;
use crate::views::{self, BattleView, KillmailView, PilotRow};
use spin_sdk::pg3::ParameterValue as P;

impl Store {
    /// What `GET /api/battles/health` reports of the database: schema version, battles (the
    /// planner's estimate past 100,000), open ones, changes not announced yet, the newest kill
    /// stored (how far the battles have come) and the server's clock. Asked often and without a
    /// token, so every count but the estimate uses a partial index.
    pub fn health(&self) -> Result<serde_json::Value, StoreError> {
        let rows = self.query(
            "querying health",
            "SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations),
                    (SELECT CASE WHEN c.reltuples > 100000 THEN c.reltuples::bigint ELSE (SELECT count(*) FROM battles) END
                     FROM pg_class c WHERE c.oid = 'battles'::regclass),
                    (SELECT count(*) FROM battles WHERE status = 'open'),
                    (SELECT count(*) FROM battles WHERE version > announced_version),
                    to_char((SELECT max(killmail_time) FROM battle_kills) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            &[],
        )?;
        let row = rows.rows.first().ok_or_else(|| StoreError::Transient("querying health: no row".into()))?;
        Ok(serde_json::json!({
            "schemaVersion": decode::<i32>(&row[0])?,
            "battles": decode::<i64>(&row[1])?,
            "openBattles": decode::<i64>(&row[2])?,
            "unannouncedChanges": decode::<i64>(&row[3])?,
            "newestKill": decode::<Option<String>>(&row[4])?,
            "serverTime": decode::<String>(&row[5])?,
        }))
    }

    /// Battles matching `q`, newest first, after its cursor.
    pub fn list(&self, q: &ListQuery) -> Result<Vec<BattleSummary>, StoreError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<P> = Vec::new();
        let bind = |params: &mut Vec<P>, value: P| {
            params.push(value);
            format!("${}", params.len())
        };
        let id = |v: Option<u64>| v.map(|n| P::Int64(n as i64));
        for (value, condition) in [
            // `@>`, not `= ANY(...)`: only the first can use the arrays' GIN indexes.
            (id(q.system), "systems @> ARRAY[{}::bigint]"),
            (id(q.region), "regions @> ARRAY[{}::bigint]"),
            (
                id(q.alliance),
                "EXISTS (SELECT 1 FROM battle_participants p WHERE p.battle_id = b.battle_id AND p.alliance_id = {}::bigint)",
            ),
            (
                id(q.corporation),
                "EXISTS (SELECT 1 FROM battle_participants p WHERE p.battle_id = b.battle_id AND p.corporation_id = {}::bigint)",
            ),
            (
                id(q.character),
                "EXISTS (SELECT 1 FROM battle_participants p WHERE p.battle_id = b.battle_id AND p.character_id = {}::bigint)",
            ),
            (q.security_band.clone().map(P::Str), "{}::text = ANY(security_bands)"),
            (q.from.map(P::Int64), "end_time >= to_timestamp({}::bigint)"),
            (q.to.map(P::Int64), "start_time <= to_timestamp({}::bigint)"),
            (q.min_kills.map(|n| P::Int64(n as i64)), "kills >= {}::bigint"),
            (q.min_isk.map(P::Floating64), "isk_destroyed >= {}::float8"),
        ] {
            if let Some(value) = value {
                let placeholder = bind(&mut params, value);
                conditions.push(condition.replace("{}", &placeholder));
            }
        }
        if let Some((start, battle)) = &q.cursor {
            let (s, b) = (bind(&mut params, P::Int64(*start)), bind(&mut params, P::Str(battle.clone())));
            conditions.push(format!("(start_time, battle_id) < (to_timestamp({s}::bigint), {b}::text)"));
        }
        let limit = bind(&mut params, P::Int64(q.limit));
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let rows = self.query(
            "listing battles",
            &format!(
                "SELECT summary::text FROM battles b {filter} ORDER BY start_time DESC, battle_id DESC LIMIT {limit}::bigint"
            ),
            &params,
        )?;
        rows.rows.iter().map(|r| json("a stored battle", &decode::<String>(&r[0])?)).collect()
    }

    /// One battle: summary, statistics per side (-1: the whole battle, with its timeline),
    /// participants, names.
    pub fn battle(&self, battle_id: &str) -> Result<Option<BattleView>, StoreError> {
        let rows = self.query(
            &format!("reading battle {battle_id}"),
            "SELECT summary::text,
                (SELECT coalesce(json_agg(json_build_object('side', side, 'statistics', statistics) ORDER BY side), '[]')
                 FROM battle_statistics s WHERE s.battle_id = b.battle_id)::text, side_moves::text
             FROM battles b WHERE battle_id = $1::text",
            &[P::Str(battle_id.into())],
        )?;
        let Some(r) = rows.rows.first() else { return Ok(None) };
        let summary: BattleSummary = json("a stored battle", &decode::<String>(&r[0])?)?;
        let statistics: Vec<serde_json::Value> = json("a battle's statistics", &decode::<String>(&r[1])?)?;
        let side_moves = json("a battle's side moves", &decode::<String>(&r[2])?)?;
        let pilots = self.query(
            &format!("reading the pilots of battle {battle_id}"),
            "SELECT character_id, corporation_id, alliance_id, side, array_to_string(ships, ',')
             FROM battle_participants WHERE battle_id = $1::text ORDER BY character_id",
            &[P::Str(battle_id.into())],
        )?;
        let pilots: Vec<PilotRow> = pilots
            .rows
            .iter()
            .map(|r| {
                let optional = |i: usize| decode::<Option<i64>>(&r[i]).map(|v| v.map(|n| n as u64));
                Ok((
                    decode::<i64>(&r[0])? as u64,
                    optional(1)?,
                    optional(2)?,
                    decode::<Option<i32>>(&r[3])?.map(|s| s as usize),
                    ids(&decode::<String>(&r[4])?),
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        self.view(summary, statistics, &pilots, side_moves).map(Some)
    }

    /// The battle as `moves` would make it (instead of its saved side moves), saving nothing.
    pub fn battle_with_moves(&self, battle_id: &str, moves: Vec<SideMove>) -> Result<Option<BattleView>, StoreError> {
        let Some(p) = preview(self, battle_id, &moves)? else { return Ok(None) };
        let pilots: Vec<PilotRow> = p
            .participants
            .into_iter()
            .map(|r| (r.character, r.corporation, r.alliance, r.side, r.ships.into_iter().collect()))
            .collect();
        self.view(p.summary, views::statistics_entries(&p.statistics), &pilots, moves).map(Some)
    }

    /// A battle's view with the names its pilots and statistics need.
    fn view(
        &self,
        summary: BattleSummary,
        statistics: Vec<serde_json::Value>,
        pilots: &[PilotRow],
        side_moves: Vec<SideMove>,
    ) -> Result<BattleView, StoreError> {
        let keyed = views::statistics_ids(&statistics);
        let group_names = views::group_names(&statistics);
        let names = self.names(&views::pilot_ids(pilots).union(&keyed).copied().collect())?;
        Ok(BattleView {
            summary,
            statistics,
            participants: pilots.iter().map(|p| views::pilot(&names, p)).collect(),
            names: views::names_of(&names, &keyed),
            group_names,
            side_moves,
        })
    }

    /// A battle's killmails in time order, or None when there is no such battle.
    pub fn battle_killmails(&self, battle_id: &str) -> Result<Option<Vec<KillmailView>>, StoreError> {
        if self.stored(&[battle_id.to_string()].into())?.is_empty() {
            return Ok(None);
        }
        let mut kills: Vec<_> = self.with_details(&self.members(battle_id)?)?.into_values().map(|(_, d)| d).collect();
        kills.sort_by_key(|d| (d.time, d.id));
        let names = self.names(&kills.iter().flat_map(views::killmail_ids).collect())?;
        Ok(Some(kills.iter().map(|d| views::killmail(&names, d)).collect()))
    }
}
