//! The search API's queries: parameters read and checked (a wrong one is a 400 that names
//! it), turned into Typesense searches, and Typesense's answers turned into ours. User text
//! only ever travels in `q`; filters are built from checked numbers and known words, so no
//! input can change a filter's meaning.

use crate::collections::Kind;
use crate::documents::ENTITY_TYPES;
use chrono::DateTime;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Bounds of the numeric filters: what the collections' int32 and float fields can compare
/// against (Typesense refuses a filter beyond them), and far past any real battle.
pub const MAX_KILLS: u32 = i32::MAX as u32;
pub const MAX_ISK: f64 = 1e15;

/// What `q` searches in a battle, and the filter every battle query starts from (removed
/// battles stay as tombstones, `documents::removed_battle`).
const BATTLE_TEXT: &str = "alliances,corporations,systems,regions,title";
const LIVE_BATTLES: &str = "removed:=false";

/// Longest `q` accepted.
pub const MAX_QUERY_CHARS: usize = 200;

/// A parameter that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {message}")]
pub struct BadParameter {
    pub parameter: String,
    pub message: String,
}

fn bad(parameter: &str, message: impl Into<String>) -> BadParameter {
    BadParameter { parameter: parameter.to_string(), message: message.into() }
}

fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3).ok_or("a % not followed by two hex digits")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("%{hex} is not an escape"))?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_string())
}

/// The parameters of one request; `finish` refuses any the endpoint did not read.
pub struct Params {
    pairs: Vec<(String, String)>,
    read: BTreeSet<String>,
}

impl Params {
    pub fn parse(query: &str) -> Result<Self, BadParameter> {
        let mut pairs = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let k = decode(k).map_err(|e| bad("query", e))?;
            let v = decode(v).map_err(|e| bad(&k, e))?;
            if pairs.iter().any(|(seen, _): &(String, String)| *seen == k) {
                return Err(bad(&k, "given more than once"));
            }
            pairs.push((k, v));
        }
        Ok(Self { pairs, read: BTreeSet::new() })
    }

    fn raw(&mut self, name: &str) -> Option<String> {
        self.read.insert(name.to_string());
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// The search text: `*` (everything) when absent.
    pub fn text(&mut self, required: bool) -> Result<String, BadParameter> {
        match self.raw("q") {
            None if required => Err(bad("q", "give the text to search for")),
            None => Ok("*".into()),
            Some(q) if q.chars().count() > MAX_QUERY_CHARS => Err(bad("q", format!("at most {MAX_QUERY_CHARS} characters"))),
            Some(q) => Ok(q),
        }
    }

    pub fn number<T>(&mut self, name: &str, min: T, max: T) -> Result<Option<T>, BadParameter>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(text) = self.raw(name) else { return Ok(None) };
        match text.parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(Some(n)),
            _ => Err(bad(name, format!("a number from {min} to {max}, not {text:?}"))),
        }
    }

    /// An RFC 3339 time, as epoch seconds.
    pub fn time(&mut self, name: &str) -> Result<Option<i64>, BadParameter> {
        let Some(text) = self.raw(name) else { return Ok(None) };
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Some(t.timestamp()))
            .map_err(|e| bad(name, format!("an RFC 3339 time like 2021-11-28T10:00:00Z, not {text:?} ({e})")))
    }

    pub fn choice(&mut self, name: &str, allowed: &[&str]) -> Result<Option<String>, BadParameter> {
        let Some(text) = self.raw(name) else { return Ok(None) };
        if allowed.contains(&text.as_str()) {
            Ok(Some(text))
        } else {
            Err(bad(name, format!("one of {}, not {text:?}", allowed.join(", "))))
        }
    }

    /// Refuse parameters the endpoint does not know.
    pub fn finish(self) -> Result<(), BadParameter> {
        match self.pairs.iter().find(|(k, _)| !self.read.contains(k)) {
            Some((k, _)) => {
                let known: Vec<&str> = self.read.iter().map(String::as_str).collect();
                Err(bad(k, format!("not a parameter of this endpoint (it takes {})", known.join(", "))))
            }
            None => Ok(()),
        }
    }
}

