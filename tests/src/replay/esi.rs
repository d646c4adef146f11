//! The ESI part of the replay: names for `POST /universe/names/` and ESI's error budget.
//!
//! Names: real alliance and corporation names from `data/names/`; every other id that appears
//! on the loaded killmails (characters, corporations without a recorded name, factions) gets
//! a made-up name marked `"synthetic": true`. Ids that appear nowhere are invalid, and like
//! ESI, one invalid id makes the whole call a 404.

use anyhow::Context;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const MAX_IDS: usize = 1000;

struct Entry {
    name: String,
    category: &'static str,
    synthetic: bool,
}

/// Every id the replay can name.
pub struct NameBook {
    names: HashMap<u64, Entry>,
}

fn load_names(file: &str) -> anyhow::Result<Vec<(u64, String)>> {
    let path = crate::repo_root().join("data/names").join(file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let entries: Vec<Value> = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(entries.iter().filter_map(|e| Some((e["id"].as_u64()?, e["name"].as_str()?.to_string()))).collect())
}

impl NameBook {
    pub fn new(killmails: &[Value]) -> anyhow::Result<Self> {
        let mut names = HashMap::new();
        for (file, category) in [("alliances.json", "alliance"), ("corporations.json", "corporation")] {
            for (id, name) in load_names(file)? {
                names.insert(id, Entry { name, category, synthetic: false });
            }
        }
        for km in killmails {
            let participants = std::iter::once(&km["victim"]).chain(km["attackers"].as_array().into_iter().flatten());
            for p in participants {
                for (key, category, label) in [
                    ("character_id", "character", "Pilot"),
                    ("corporation_id", "corporation", "Corporation"),
                    ("alliance_id", "alliance", "Alliance"),
                    ("faction_id", "faction", "Faction"),
                ] {
                    if let Some(id) = p[key].as_u64() {
                        names.entry(id).or_insert_with(|| Entry { name: format!("{label} {id}"), category, synthetic: true });
                    }
                }
            }
        }
        Ok(Self { names })
    }

    /// ESI's answer to `POST /universe/names/` with `body`: status and JSON.
    pub fn answer(&self, body: &[u8]) -> (u16, Value) {
        let Ok(ids) = serde_json::from_slice::<Vec<u64>>(body) else {
            return (400, json!({"error": "Invalid body: expected a JSON array of integer ids"}));
        };
        if ids.is_empty() || ids.len() > MAX_IDS {
            return (400, json!({"error": format!("Between 1 and {MAX_IDS} IDs are allowed")}));
        }
        if ids.iter().any(|id| !self.names.contains_key(id)) {
            return (404, json!({"error": "Ensure all IDs are valid before resolving."}));
        }
        let out: Vec<Value> = ids
            .iter()
            .map(|id| {
                let e = &self.names[id];
                let mut v = json!({"id": id, "name": e.name, "category": e.category});
                if e.synthetic {
                    v["synthetic"] = json!(true);
                }
                v
            })
            .collect();
        (200, Value::Array(out))
    }
}

/// ESI's error budget: every 4xx/5xx answer spends one; when none is left, 420 until the
/// window resets.
pub struct ErrorWindow {
    pub limit: i64,
    pub remain: i64,
    pub window: Duration,
    started: Instant,
}

impl ErrorWindow {
    pub fn new(limit: i64, window: Duration) -> Self {
        Self { limit, remain: limit, window, started: Instant::now() }
    }

    fn roll(&mut self) {
        if self.started.elapsed() >= self.window {
            self.started = Instant::now();
            self.remain = self.limit;
        }
    }

    /// `X-ESI-Error-Limit-Remain` and `-Reset` (whole seconds to the reset, at least 1).
    pub fn headers(&mut self) -> (i64, u64) {
        self.roll();
        let left = self.window.saturating_sub(self.started.elapsed());
        (self.remain, left.as_secs_f64().ceil().max(1.0) as u64)
    }

    pub fn spent(&mut self) -> bool {
        self.roll();
        self.remain <= 0
    }

    pub fn error(&mut self) {
        self.roll();
        self.remain -= 1;
    }

    /// From now on, windows of `window` with `remain` errors each.
    pub fn set(&mut self, remain: i64, window: Duration) {
        self.limit = remain;
        self.remain = remain;
        self.window = window;
        self.started = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_answer_like_esi() {
        let km = json!({"victim": {"character_id": 7, "corporation_id": 8}, "attackers": [{"faction_id": 500001}]});
        let book = NameBook::new(&[km]).unwrap();
        let (status, body) = book.answer(b"[7, 500001]");
        assert_eq!(status, 200);
        assert_eq!(body[0]["synthetic"], true);
        assert_eq!(book.answer(b"[7, 123]").0, 404, "one unknown id fails the call");
        let too_many: Vec<u64> = (0..1001).collect();
        assert_eq!(book.answer(serde_json::to_string(&too_many).unwrap().as_bytes()).0, 400);
        let (_, real) = book.answer(b"[99005338]");
        assert!(real[0].get("synthetic").is_none(), "a recorded alliance name is real: {real}");
    }

    #[test]
    fn the_error_window_spends_and_resets() {
        let mut w = ErrorWindow::new(2, Duration::from_millis(50));
        w.error();
        w.error();
        assert!(w.spent());
        std::thread::sleep(Duration::from_millis(60));
        assert!(!w.spent());
        assert_eq!(w.headers().0, 2);
    }
}
