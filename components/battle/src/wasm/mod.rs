//! Wasm glue: the Kafka handler that keeps battles up to date as enriched killmails arrive,
//! the HTTP API, and the battle database through Spin's Postgres interface.

mod handler;
mod http;
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
