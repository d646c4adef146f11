//! The notification worker: `battle.*` and `killmail.enriched` from Kafka are pushed to the
//! WebSocket channels they concern, and clients' requests on the WebSocket are answered. The
//! logic is the `notification` crate's; this is the glue.

#![cfg(target_arch = "wasm32")]

mod events;
mod socket;

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:notification;

        world worker {
            import battlescope:websocket/connections@0.1.0;
            import battlescope:websocket/publisher@0.1.0;
            export battlescope:kafka/batch-handler@0.1.0;
            export battlescope:websocket/handler@0.1.0;
        }
    ",
    path: ["../../../wit/kafka", "../../../wit/websocket"],
    world: "battlescope:notification/worker",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

struct Worker;
export!(Worker);

fn config() -> Result<notification::config::Config, String> {
    notification::config::Config::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())
}
