//! The enrichment worker: `killmail.ingested` in, `killmail.enriched` out (`handler`), and the
//! cron job that asks ESI again for names it could not give (`cron`). It needs the BattleScope
//! host (Kafka and cron triggers); the enrichment API is the part that runs on Spin.

// Only a component: native builds (the workspace's unit tests) compile it empty.
#![cfg(target_arch = "wasm32")]

mod cron;
mod handler;

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:enrichment-worker;

        world enrichment-worker {
            export battlescope:kafka/batch-handler@0.1.0;
            use fermyon:spin-cron/cron-types@2.0.0.{metadata, error};
            export handle-cron-event: func(metadata: metadata) -> result<_, error>;
        }
    ",
    path: ["../../../wit/kafka", "../../../wit/deps/spin-cron@2.0.0"],
    world: "battlescope:enrichment-worker/enrichment-worker",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

struct Enrichment;
export!(Enrichment);
