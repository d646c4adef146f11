//! The battle API's inputs, checked before anything touches the database: list filters from a
//! query string and the bodies of the write endpoints. Every error names the parameter.

use crate::enriched::parse_time;
use crate::moves::SideMove;
use serde::Deserialize;
use std::collections::BTreeSet;

/// What was wrong with a request: a 400 naming the parameter or body field at fault.
pub type ApiError = guest::http::HttpError;

fn invalid(parameter: &str, message: String) -> ApiError {
    ApiError::bad(parameter, message)
}

/// Largest page of `GET /api/battles`.
pub const MAX_LIMIT: i64 = 500;

/// `GET /api/battles` filters; a battle must match all that are given.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub limit: i64,
    /// Continue after this battle: its start (epoch seconds) and id.
    pub cursor: Option<(i64, String)>,
    pub security_band: Option<String>,
    pub region: Option<u64>,
    pub system: Option<u64>,
    pub alliance: Option<u64>,
    pub corporation: Option<u64>,
    pub character: Option<u64>,
    /// The battle ends at or after this time (epoch seconds).
    pub from: Option<i64>,
    /// The battle starts at or before this time (epoch seconds).
    pub to: Option<i64>,
    pub min_kills: Option<u32>,
    pub min_isk: Option<f64>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            limit: 50,
            cursor: None,
            security_band: None,
            region: None,
            system: None,
            alliance: None,
            corporation: None,
            character: None,
            from: None,
            to: None,
            min_kills: None,
            min_isk: None,
        }
    }
}

/// The cursor of the page after `battle`: its start and id.
pub fn cursor_after(start: i64, battle_id: &str) -> String {
    format!("{start}.{battle_id}")
}

/// `%XX` escapes decoded; `+` is kept, so `+01:00` offsets survive unescaped.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(|| format!("{text:?} has a cut-off %-escape"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("{text:?} has a bad %-escape %{hex}"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8"))
}

fn id(parameter: &str, value: &str) -> Result<u64, ApiError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid(parameter, format!("{parameter} {value:?} is not an EVE id (a positive whole number)")))
}

fn time(parameter: &str, value: &str) -> Result<i64, ApiError> {
    parse_time(value)
        .ok_or_else(|| invalid(parameter, format!("{parameter} {value:?} is not an RFC 3339 time such as 2021-11-28T10:00:00Z")))
}

/// A query string's parameters, decoded; a parameter given twice is refused.
fn query_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(raw_key).map_err(|e| invalid(raw_key, format!("parameter name {e}")))?;
        let value = percent_decode(raw_value).map_err(|e| invalid(&key, format!("{key}: {e}")))?;
        if !seen.insert(key.clone()) {
            return Err(invalid(&key, format!("{key} is given more than once")));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Parse the query string of `GET /api/battles`.
pub fn list_query(query: &str) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery::default();
    for (key, value) in query_pairs(query)? {
        let v = value.as_str();
        match key.as_str() {
            "limit" => {
                q.limit = v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| invalid("limit", format!("limit {v:?} is not a whole number from 1 to {MAX_LIMIT}")))?
            }
            "cursor" => {
                q.cursor = Some(
                    v.split_once('.')
                        .and_then(|(s, id)| Some((s.parse::<i64>().ok()?, id.to_string())))
                        .filter(|(_, id)| is_battle_id(id))
                        .ok_or_else(|| invalid("cursor", format!("cursor {v:?} is not one this API gave out")))?,
                )
            }
            "securityBand" => {
                if eve_static::SecurityBand::from_name(v).is_none() {
                    let bands: Vec<&str> = eve_static::SecurityBand::ALL.iter().map(|b| b.name()).chain(["unknown"]).collect();
                    return Err(invalid("securityBand", format!("securityBand {v:?} is not one of {}", bands.join(", "))));
                }
                q.security_band = Some(v.to_string());
            }
            "region" => q.region = Some(id("region", v)?),
            "system" => q.system = Some(id("system", v)?),
            "alliance" => q.alliance = Some(id("alliance", v)?),
            "corporation" => q.corporation = Some(id("corporation", v)?),
            "character" => q.character = Some(id("character", v)?),
            "from" => q.from = Some(time("from", v)?),
            "to" => q.to = Some(time("to", v)?),
            "minKills" => {
                q.min_kills = Some(v.parse().map_err(|_| invalid("minKills", format!("minKills {v:?} is not a whole number")))?)
            }
            "minIsk" => {
                q.min_isk = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite() && *n >= 0.0)
                        .ok_or_else(|| invalid("minIsk", format!("minIsk {v:?} is not a number of ISK (0 or more)")))?,
                )
            }
            other => {
                return Err(invalid(
                    other,
                    format!(
                        "unknown parameter {other:?}; filters are securityBand, region, system, alliance, corporation, \
                         character, from, to, minKills, minIsk (with limit and cursor)"
                    ),
                ))
            }
        }
    }
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            return Err(invalid("to", "to is before from".to_string()));
        }
    }
    Ok(q)
}