/// A Typesense search of one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub kind: Kind,
    pub params: Vec<(String, String)>,
}

impl Search {
    fn new(kind: Kind, pairs: &[(&str, String)]) -> Self {
        Self { kind, params: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() }
    }

    /// As one entry of a multi_search body.
    pub fn to_multi(&self, prefix: &str) -> Value {
        let mut entry = json!({ "collection": self.kind.alias(prefix) });
        for (k, v) in &self.params {
            entry[k] = json!(v);
        }
        entry
    }
}

/// Page and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

fn page(p: &mut Params) -> Result<Page, BadParameter> {
    Ok(Page { page: p.number("page", 1u32, 100)?.unwrap_or(1), per_page: p.number("perPage", 1u32, 100)?.unwrap_or(20) })
}

const BANDS: [&str; 7] = ["highsec", "lowsec", "nullsec", "wormhole", "pochven", "abyssal", "unknown"];
const ID_MAX: u64 = i64::MAX as u64;

/// An ISK amount as Typesense reads it in a filter: in whole cents, rounded up so `>=` keeps
/// its meaning. Typesense refuses the long decimals Rust writes for tiny values (5e-324 is
/// 0.000…0049 with 324 digits: "Not a float").
fn isk_filter_value(isk: f64) -> String {
    format!("{:.2}", (isk * 100.0).ceil() / 100.0)
}

/// `GET /api/search/battles`.
pub fn battles(query: &str) -> Result<(Search, Page), BadParameter> {
    let mut p = Params::parse(query)?;
    let q = p.text(false)?;
    let mut filters = vec![LIVE_BATTLES.to_string()];
    if let Some(from) = p.time("from")? {
        filters.push(format!("end_time:>={from}"));
    }
    if let Some(to) = p.time("to")? {
        filters.push(format!("start_time:<={to}"));
    }
    if let Some(band) = p.choice("securityBand", &BANDS)? {
        filters.push(format!("security_bands:={band}"));
    }
    for (param, field) in
        [("region", "region_ids"), ("system", "system_ids"), ("alliance", "alliance_ids"), ("corporation", "corporation_ids")]
    {
        if let Some(id) = p.number(param, 1u64, ID_MAX)? {
            filters.push(format!("{field}:={id}"));
        }
    }
    if let Some(n) = p.number("minKills", 0u32, MAX_KILLS)? {
        filters.push(format!("kills:>={n}"));
    }
    if let Some(isk) = p.number("minIsk", 0f64, MAX_ISK)? {
        filters.push(format!("isk_destroyed:>={}", isk_filter_value(isk)));
    }
    let sort = match p.choice("sort", &["time", "kills", "isk", "relevance"])?.as_deref() {
        Some("kills") => "kills:desc,start_time:desc",
        Some("isk") => "isk_destroyed:desc,start_time:desc",
        Some("time") => "start_time:desc",
        _ if q != "*" => "_text_match:desc,start_time:desc",
        _ => "start_time:desc",
    };
    let page = page(&mut p)?;
    p.finish()?;
    let search = Search::new(
        Kind::Battles,
        &[
            ("q", q),
            ("query_by", BATTLE_TEXT.into()),
            ("filter_by", filters.join(" && ")),
            ("facet_by", "security_bands,regions,alliances".into()),
            ("max_facet_values", "20".into()),
            ("sort_by", sort.into()),
            ("page", page.page.to_string()),
            ("per_page", page.per_page.to_string()),
        ],
    );
    Ok((search, page))
}

