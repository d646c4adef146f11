//! The notification components' settings: their variables in spin.toml (where every default
//! lives). A missing or malformed variable is an error naming it.

use crate::subscriptions::Keys;
use guest::config::{ConfigError, Source, Variables};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Redis holding users, tokens and saved subscriptions.
    pub redis_address: String,
    /// Prefix of every Redis key the service writes.
    pub redis_prefix: String,
    /// Bearer token of the admin endpoints (creating users); empty closes them.
    pub api_token: String,
}

impl Config {
    pub fn load<S: Source>(v: &Variables<S>) -> Result<Self, ConfigError> {
        Ok(Self {
            redis_address: v.required("redis_address")?,
            redis_prefix: v.required("redis_prefix")?,
            api_token: v.text("api_token")?,
        })
    }

    pub fn keys(&self) -> Keys {
        Keys { prefix: self.redis_prefix.clone() }
    }
}