/// Whether `text` looks like a battle id (a UUID).
pub fn is_battle_id(text: &str) -> bool {
    guest::http::is_uuid(text)
}

/// Body of `POST /api/battles` (a battle made by hand from killmails) and `PATCH
/// /api/battles/{id}` (new title and/or killmails).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BattleEdit {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub killmail_ids: Option<Vec<u64>>,
    /// Replaces the battle's corrections of its sides (`[]` clears them).
    #[serde(default)]
    pub side_moves: Option<Vec<SideMove>>,
}

/// Body of `POST /api/battles/{id}/merge`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Merge {
    pub battle_ids: Vec<String>,
}

/// Body of `POST /api/battles/{id}/split`: the killmails that leave for a new battle.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Split {
    pub killmail_ids: Vec<u64>,
    #[serde(default)]
    pub title: Option<String>,
}

/// Longest title accepted.
const MAX_TITLE: usize = 200;

fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        // serde names the field in its message ("unknown field `x`", "missing field `y`");
        // other messages quote values ("unknown variant `pilot`"), not fields.
        let text = e.to_string();
        let field = Some(&text)
            .filter(|t| t.starts_with("unknown field") || t.starts_with("missing field"))
            .and_then(|t| t.split('`').nth(1))
            .map(|f| format!("body.{f}"))
            .unwrap_or_else(|| "body".to_string());
        invalid(&field, format!("the request body is not valid: {e}"))
    })
}

fn check_title(title: &Option<String>) -> Result<(), ApiError> {
    match title {
        Some(t) if t.trim().is_empty() || t.chars().count() > MAX_TITLE => {
            Err(invalid("body.title", format!("title must have 1 to {MAX_TITLE} characters")))
        }
        _ => Ok(()),
    }
}

fn check_killmails(ids: &[u64]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Err(invalid("body.killmailIds", "killmailIds is empty".to_string()));
    }
    let distinct: BTreeSet<&u64> = ids.iter().collect();
    if distinct.len() != ids.len() {
        return Err(invalid("body.killmailIds", "killmailIds lists a killmail twice".to_string()));
    }
    Ok(())
}

/// A battle made by hand needs killmails.
pub fn create_body(bytes: &[u8]) -> Result<BattleEdit, ApiError> {
    let edit: BattleEdit = body(bytes)?;
    check_title(&edit.title)?;
    if edit.side_moves.is_some() {
        return Err(invalid("body.sideMoves", "sides are corrected once the battle exists: PATCH it".into()));
    }
    check_killmails(edit.killmail_ids.as_deref().ok_or_else(|| invalid("body.killmailIds", "killmailIds is required".into()))?)?;
    Ok(edit)
}

/// Most side moves one battle keeps.
const MAX_SIDE_MOVES: usize = 200;