fn time_text(seconds: Option<i64>) -> Value {
    seconds
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

fn hits(result: &Value) -> impl Iterator<Item = &Value> {
    result["hits"].as_array().into_iter().flatten().map(|h| &h["document"])
}

fn facets(result: &Value, names: &[(&str, &str)]) -> Value {
    let mut out = json!({});
    for (field, name) in names {
        let counts = result["facet_counts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["field_name"] == *field)
            .and_then(|f| f["counts"].as_array())
            .map(|counts| counts.iter().map(|c| json!({ "value": c["value"], "count": c["count"] })).collect::<Vec<_>>())
            .unwrap_or_default();
        out[*name] = json!(counts);
    }
    out
}

fn battle_hit(d: &Value) -> Value {
    json!({
        "battleId": d["id"], "title": d.get("title").cloned().unwrap_or(Value::Null), "status": d["status"],
        "startTime": time_text(d["start_time"].as_i64()), "endTime": time_text(d["end_time"].as_i64()),
        "kills": d["kills"], "pilots": d["pilots"], "iskDestroyed": d["isk_destroyed"],
        "systems": d["systems"], "regions": d["regions"], "securityBands": d["security_bands"], "alliances": d["alliances"],
    })
}

/// Our answer to a battles search.
pub fn battles_answer(result: &Value, page: Page) -> Value {
    json!({
        "found": result["found"].as_u64().unwrap_or(0),
        "page": page.page,
        "perPage": page.per_page,
        "battles": hits(result).map(battle_hit).collect::<Vec<_>>(),
        "facets": facets(result, &[("security_bands", "securityBand"), ("regions", "region"), ("alliances", "alliance")]),
    })
}

fn entity_search(q: String, kind: Option<&str>, limit: u32) -> Search {
    let mut pairs = vec![
        ("q", q),
        ("query_by", "name,ticker".into()),
        // Names forgive typos and complete prefixes; tickers match exactly.
        ("num_typos", "2,0".into()),
        ("prefix", "true,false".into()),
        ("sort_by", "_text_match:desc,activity:desc".into()),
        ("per_page", limit.to_string()),
    ];
    if let Some(kind) = kind {
        pairs.push(("filter_by", format!("type:={kind}")));
    }
    Search::new(Kind::Entities, &pairs)
}

/// `GET /api/search/entities`: autocomplete.
pub fn entities(query: &str) -> Result<Search, BadParameter> {
    let mut p = Params::parse(query)?;
    let q = p.text(true)?;
    let types: Vec<&str> = ENTITY_TYPES.iter().map(|(t, _)| *t).collect();
    let kind = p.choice("type", &types)?;
    let limit = p.number("limit", 1u32, 50)?.unwrap_or(10);
    p.finish()?;
    Ok(entity_search(q, kind.as_deref(), limit))
}

fn entity_hit(d: &Value) -> Value {
    json!({ "type": d["type"], "id": d["entity_id"], "name": d["name"], "ticker": d.get("ticker").cloned().unwrap_or(Value::Null), "activity": d["activity"] })
}

pub fn entities_answer(result: &Value) -> Value {
    json!({ "entities": hits(result).map(entity_hit).collect::<Vec<_>>() })
}

/// `GET /api/search/killmails`.
pub fn killmails(query: &str) -> Result<(Search, Page), BadParameter> {
    let mut p = Params::parse(query)?;
    let q = p.text(false)?;
    let mut filters = Vec::new();
    if let Some(from) = p.time("from")? {
        filters.push(format!("time:>={from}"));
    }
    if let Some(to) = p.time("to")? {
        filters.push(format!("time:<={to}"));
    }
    if let Some(id) = p.number("system", 1u64, ID_MAX)? {
        filters.push(format!("system_id:={id}"));
    }
    if let Some(id) = p.number("shipType", 1u64, ID_MAX)? {
        filters.push(format!("ship_type_id:={id}"));
    }
    if let Some(id) = p.number("alliance", 1u64, ID_MAX)? {
        filters.push(format!("(victim_alliance_id:={id} || attacker_alliance_ids:={id})"));
    }
    if let Some(v) = p.number("minValue", 0f64, MAX_ISK)? {
        filters.push(format!("value:>={}", isk_filter_value(v)));
    }
    let sort = match p.choice("sort", &["time", "value", "relevance"])?.as_deref() {
        Some("value") => "value:desc,time:desc",
        Some("time") => "time:desc",
        _ if q != "*" => "_text_match:desc,time:desc",
        _ => "time:desc",
    };
    let page = page(&mut p)?;
    p.finish()?;
    let mut pairs = vec![
        ("q", q),
        ("query_by", "ship,victim,victim_alliance,victim_corporation,system,region,attacker_alliances,ship_group".into()),
        ("sort_by", sort.into()),
        ("page", page.page.to_string()),
        ("per_page", page.per_page.to_string()),
    ];
    if !filters.is_empty() {
        pairs.push(("filter_by", filters.join(" && ")));
    }
    Ok((Search::new(Kind::Killmails, &pairs), page))
}

fn killmail_hit(d: &Value) -> Value {
    let text = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "killmailId": d["killmail_id"], "time": time_text(d["time"].as_i64()), "system": text("system"), "systemId": d["system_id"],
        "region": text("region"), "securityBand": d["security_band"], "victim": text("victim"),
        "victimCorporation": text("victim_corporation"), "victimAlliance": text("victim_alliance"),
        "ship": text("ship"), "shipTypeId": text("ship_type_id"), "attackers": d["attackers"], "value": d["value"],
    })
}

