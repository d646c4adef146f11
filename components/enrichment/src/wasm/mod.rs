//! Wasm glue: the Kafka handler, the HTTP API, the cron job that retries unresolved names,
//! and access to ESI, Redis and the enrichment database through the Spin capabilities.

mod counters;
mod cron;
mod esi;
mod handler;
mod http;
mod resolve;
mod store;

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:enrichment;

        world enrichment {
            export battlescope:kafka/incoming-handler@0.1.0;
            use fermyon:spin-cron/cron-types@2.0.0.{metadata, error};
            export handle-cron-event: func(metadata: metadata) -> result<_, error>;
        }
    ",
    path: ["../../wit/kafka", "../../wit/deps/spin-cron@2.0.0"],
    world: "battlescope:enrichment/enrichment",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

struct Enrichment;
export!(Enrichment);

/// The component's settings from its variables.
fn config() -> Result<crate::config::Config, String> {
    crate::config::Config::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
