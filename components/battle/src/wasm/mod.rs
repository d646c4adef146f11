//! Wasm glue: the Kafka handler that keeps battles up to date as enriched killmails arrive
//! (`handler`), the cron job that ends quiet battles and announces coalesced changes (`cron`),
//! the HTTP API (`http`, reads in `queries`), and the engine's store over Spin's Postgres
//! interface (`store`, writes in `rows`).

mod cron;
mod handler;
mod http;
mod queries;
mod rows;
mod store;

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:battle;

        world battle {
            export battlescope:kafka/incoming-handler@0.1.0;
            use fermyon:spin-cron/cron-types@2.0.0.{metadata, error};
            export handle-cron-event: func(metadata: metadata) -> result<_, error>;
        }
    ",
    path: ["../../wit/kafka", "../../wit/deps/spin-cron@2.0.0"],
    world: "battlescope:battle/battle",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

struct Battles;
export!(Battles);

/// The component's settings from its variables.
fn config() -> Result<crate::config::Config, String> {
    crate::config::Config::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())
}

/// What the engine needs besides the store, now.
fn context(config: &crate::config::Config) -> crate::engine::Context {
    crate::engine::Context {
        params: crate::clustering::Params::default(),
        topics: config.topics(),
        now_ms: chrono::Utc::now().timestamp_millis(),
    }
}