pub fn killmails_answer(result: &Value, page: Page) -> Value {
    json!({
        "found": result["found"].as_u64().unwrap_or(0),
        "page": page.page,
        "perPage": page.per_page,
        "killmails": hits(result).map(killmail_hit).collect::<Vec<_>>(),
    })
}

/// The groups of `GET /api/search?q=`, in the order of the multi_search.
const GROUPS: [(&str, &str); 4] =
    [("alliances", "alliance"), ("corporations", "corporation"), ("pilots", "character"), ("systems", "system")];

/// `GET /api/search?q=`: battles and each kind of entity, grouped (Typesense 0.24 ranks within
/// a collection only).
pub fn everything(query: &str) -> Result<Vec<Search>, BadParameter> {
    let mut p = Params::parse(query)?;
    let q = p.text(true)?;
    let limit = p.number("limit", 1u32, 20)?.unwrap_or(5);
    p.finish()?;
    let mut searches = vec![Search::new(
        Kind::Battles,
        &[
            ("q", q.clone()),
            ("query_by", BATTLE_TEXT.into()),
            ("filter_by", LIVE_BATTLES.into()),
            ("sort_by", "_text_match:desc,kills:desc".into()),
            ("per_page", limit.to_string()),
        ],
    )];
    searches.extend(GROUPS.iter().map(|(_, kind)| entity_search(q.clone(), Some(kind), limit)));
    Ok(searches)
}

