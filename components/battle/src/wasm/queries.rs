//! The API's reads: the battle list with its filters, one battle with sides, participants,
//! statistics and timeline, and a battle's killmails.

use super::store::{decode, Store};
use crate::api::ListQuery;
use crate::stats::Participant;
use serde_json::{json, Value};
use spin_sdk::pg3::ParameterValue as P;

/// The stored summary with what only the table knows.
const SUMMARY: &str =
    "summary || jsonb_build_object('manual', manual, 'title', title, 'securityBands', to_jsonb(security_bands))";

fn json_column(text: String) -> Result<Value, String> {
    serde_json::from_str(&text).map_err(|e| format!("a stored battle is not JSON: {e}"))
}

impl Store {
    /// Battles matching `q`, newest first, after its cursor.
    pub fn list(&self, q: &ListQuery) -> Result<Vec<Value>, String> {
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<P> = Vec::new();
        let bind = |params: &mut Vec<P>, value: P| {
            params.push(value);
            format!("${}", params.len())
        };
        let id = |v: Option<u64>| v.map(|n| P::Int64(n as i64));
        for (value, condition) in [
            (id(q.system), "{}::bigint = ANY(systems)"),
            (id(q.region), "{}::bigint = ANY(regions)"),
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
        let rows = self
            .db
            .query(
                &format!("SELECT ({SUMMARY})::text FROM battles b {filter} ORDER BY start_time DESC, battle_id DESC LIMIT {limit}::bigint"),
                &params,
            )
            .map_err(|e| format!("listing battles: {e}"))?;
        rows.rows.iter().map(|r| json_column(decode::<String>(&r[0])?)).collect()
    }

    /// One battle: summary, statistics per side (-1: the whole battle, with its timeline) and
    /// participants.
    pub fn battle(&self, battle_id: &str) -> Result<Option<Value>, String> {
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT ({SUMMARY})::text,
                        (SELECT coalesce(json_agg(json_build_object('side', side, 'statistics', statistics) ORDER BY side), '[]')
                         FROM battle_statistics s WHERE s.battle_id = b.battle_id)::text,
                        (SELECT coalesce(json_agg(json_build_object('characterId', character_id, 'corporationId', corporation_id,
                                                                    'allianceId', alliance_id, 'side', side) ORDER BY character_id), '[]')
                         FROM battle_participants p WHERE p.battle_id = b.battle_id)::text
                     FROM battles b WHERE battle_id = $1::text"
                ),
                &[P::Str(battle_id.into())],
            )
            .map_err(|e| format!("reading battle {battle_id}: {e}"))?;
        let Some(r) = rows.rows.first() else { return Ok(None) };
        let mut battle = json_column(decode::<String>(&r[0])?)?;
        battle["statistics"] = json_column(decode::<String>(&r[1])?)?;
        battle["participants"] = json_column(decode::<String>(&r[2])?)?;
        Ok(Some(battle))
    }

    /// A battle's killmails in time order, or None when there is no such battle.
    pub fn battle_killmails(&self, battle_id: &str) -> Result<Option<Vec<Value>>, String> {
        let exists = self
            .db
            .query("SELECT 1 FROM battles WHERE battle_id = $1::text", &[P::Str(battle_id.into())])
            .map_err(|e| format!("reading battle {battle_id}: {e}"))?;
        if exists.rows.is_empty() {
            return Ok(None);
        }
        let mut kills: Vec<_> = self.with_details(&self.kill_ids_of(battle_id)?)?.into_values().collect();
        kills.sort_by_key(|(k, _)| (k.time, k.id));
        let person = |p: &Participant| json!({"characterId": p.character, "corporationId": p.corporation, "allianceId": p.alliance, "shipTypeId": p.ship_type});
        Ok(Some(
            kills
                .iter()
                .map(|(k, d)| {
                    json!({"killmailId": k.id, "killmailTime": crate::enriched::format_time(k.time), "solarSystemId": k.system,
                           "victim": person(&d.victim), "attackers": d.attackers.len(), "totalValue": d.value})
                })
                .collect(),
        ))
    }
}
