//! Rulesets: which killmails ingestion keeps. Pure logic; the current ruleset lives in the
//! `rulesets` table and is read again for every killmail, so a change applies at once.
//!
//! Semantics (docs/ingestion.md has the user-facing version):
//! - `minPilots`: the victim pilot plus distinct attacker pilots must reach it (0 = off).
//! - `trackedSecurityBands`: when not empty, the kill's system must be in one of the bands.
//! - `trackedSystemIds`, `trackedAllianceIds`, `trackedCorporationIds`: a killmail is *listed*
//!   when it happened in a tracked system or any participant (victim or attacker) belongs to
//!   a tracked alliance or corporation. With `ignoreUnlisted`, unlisted killmails are dropped;
//!   without it the lists only mark killmails as tracked. All three empty: nothing is unlisted.

use crate::killmail::Killmail;
use eve_static::SecurityBand;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The largest list a ruleset may carry; beyond it a list is a mistake, not a filter.
pub const MAX_LIST_LEN: usize = 10_000;

/// A ruleset as the API accepts and returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ruleset {
    /// Least number of pilots (victim + distinct attackers) a killmail needs; 0 keeps all.
    #[serde(default)]
    pub min_pilots: u32,
    /// Alliances whose involvement makes a killmail listed.
    #[serde(default)]
    pub tracked_alliance_ids: BTreeSet<u64>,
    /// Corporations whose involvement makes a killmail listed.
    #[serde(default)]
    pub tracked_corporation_ids: BTreeSet<u64>,
    /// Systems whose killmails are listed.
    #[serde(default)]
    pub tracked_system_ids: BTreeSet<u32>,
    /// Space types to keep; empty keeps every band.
    #[serde(default)]
    pub tracked_security_bands: BTreeSet<SecurityBand>,
    /// Drop killmails that no tracked list names.
    #[serde(default)]
    pub ignore_unlisted: bool,
}

/// Why a ruleset was refused: the field and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("field `{field}`: {message}")]
pub struct RulesetError {
    pub field: String,
    pub message: String,
}

/// The built-in rule that dropped a killmail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    MinPilots,
    SecurityBand,
    Unlisted,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::MinPilots => "min_pilots",
            Rule::SecurityBand => "security_band",
            Rule::Unlisted => "unlisted",
        }
    }
}

/// What the built-in rules decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Kept; `tracked` says whether a tracked list names it.
    Accept {
        tracked: bool,
    },
    Reject(Rule),
}

