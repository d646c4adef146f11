//! One killmail's way through ingestion, apart from I/O: the built-in rules, then the plugins,
//! and the tally a batch reports back.

use crate::killmail::Killmail;
use crate::ruleset::{Ruleset, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happens to a killmail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept {
        tracked: bool,
    },
    /// Dropped by a built-in rule (`min_pilots`, …) or a plugin (`plugin:<name>`).
    Reject {
        rule: String,
        reason: Option<String>,
    },
}

/// A plugin's say on a killmail the built-in rules kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginVerdict {
    Accept,
    Reject { plugin: String, reason: String },
}

/// Apply the ruleset, then (only if it kept the killmail) the plugins.
pub fn decide(ruleset: &Ruleset, km: &Killmail, plugins: impl FnOnce(&Killmail) -> PluginVerdict) -> Decision {
    match ruleset.evaluate(km) {
        Verdict::Reject(rule) => Decision::Reject { rule: rule.name().to_string(), reason: None },
        Verdict::Accept { tracked } => match plugins(km) {
            PluginVerdict::Accept => Decision::Accept { tracked },
            PluginVerdict::Reject { plugin, reason } => {
                Decision::Reject { rule: format!("plugin:{plugin}"), reason: Some(reason) }
            }
        },
    }
}

/// How a stored decision turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Rejected,
    /// Decided before (replay, redelivery): nothing stored or published again.
    Duplicate,
}

/// What a batch did, as the backfill endpoint reports it (and `battlescope backfill` reads).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub received: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: BTreeMap<String, u64>,
    pub malformed: Vec<Malformed>,
}

/// A line of a batch that was not a killmail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Malformed {
    /// 1-based line in the batch.
    pub line: usize,
    pub error: String,
}

impl Tally {
    pub fn add(&mut self, decision: &Decision, outcome: Outcome) {
        self.received += 1;
        match (outcome, decision) {
            (Outcome::Duplicate, _) => self.duplicates += 1,
            (_, Decision::Accept { .. }) => self.accepted += 1,
            (_, Decision::Reject { rule, .. }) => *self.rejected.entry(rule.clone()).or_default() += 1,
        }
    }

    pub fn malformed(&mut self, line: usize, error: String) {
        self.received += 1;
        self.malformed.push(Malformed { line, error });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::killmail::tests::sample;

    fn km() -> Killmail {
        Killmail::from_archive_line(&sample().to_string()).unwrap()
    }

    #[test]
    fn plugins_run_only_on_what_the_rules_kept() {
        let strict = Ruleset { min_pilots: 50, ..Default::default() };
        let d = decide(&strict, &km(), |_| panic!("a plugin ran on a rejected killmail"));
        assert_eq!(d, Decision::Reject { rule: "min_pilots".into(), reason: None });
        let d = decide(&Ruleset::default(), &km(), |_| PluginVerdict::Reject {
            plugin: "capitals".into(),
            reason: "no capital".into(),
        });
        assert_eq!(d, Decision::Reject { rule: "plugin:capitals".into(), reason: Some("no capital".into()) });
        assert_eq!(decide(&Ruleset::default(), &km(), |_| PluginVerdict::Accept), Decision::Accept { tracked: false });
    }

    #[test]
    fn the_tally_adds_up_to_what_was_received() {
        let mut t = Tally::default();
        t.add(&Decision::Accept { tracked: false }, Outcome::Accepted);
        t.add(&Decision::Accept { tracked: false }, Outcome::Duplicate);
        t.add(&Decision::Reject { rule: "min_pilots".into(), reason: None }, Outcome::Rejected);
        t.malformed(4, "not JSON".into());
        let rejected: u64 = t.rejected.values().sum();
        assert_eq!(t.accepted + t.duplicates + rejected + t.malformed.len() as u64, t.received);
    }
}