/// `GET /api/battles/{id}`: optionally `moves` (the compact form of `moves::parse_compact`),
/// to see the battle with its sides corrected so, without saving anything.
pub fn battle_query(query: &str) -> Result<Option<Vec<SideMove>>, ApiError> {
    let mut moves = None;
    for (key, value) in query_pairs(query)? {
        match key.as_str() {
            "moves" => {
                let parsed = crate::moves::parse_compact(&value).map_err(|e| invalid("moves", e))?;
                check_side_moves(&parsed, "moves")?;
                moves = Some(parsed);
            }
            other => return Err(invalid(other, format!("unknown parameter {other:?}; this endpoint takes moves"))),
        }
    }
    Ok(moves)
}

fn check_side_moves(moves: &[SideMove], parameter: &str) -> Result<(), ApiError> {
    if moves.len() > MAX_SIDE_MOVES {
        return Err(invalid(parameter, format!("{} moves; at most {MAX_SIDE_MOVES}", moves.len())));
    }
    match moves.iter().find(|m| m.joins == Some(m.unit)) {
        Some(m) => Err(invalid(parameter, format!("{:?} cannot join itself", m.unit))),
        None => Ok(()),
    }
}

/// An edit changes the title, the killmails, the side moves, or several of them.
pub fn update_body(bytes: &[u8]) -> Result<BattleEdit, ApiError> {
    let edit: BattleEdit = body(bytes)?;
    check_title(&edit.title)?;
    if let Some(ids) = &edit.killmail_ids {
        check_killmails(ids)?;
    }
    if let Some(moves) = &edit.side_moves {
        check_side_moves(moves, "body.sideMoves")?;
    }
    if edit.title.is_none() && edit.killmail_ids.is_none() && edit.side_moves.is_none() {
        return Err(invalid("body", "give title, killmailIds, sideMoves or several of them".into()));
    }
    Ok(edit)
}

pub fn merge_body(bytes: &[u8], into: &str) -> Result<Merge, ApiError> {
    let merge: Merge = body(bytes)?;
    if merge.battle_ids.is_empty() {
        return Err(invalid("body.battleIds", "battleIds is empty".into()));
    }
    if let Some(bad) = merge.battle_ids.iter().find(|id| !is_battle_id(id)) {
        return Err(invalid("body.battleIds", format!("{bad:?} is not a battle id")));
    }
    if merge.battle_ids.iter().any(|id| id == into) {
        return Err(invalid("body.battleIds", "a battle cannot be merged into itself".into()));
    }
    Ok(merge)
}