impl Ruleset {
    /// Parse and check a ruleset document; the error names the offending field.
    pub fn parse(json: &[u8]) -> Result<Self, RulesetError> {
        let value: serde_json::Value = serde_json::from_slice(json)
            .map_err(|e| RulesetError { field: "(body)".into(), message: format!("not JSON: {e}") })?;
        let Some(object) = value.as_object() else {
            return Err(RulesetError { field: "(body)".into(), message: "a ruleset is a JSON object".into() });
        };
        // Parse field by field so the error can name the field serde would only describe.
        let probe = Self::default();
        let known = serde_json::to_value(&probe).expect("a ruleset serialises");
        for (key, field_value) in object {
            let Some(default) = known.get(key) else {
                return Err(RulesetError {
                    field: key.clone(),
                    message: format!(
                        "unknown field; a ruleset has {}",
                        known.as_object().unwrap().keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            };
            let mut single = known.clone();
            single[key] = field_value.clone();
            if let Err(e) = serde_json::from_value::<Self>(single) {
                return Err(RulesetError { field: key.clone(), message: expectation(default, &e) });
            }
        }
        let ruleset: Self =
            serde_json::from_value(value).map_err(|e| RulesetError { field: "(body)".into(), message: e.to_string() })?;
        ruleset.check()?;
        Ok(ruleset)
    }

    fn check(&self) -> Result<(), RulesetError> {
        let too_long = |field: &str, len: usize| {
            (len > MAX_LIST_LEN)
                .then(|| RulesetError { field: field.into(), message: format!("{len} entries; at most {MAX_LIST_LEN}") })
        };
        let lists = [
            ("trackedAllianceIds", self.tracked_alliance_ids.len()),
            ("trackedCorporationIds", self.tracked_corporation_ids.len()),
            ("trackedSystemIds", self.tracked_system_ids.len()),
        ];
        if let Some(e) = lists.into_iter().find_map(|(f, n)| too_long(f, n)) {
            return Err(e);
        }
        if let Some(zero) = [
            ("trackedAllianceIds", self.tracked_alliance_ids.contains(&0)),
            ("trackedCorporationIds", self.tracked_corporation_ids.contains(&0)),
            ("trackedSystemIds", self.tracked_system_ids.contains(&0)),
        ]
        .into_iter()
        .find(|(_, has_zero)| *has_zero)
        {
            return Err(RulesetError { field: zero.0.into(), message: "ids are positive; 0 is not an id".into() });
        }
        if self.min_pilots > 10_000 {
            return Err(RulesetError {
                field: "minPilots".into(),
                message: format!("{} is more pilots than any killmail holds", self.min_pilots),
            });
        }
        Ok(())
    }

    fn has_tracked_lists(&self) -> bool {
        !(self.tracked_alliance_ids.is_empty() && self.tracked_corporation_ids.is_empty() && self.tracked_system_ids.is_empty())
    }

    fn lists(&self, km: &Killmail) -> bool {
        self.tracked_system_ids.contains(&km.solar_system_id)
            || km.participants().any(|p| {
                p.alliance_id.is_some_and(|a| self.tracked_alliance_ids.contains(&a))
                    || p.corporation_id.is_some_and(|c| self.tracked_corporation_ids.contains(&c))
            })
    }

    /// Apply the built-in rules, cheapest first.
    pub fn evaluate(&self, km: &Killmail) -> Verdict {
        if self.min_pilots > 0 && km.pilot_count() < self.min_pilots as usize {
            return Verdict::Reject(Rule::MinPilots);
        }
        if !self.tracked_security_bands.is_empty() {
            let band = km.location().map(|s| s.band);
            if !band.is_some_and(|b| self.tracked_security_bands.contains(&b)) {
                return Verdict::Reject(Rule::SecurityBand);
            }
        }
        let tracked = self.has_tracked_lists() && self.lists(km);
        if self.ignore_unlisted && self.has_tracked_lists() && !tracked {
            return Verdict::Reject(Rule::Unlisted);
        }
        Verdict::Accept { tracked }
    }
}

/// Say what a field should hold, from the shape of its default value.
fn expectation(default: &serde_json::Value, e: &serde_json::Error) -> String {
    let want = match default {
        serde_json::Value::Bool(_) => "true or false".to_string(),
        serde_json::Value::Number(_) => "a whole number, 0 or more".to_string(),
        serde_json::Value::Array(_) => "a list".to_string(),
        _ => "a value".to_string(),
    };
    let detail = e.to_string();
    let detail = detail.split(" at line").next().unwrap_or(&detail);
    format!("expected {want}: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::killmail::tests::sample;

    fn km() -> Killmail {
        Killmail::from_archive_line(&sample().to_string()).unwrap()
    }

    #[test]
    fn the_empty_ruleset_keeps_everything() {
        assert_eq!(Ruleset::default().evaluate(&km()), Verdict::Accept { tracked: false });
    }

    #[test]
    fn min_pilots_counts_distinct_pilots() {
        let r = |n| Ruleset { min_pilots: n, ..Default::default() }.evaluate(&km());
        assert_eq!(r(3), Verdict::Accept { tracked: false });
        assert_eq!(r(4), Verdict::Reject(Rule::MinPilots));
    }

    #[test]
    fn security_bands_filter_by_the_systems_band() {
        let r = |b: &[SecurityBand]| {
            Ruleset { tracked_security_bands: b.iter().copied().collect(), ..Default::default() }.evaluate(&km())
        };
        assert_eq!(r(&[SecurityBand::Nullsec]), Verdict::Accept { tracked: false });
        assert_eq!(r(&[SecurityBand::Highsec, SecurityBand::Wormhole]), Verdict::Reject(Rule::SecurityBand));
    }

    #[test]
    fn tracked_lists_mark_and_with_ignore_unlisted_filter() {
        let victim_alliance = Ruleset { tracked_alliance_ids: [99005338].into(), ignore_unlisted: true, ..Default::default() };
        assert_eq!(victim_alliance.evaluate(&km()), Verdict::Accept { tracked: true });
        let attacker_corp = Ruleset { tracked_corporation_ids: [98000002].into(), ignore_unlisted: true, ..Default::default() };
        assert_eq!(attacker_corp.evaluate(&km()), Verdict::Accept { tracked: true });
        let other = Ruleset {
            tracked_alliance_ids: [1].into(),
            tracked_system_ids: [30000142].into(),
            ignore_unlisted: true,
            ..Default::default()
        };
        assert_eq!(other.evaluate(&km()), Verdict::Reject(Rule::Unlisted));
        let marking_only = Ruleset { ignore_unlisted: false, ..other };
        assert_eq!(marking_only.evaluate(&km()), Verdict::Accept { tracked: false });
        let system = Ruleset { tracked_system_ids: [30001046].into(), ignore_unlisted: true, ..Default::default() };
        assert_eq!(system.evaluate(&km()), Verdict::Accept { tracked: true });
    }

    #[test]
    fn parse_round_trips_and_names_bad_fields() {
        let r = Ruleset::parse(br#"{"minPilots": 5, "trackedSecurityBands": ["nullsec", "wormhole"], "ignoreUnlisted": true}"#)
            .unwrap();
        assert_eq!(r.min_pilots, 5);
        assert_eq!(Ruleset::parse(serde_json::to_string(&r).unwrap().as_bytes()).unwrap(), r);
        let field = |body: &str| Ruleset::parse(body.as_bytes()).unwrap_err().field;
        assert_eq!(field(r#"{"minPilots": -1}"#), "minPilots");
        assert_eq!(field(r#"{"minPilots": "many"}"#), "minPilots");
        assert_eq!(field(r#"{"trackedSecurityBands": ["deepspace"]}"#), "trackedSecurityBands");
        assert_eq!(field(r#"{"trackedAllianceIds": "99005338"}"#), "trackedAllianceIds");
        assert_eq!(field(r#"{"trackedSystemIds": [0]}"#), "trackedSystemIds");
        assert_eq!(field(r#"{"minPilot": 3}"#), "minPilot");
        assert_eq!(field(r#"{"ignoreUnlisted": "yes"}"#), "ignoreUnlisted");
        assert_eq!(field("[1]"), "(body)");
        assert_eq!(field("{"), "(body)");
        let unknown = Ruleset::parse(br#"{"minPilot": 3}"#).unwrap_err().to_string();
        assert!(unknown.contains("unknown field") && unknown.contains("minPilots"), "{unknown}");
    }
}
