//! The recorded data the replay serves: killmails of real days (one verbatim ESI body per
//! line, with `killmail_hash`) and adjusted prices for synthetic value estimates.

use anyhow::Context;
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// A day of killmails kept in the repository (`data/killmails/`).
pub fn day_file(day: &str) -> PathBuf {
    crate::repo_root().join(format!("data/killmails/killmails-{day}.jsonl.gz"))
}

/// Every line of a gzipped daily archive, parsed, in file order.
pub fn load_day(path: &Path) -> anyhow::Result<Vec<Value>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    reader
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let line = line.with_context(|| format!("{}: reading line {}", path.display(), i + 1))?;
            serde_json::from_str(&line).with_context(|| format!("{}: line {} is not JSON", path.display(), i + 1))
        })
        .collect()
}

/// Whether a victim or attacker of `km` flew a capital ship, by the static data's own list
/// (`data/sde/capital_ship_types.txt`): the count plugin tests compare verdicts with.
pub fn has_capital_ship(km: &Value) -> bool {
    static CAPITALS: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    let capitals = CAPITALS.get_or_init(|| {
        let path = crate::repo_root().join("data/sde/capital_ship_types.txt");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        text.lines().map(|l| l.parse().unwrap_or_else(|e| panic!("{}: {l:?}: {e}", path.display()))).collect()
    });
    std::iter::once(&km["victim"])
        .chain(km["attackers"].as_array().into_iter().flatten())
        .any(|p| p["ship_type_id"].as_u64().is_some_and(|t| capitals.contains(&t)))
}

/// `type id → adjusted price` (2025–26 prices: estimates, never zKillboard's values).
pub fn load_prices() -> anyhow::Result<HashMap<u32, f64>> {
    let path = crate::repo_root().join("data/prices/adjusted_prices.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let raw: HashMap<String, f64> = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(raw.into_iter().filter_map(|(k, v)| Some((k.parse().ok()?, v))).collect())
}

/// The killmails a replay serves, indexed by id.
pub struct ReplayData {
    pub killmails: Vec<Value>,
    by_id: HashMap<u64, usize>,
    prices: HashMap<u32, f64>,
}

impl ReplayData {
    pub fn new(killmails: Vec<Value>) -> anyhow::Result<Self> {
        let by_id = killmails.iter().enumerate().filter_map(|(i, k)| Some((k.get("killmail_id")?.as_u64()?, i))).collect();
        Ok(Self { killmails, by_id, prices: load_prices()? })
    }

    pub fn len(&self) -> usize {
        self.killmails.len()
    }

    pub fn is_empty(&self) -> bool {
        self.killmails.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<&Value> {
        self.by_id.get(&id).map(|i| &self.killmails[*i])
    }

    pub fn id_and_hash(km: &Value) -> (u64, String) {
        (km["killmail_id"].as_u64().unwrap_or_default(), km["killmail_hash"].as_str().unwrap_or_default().to_string())
    }

    /// The body as ESI serves it: the archive's two extra keys removed.
    pub fn esi_body(km: &Value) -> Value {
        let mut body = km.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("killmail_hash");
            o.remove("http_last_modified");
        }
        body
    }

    /// A `zkb` block for a recorded killmail. The archives have none, so everything but the
    /// hash is an estimate from today's adjusted prices and is marked synthetic.
    pub fn synthetic_zkb(&self, km: &Value) -> Value {
        let price = |t: &Value| t.as_u64().and_then(|t| self.prices.get(&(t as u32))).copied().unwrap_or(0.0);
        let victim = &km["victim"];
        let ship = price(&victim["ship_type_id"]);
        let (mut dropped, mut destroyed) = (0.0, 0.0);
        for item in victim["items"].as_array().into_iter().flatten() {
            let p = price(&item["item_type_id"]);
            dropped += p * item["quantity_dropped"].as_f64().unwrap_or(0.0);
            destroyed += p * item["quantity_destroyed"].as_f64().unwrap_or(0.0);
        }
        serde_json::json!({
            "hash": km["killmail_hash"],
            "destroyedValue": ship + destroyed,
            "droppedValue": dropped,
            "totalValue": ship + destroyed + dropped,
            "synthetic": true,
            "syntheticNote": "values estimated by the BattleScope replay server from 2025-26 adjusted prices; not zKillboard's",
        })
    }
}