pub fn split_body(bytes: &[u8]) -> Result<Split, ApiError> {
    let split: Split = body(bytes)?;
    check_title(&split.title)?;
    check_killmails(&split.killmail_ids)?;
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(query: &str) -> String {
        list_query(query).unwrap_err().parameter().unwrap().to_string()
    }

    #[test]
    fn a_battle_is_read_with_or_without_moves() {
        assert_eq!(battle_query("").unwrap(), None);
        let moves = battle_query("moves=alliance%3A99005338%3Ealliance%3A1354830081").unwrap().unwrap();
        assert_eq!(moves.len(), 1);
        let refused = |q: &str| battle_query(q).unwrap_err().parameter().unwrap().to_string();
        assert_eq!(refused("moves=alliance:1>alliance:1"), "moves", "joining itself");
        assert_eq!(refused("moves=pilot:1>"), "moves");
        assert_eq!(refused("moves=&moves="), "moves", "given twice");
        assert_eq!(refused("limit=5"), "limit");
    }

    #[test]
    fn side_moves_are_an_edit_of_their_own() {
        let edit = update_body(br#"{"sideMoves": [{"unit": {"kind": "corporation", "id": 98000001}, "joins": null}]}"#).unwrap();
        assert_eq!(edit.side_moves.map(|m| m.len()), Some(1));
        let refused = |body: &str| update_body(body.as_bytes()).unwrap_err().parameter().unwrap().to_string();
        assert_eq!(
            refused(r#"{"sideMoves": [{"unit": {"kind": "alliance", "id": 1}, "joins": {"kind": "alliance", "id": 1}}]}"#),
            "body.sideMoves"
        );
        assert_eq!(
            refused(r#"{"sideMoves": [{"unit": {"kind": "pilot", "id": 1}}]}"#),
            "body",
            "serde names the value, not a field"
        );
        assert_eq!(refused("{}"), "body");
        assert_eq!(create_body(br#"{"killmailIds": [1], "sideMoves": []}"#).unwrap_err().parameter(), Some("body.sideMoves"));
    }

    #[test]
    fn every_filter_is_read() {
        let q = list_query(
            "limit=10&securityBand=nullsec&region=10000014&system=30001046&alliance=1354830081&corporation=98000001\
             &character=90000001&from=2021-11-28T10%3A00%3A00Z&to=2021-11-28T16:00:00Z&minKills=100&minIsk=1e9",
        )
        .unwrap();
        assert_eq!(q.limit, 10);
        assert_eq!(q.security_band.as_deref(), Some("nullsec"));
        assert_eq!(
            (q.region, q.system, q.alliance, q.corporation, q.character),
            (Some(10000014), Some(30001046), Some(1354830081), Some(98000001), Some(90000001))
        );
        assert_eq!((q.from, q.to), (Some(1638093600), Some(1638115200)));
        assert_eq!((q.min_kills, q.min_isk), (Some(100), Some(1e9)));
        assert_eq!(list_query("").unwrap(), ListQuery::default());
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (query, expected) in [
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("cursor=12", "cursor"),
            ("cursor=12.not-an-id", "cursor"),
            ("securityBand=deep", "securityBand"),
            ("region=-3", "region"),
            ("system=abc", "system"),
            ("alliance=", "alliance"),
            ("from=yesterday", "from"),
            ("from=2021-11-29T00:00:00Z&to=2021-11-28T00:00:00Z", "to"),
            ("minKills=many", "minKills"),
            ("minIsk=-1", "minIsk"),
            ("colour=red", "colour"),
            ("system=1&system=2", "system"),
            ("system=%zz", "system"),
        ] {
            assert_eq!(parameter(query), expected, "{query}");
        }
    }

    #[test]
    fn cursors_round_trip() {
        let id = "00000000-0000-4000-8000-000005c7f330";
        let q = list_query(&format!("cursor={}", cursor_after(1638094860, id))).unwrap();
        assert_eq!(q.cursor, Some((1638094860, id.to_string())));
    }

    #[test]
    fn write_bodies_are_checked() {
        assert_eq!(create_body(br#"{"killmailIds":[1,2],"title":"Jorund"}"#).unwrap().killmail_ids, Some(vec![1, 2]));
        assert_eq!(create_body(br#"{"title":"x"}"#).unwrap_err().parameter().unwrap(), "body.killmailIds");
        assert_eq!(create_body(br#"{"killmailIds":[1,1]}"#).unwrap_err().parameter().unwrap(), "body.killmailIds");
        assert_eq!(create_body(br#"{"killmailIds":[1],"colour":1}"#).unwrap_err().parameter().unwrap(), "body.colour");
        assert_eq!(create_body(b"not json").unwrap_err().parameter().unwrap(), "body");
        assert_eq!(update_body(b"{}").unwrap_err().parameter().unwrap(), "body");
        assert_eq!(update_body(br#"{"title":" "}"#).unwrap_err().parameter().unwrap(), "body.title");
        assert!(update_body(br#"{"title":"Jorund"}"#).is_ok());
        let id = "00000000-0000-4000-8000-000005c7f330";
        assert_eq!(
            merge_body(format!(r#"{{"battleIds":["{id}"]}}"#).as_bytes(), id).unwrap_err().parameter().unwrap(),
            "body.battleIds"
        );
        assert_eq!(merge_body(br#"{"battleIds":["x"]}"#, id).unwrap_err().parameter().unwrap(), "body.battleIds");
        assert_eq!(split_body(br#"{"killmailIds":[]}"#).unwrap_err().parameter().unwrap(), "body.killmailIds");
    }
}
