//! Wasm glue: the HTTP API, the cron-driven feed pollers and database access through the
//! Spin capabilities. Decisions are made by the pure modules of the crate.

mod fetch;
mod http;
mod plugins;
mod poll;
mod store;

use crate::config::{Config, Feed};
use crate::intake::{self, Outcome};
use crate::killmail::Killmail;
use store::Store;

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:ingestion;

        world ingestion {
            import battlescope:ruleset-filter/runner@0.1.0;
            use fermyon:spin-cron/cron-types@2.0.0.{metadata, error};
            export handle-cron-event: func(metadata: metadata) -> result<_, error>;
        }
    ",
    path: ["../../wit/deps/spin-cron@2.0.0", "../../wit/ruleset-filter"],
    world: "battlescope:ingestion/ingestion",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

struct Cron;
export!(Cron);

impl Guest for Cron {
    /// One poll of the configured feed (`feed` variable: r2z2, redisq or off).
    fn handle_cron_event(_: fermyon::spin_cron::cron_types::Metadata) -> Result<(), fermyon::spin_cron::cron_types::Error> {
        let run = || -> Result<(), String> {
            let config = config()?;
            match config.feed {
                Feed::R2z2 => poll::Tick::start(config)?.r2z2(),
                Feed::Redisq => poll::Tick::start(config)?.redisq(),
                Feed::Off => Ok(()),
            }
        };
        run().map_err(fermyon::spin_cron::cron_types::Error::Other)
    }
}

/// The component's settings from its variables.
pub(crate) fn config() -> Result<Config, String> {
    Config::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())
}

/// The one path every killmail takes, whatever the feed: rules, plugins, then the decision
/// stored (and, if accepted, the killmail and its event) in one statement.
pub(crate) fn process(
    store: &Store,
    km: &Killmail,
    feed_position: Option<(&str, i64)>,
) -> Result<(intake::Decision, Outcome), String> {
    let (_, ruleset) = store.ruleset()?;
    let decision = intake::decide(&ruleset, km, |km| plugins::run(store, km));
    let outcome = store.record(km, &decision, feed_position)?;
    Ok((decision, outcome))
}
