//! Wasm glue: the Kafka handler that keeps battles up to date as enriched killmails arrive
//! (`handler`, `recluster`), operators' edits (`manual`), the HTTP API (`http`), and the
//! battle database through Spin's Postgres interface (`store`, `queries`, `rows`).

mod handler;
mod http;
mod manual;
mod queries;
mod recluster;
mod rows;
mod store;

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:battle;

        world battle {
            export battlescope:kafka/incoming-handler@0.1.0;
        }
    ",
    path: ["../../wit/kafka"],
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
