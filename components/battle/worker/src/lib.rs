//! The battle worker: the Kafka handler that keeps battles up to date as enriched killmails
//! arrive (`handler`) and the cron job that ends quiet battles and announces coalesced changes
//! (`cron`). It needs the BattleScope host (Kafka and cron triggers); the battle API is the
//! part that runs on Spin.

// Only a component: native builds (the workspace's unit tests) compile it empty.
#![cfg(target_arch = "wasm32")]

mod cron;
mod handler;

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:battle-worker;

        world battle-worker {
            export battlescope:kafka/batch-handler@0.1.0;
            use fermyon:spin-cron/cron-types@2.0.0.{metadata, error};
            export handle-cron-event: func(metadata: metadata) -> result<_, error>;
        }
    ",
    path: ["../../../wit/kafka", "../../../wit/deps/spin-cron@2.0.0"],
    world: "battlescope:battle-worker/battle-worker",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

struct Battles;
export!(Battles);
