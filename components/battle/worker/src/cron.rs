//! The lifecycle tick: battles quiet for the quiet period (game time) end with `battle.ended`,
//! and changes that waited for a coalesced announcement get their `battle.updated`.

use super::fermyon::spin_cron::cron_types::{Error as CronError, Metadata};
use super::{Battles, Guest};
use battle::engine::lifecycle;
use battle::wasm::store::Store;
use battle::wasm::{config, context};

impl Guest for Battles {
    fn handle_cron_event(_: Metadata) -> Result<(), CronError> {
        let config = config().map_err(CronError::Other)?;
        let mut store = Store::open(&config).map_err(|e| CronError::Other(e.to_string()))?;
        lifecycle::tick(&mut store, &context(&config)).map(drop).map_err(|e| CronError::Other(e.to_string()))
    }
}
