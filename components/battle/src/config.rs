//! The battle service's settings: its component variables in spin.toml (where every default
//! lives). A missing or malformed variable is an error naming it.

use guest::config::{ConfigError, Source, Variables};

/// Everything the battle service reads from its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The battle database (injected by the host from the component's declared database).
    pub database_url: String,
    /// Topic of `battle.created`.
    pub battle_created_topic: String,
    /// Topic of `battle.updated`.
    pub battle_updated_topic: String,
    /// Topic of `battle.ended`.
    pub battle_ended_topic: String,
    /// Topic of `battle.removed`.
    pub battle_removed_topic: String,
    /// Bearer token of operators' edits; empty closes them.
    pub api_token: String,
}

impl Config {
    pub fn load<S: Source>(v: &Variables<S>) -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: v.required("database_url")?,
            battle_created_topic: v.required("battle_created_topic")?,
            battle_updated_topic: v.required("battle_updated_topic")?,
            battle_ended_topic: v.required("battle_ended_topic")?,
            battle_removed_topic: v.required("battle_removed_topic")?,
            api_token: v.text("api_token")?,
        })
    }
}

impl Config {
    /// Where each battle event goes.
    pub fn topics(&self) -> crate::engine::Topics {
        crate::engine::Topics {
            created: self.battle_created_topic.clone(),
            updated: self.battle_updated_topic.clone(),
            ended: self.battle_ended_topic.clone(),
            removed: self.battle_removed_topic.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_missing_topic_is_named() {
        let v = Variables(BTreeMap::from([
            ("database_url", "postgres://db"),
            ("battle_created_topic", "battle.created"),
            ("api_token", ""),
        ]));
        assert!(Config::load(&v).unwrap_err().to_string().contains("`battle_updated_topic`"));
    }
}
