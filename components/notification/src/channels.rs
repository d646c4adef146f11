//! Channels, named as zKillboard's websocket names them: `alliance:ID`, `corporation:ID`,
//! `character:ID`, `system:ID`, `region:ID`, plus `battle:ID` (a battle's id) and `all:*`
//! (everything).

use std::collections::BTreeSet;

/// The channel every event also goes to.
pub const ALL: &str = "all:*";

/// Kinds of channel and the ids they take.
const NUMERIC: [&str; 5] = ["alliance", "corporation", "character", "system", "region"];

/// Why a channel name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{channel:?} is not a channel: {why}")]
pub struct BadChannel {
    pub channel: String,
    pub why: String,
}

/// Check a channel name a client or the API gave.
pub fn parse(channel: &str) -> Result<String, BadChannel> {
    let bad = |why: &str| BadChannel { channel: channel.chars().take(100).collect(), why: why.to_string() };
    if channel == ALL {
        return Ok(channel.to_string());
    }
    let (kind, id) = channel.split_once(':').ok_or_else(|| bad("use kind:id, e.g. alliance:99003581"))?;
    if NUMERIC.contains(&kind) {
        return match id.parse::<u64>() {
            Ok(n) if n > 0 && n.to_string() == id => Ok(channel.to_string()),
            _ => Err(bad(&format!("{kind} ids are positive whole numbers"))),
        };
    }
    if kind == "battle" {
        let uuid = id.len() == 36
            && id.chars().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
        return if uuid { Ok(channel.to_string()) } else { Err(bad("battle ids are UUIDs")) };
    }
    Err(bad("kinds are all, alliance, corporation, character, system, region, battle"))
}

/// Builds the channel set of one event.
#[derive(Debug, Default)]
pub struct Channels(BTreeSet<String>);

impl Channels {
    pub fn new() -> Self {
        Self([ALL.to_string()].into())
    }

    pub fn add(&mut self, kind: &str, id: impl ToString) -> &mut Self {
        self.0.insert(format!("{kind}:{}", id.to_string()));
        self
    }

    pub fn add_all(&mut self, kind: &str, ids: impl IntoIterator<Item = u64>) -> &mut Self {
        for id in ids {
            self.add(kind, id);
        }
        self
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_zkillboard_uses_and_ours() {
        for ok in [
            "alliance:99003581",
            "character:2112625428",
            "system:30001046",
            "region:10000012",
            "all:*",
            "battle:00000000-0000-4000-8000-000005c7f330",
        ] {
            assert_eq!(parse(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in ["alliance", "alliance:", "alliance:-1", "alliance:0", "alliance:007", "planet:1", "battle:123", "all:x", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("ship:1").unwrap_err().to_string().contains("kinds are"));
    }

    #[test]
    fn every_event_also_goes_to_all() {
        let mut c = Channels::new();
        c.add("system", 30001046).add_all("alliance", [1, 2, 1]);
        assert_eq!(c.into_vec(), ["all:*", "alliance:1", "alliance:2", "system:30001046"]);
    }
}