pub fn everything_answer(results: &[Value]) -> Value {
    let mut out = json!({ "battles": results.first().map(|r| hits(r).map(battle_hit).collect::<Vec<_>>()).unwrap_or_default() });
    for (i, (group, _)) in GROUPS.iter().enumerate() {
        out[*group] = json!(results.get(i + 1).map(|r| hits(r).map(entity_hit).collect::<Vec<_>>()).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param<'a>(s: &'a Search, name: &str) -> &'a str {
        s.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    #[test]
    fn battle_filters_come_from_checked_values_only() {
        let (s, page) = battles(
            "q=Goon%20swarm&securityBand=nullsec&alliance=1354830081&minKills=10&from=2021-11-28T00:00:00Z&sort=kills&perPage=5",
        )
        .unwrap();
        assert_eq!(param(&s, "q"), "Goon swarm");
        assert_eq!(
            param(&s, "filter_by"),
            "removed:=false && end_time:>=1638057600 && security_bands:=nullsec && alliance_ids:=1354830081 && kills:>=10"
        );
        assert_eq!(param(&s, "sort_by"), "kills:desc,start_time:desc");
        assert_eq!(page, Page { page: 1, per_page: 5 });
        let (s, _) = battles("").unwrap();
        assert_eq!((param(&s, "q"), param(&s, "sort_by")), ("*", "start_time:desc"));
    }

    #[test]
    fn isk_filters_are_short_decimals_typesense_reads() {
        let (s, _) = battles("minIsk=5e-324").unwrap();
        assert!(param(&s, "filter_by").ends_with("isk_destroyed:>=0.01"), "{}", param(&s, "filter_by"));
        let (s, _) = battles("minIsk=1500000000").unwrap();
        assert!(param(&s, "filter_by").ends_with("isk_destroyed:>=1500000000.00"), "{}", param(&s, "filter_by"));
        let (s, _) = killmails("minValue=0.001").unwrap();
        assert!(param(&s, "filter_by").contains("value:>=0.01"), "{}", param(&s, "filter_by"));
    }

    #[test]
    fn wrong_parameters_are_named() {
        for (query, parameter) in [
            ("securityBand=space", "securityBand"),
            ("alliance=goons", "alliance"),
            ("alliance=1%20||%20removed:=true", "alliance"),
            ("from=yesterday", "from"),
            ("perPage=1000", "perPage"),
            ("minKills=-1", "minKills"),
            ("minKills=3000000000", "minKills"),
            ("minIsk=1e300", "minIsk"),
            ("colour=red", "colour"),
            ("q=a&q=b", "q"),
            ("q=%zz", "q"),
        ] {
            assert_eq!(battles(query).unwrap_err().parameter, parameter, "{query}");
        }
        assert_eq!(battles(&format!("q={}", "x".repeat(201))).unwrap_err().parameter, "q");
        assert_eq!(entities("type=alliance").unwrap_err().parameter, "q");
        assert_eq!(entities("q=jor&type=moon").unwrap_err().parameter, "type");
        assert!(battles("colour=red").unwrap_err().message.contains("securityBand"), "says what it takes");
    }

    #[test]
    fn autocomplete_forgives_typos_in_names_but_not_in_tickers() {
        let s = entities("q=Jor&type=system&limit=3").unwrap();
        assert_eq!((param(&s, "num_typos"), param(&s, "prefix")), ("2,0", "true,false"));
        assert_eq!((param(&s, "filter_by"), param(&s, "per_page")), ("type:=system", "3"));
    }

    #[test]
    fn answers_carry_documents_and_facets_in_our_names() {
        let ts = json!({"found": 1, "hits": [{"document": {"id": "b1", "status": "ended", "start_time": 1638094860, "end_time": 1638111060,
            "kills": 1124, "pilots": 1597, "isk_destroyed": 0.0, "systems": ["Jorund"], "regions": ["Curse"], "security_bands": ["nullsec"],
            "alliances": ["Goonswarm Federation"]}}], "facet_counts": [{"field_name": "security_bands", "counts": [{"value": "nullsec", "count": 1}]}]});
        let a = battles_answer(&ts, Page { page: 1, per_page: 20 });
        assert_eq!(a["battles"][0]["startTime"], "2021-11-28T10:21:00Z");
        assert_eq!(a["facets"]["securityBand"], json!([{"value": "nullsec", "count": 1}]));
        assert_eq!(a["facets"]["alliance"], json!([]));
        let groups = everything_answer(&[
            ts,
            json!({"hits": [{"document": {"type": "alliance", "entity_id": 1, "name": "G", "activity": 3}}]}),
        ]);
        assert_eq!(groups["alliances"][0]["name"], "G");
        assert_eq!(groups["systems"], json!([]));
    }
}
