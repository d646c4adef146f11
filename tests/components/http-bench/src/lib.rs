//! The HTTP benchmark's component (`make bench`, bench-http): it imports only WASI, so our host
//! and `wasmtime serve` run the very same file.
//!
//! - `/hello`: a trivial answer, the cost of a request and an instance.
//! - `/report`: a battle report drawn from recorded killmails embedded at build time (the first
//!   25 kills of the Jorund fight of 2021-11-28, ESI bodies with the victims' item lists left
//!   out): parsed on every request, tallied per alliance (or corporation) and per ship type,
//!   answered as JSON. Work a real read does, without a database.
//!
//! `report_json` is also a native library function: the benchmark's native baseline answers
//! with the same code.

use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

const KILLMAILS: &str = include_str!("jorund-first-25.jsonl");

#[derive(Deserialize)]
struct Killmail {
    killmail_id: u64,
    killmail_time: String,
    victim: Pilot,
    attackers: Vec<Pilot>,
}

#[derive(Deserialize)]
struct Pilot {
    character_id: Option<u64>,
    corporation_id: Option<u64>,
    alliance_id: Option<u64>,
    ship_type_id: Option<u64>,
}

impl Pilot {
    /// Who fought: the alliance, else the corporation.
    fn unit(&self) -> String {
        match (self.alliance_id, self.corporation_id) {
            (Some(a), _) => format!("alliance:{a}"),
            (None, Some(c)) => format!("corporation:{c}"),
            (None, None) => "unknown".into(),
        }
    }
}

#[derive(Default)]
struct Tally {
    kills: BTreeSet<u64>,
    losses: u64,
    pilots: BTreeSet<u64>,
}

/// The report of the embedded killmails, as JSON text.
pub fn report_json() -> String {
    report().to_string()
}

fn report() -> serde_json::Value {
    let killmails: Vec<Killmail> =
        KILLMAILS.lines().map(|l| serde_json::from_str(l).expect("the embedded killmails are ESI bodies")).collect();
    let mut units: BTreeMap<String, Tally> = BTreeMap::new();
    let mut ships_lost: BTreeMap<u64, u64> = BTreeMap::new();
    for km in &killmails {
        let victim = units.entry(km.victim.unit()).or_default();
        victim.losses += 1;
        victim.pilots.extend(km.victim.character_id);
        *ships_lost.entry(km.victim.ship_type_id.unwrap_or(0)).or_default() += 1;
        for attacker in &km.attackers {
            let unit = units.entry(attacker.unit()).or_default();
            unit.kills.insert(km.killmail_id);
            unit.pilots.extend(attacker.character_id);
        }
    }
    let mut sides: Vec<_> = units
        .iter()
        .map(|(unit, t)| json!({ "unit": unit, "kills": t.kills.len(), "losses": t.losses, "pilots": t.pilots.len() }))
        .collect();
    sides.sort_by_key(|s| std::cmp::Reverse(s["pilots"].as_u64()));
    json!({
        "killmails": killmails.len(),
        "from": killmails.first().map(|k| k.killmail_time.clone()),
        "to": killmails.last().map(|k| k.killmail_time.clone()),
        "units": sides,
        "shipsLost": ships_lost,
    })
}

#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
fn handle(req: spin_sdk::http::Request) -> spin_sdk::http::Response {
    use spin_sdk::http::Response;
    match req.path() {
        "/hello" => Response::builder().status(200).header("content-type", "text/plain").body("hello").build(),
        "/report" => Response::builder().status(200).header("content-type", "application/json").body(report_json()).build(),
        _ => Response::builder().status(404).body("not found").build(),
    }
}
