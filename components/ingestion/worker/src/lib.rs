//! The ingestion worker: the cron-driven feed pollers (`poll`, paced by `fetch`) and backfill
//! intake (`backfill`), every killmail through the ruleset and the ruleset-filter plugins
//! (`plugins`). It needs the BattleScope host (cron trigger, plugin runner); the ingestion API
//! is the part that runs on Spin. Decisions are made by the pure modules of `ingestion`.

// Only a component: native builds (the workspace's unit tests) compile it empty.
#![cfg(target_arch = "wasm32")]

mod backfill;
mod fetch;
mod plugins;
mod poll;

use ingestion::config::{Feed, FeedConfig};
use ingestion::intake::{self, Outcome};
use ingestion::killmail::Killmail;
use ingestion::wasm::config;
use ingestion::wasm::store::Store;

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:ingestion-worker;

        world ingestion-worker {
            import battlescope:ruleset-filter/runner@0.1.0;
            use fermyon:spin-cron/cron-types@2.0.0.{metadata, error};
            export handle-cron-event: func(metadata: metadata) -> result<_, error>;
        }
    ",
    path: ["../../../wit/deps/spin-cron@2.0.0", "../../../wit/ruleset-filter"],
    world: "battlescope:ingestion-worker/ingestion-worker",
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
            let feeds = FeedConfig::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())?;
            match feeds.feed {
                Feed::R2z2 => poll::Tick::start(&config, feeds)?.r2z2(),
                Feed::Redisq => poll::Tick::start(&config, feeds)?.redisq(),
                Feed::Off => Ok(()),
            }
        };
        run().map_err(fermyon::spin_cron::cron_types::Error::Other)
    }
}

/// The one path every killmail takes, whatever the feed: rules, plugins, then the decisions
/// stored (and the accepted killmails and their events) in one statement, with the feed's new
/// position when there is one. The ruleset is read once for all of them.
fn process(
    store: &Store,
    killmails: &[Killmail],
    feed_position: Option<(&str, i64)>,
) -> Result<Vec<(intake::Decision, Outcome)>, String> {
    let (_, ruleset) = store.ruleset()?;
    let decisions: Vec<intake::Decision> =
        killmails.iter().map(|km| intake::decide(&ruleset, km, |km| plugins::run(store, km))).collect();
    let decided: Vec<_> = killmails.iter().zip(&decisions).collect();
    let outcomes = store.record_all(&decided, feed_position)?;
    Ok(decisions.into_iter().zip(outcomes).collect())
}
