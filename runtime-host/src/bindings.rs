//! Generated host bindings, one module per WIT world the host implements or calls.

/// The Spin interfaces spin-sdk 5.2 components import (`wit/deps/`).
pub mod spin {
    wasmtime::component::bindgen!({
        inline: "
            package battlescope:host@0.1.0;

            world spin-capabilities {
                import fermyon:spin/variables@2.0.0;
                import fermyon:spin/key-value@2.0.0;
                import fermyon:spin/redis@2.0.0;
                import spin:postgres/postgres@3.0.0;
            }
        ",
        path: ["../wit/deps/spin@2.0.0", "../wit/deps/spin-postgres@3.0.0"],
        world: "battlescope:host/spin-capabilities",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/key-value.store": crate::capabilities::key_value::StoreHandle,
            "fermyon:spin/redis.connection": crate::capabilities::redis::Connection,
            "spin:postgres/postgres.connection": crate::capabilities::postgres::Connection,
        },
    });
}

/// `battlescope:kafka`: the Kafka trigger's export and the producer import (`wit/kafka/`).
pub mod kafka {
    wasmtime::component::bindgen!({
        path: "../wit/kafka",
        world: "battlescope:kafka/kafka-trigger",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

/// `battlescope:kafka`'s batch export (`batch-handler`); its imports are those of [`kafka`].
pub mod kafka_batch {
    wasmtime::component::bindgen!({
        path: "../wit/kafka",
        world: "battlescope:kafka/kafka-batch-trigger",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "battlescope:kafka/types": super::kafka::battlescope::kafka::types,
            "battlescope:kafka/producer": super::kafka::battlescope::kafka::producer,
        },
    });
}

/// `battlescope:websocket` (`wit/websocket/`): the WebSocket trigger's export and the
/// `connections` and `publisher` imports.
pub mod websocket {
    wasmtime::component::bindgen!({
        path: "../wit/websocket",
        world: "battlescope:websocket/websocket-trigger",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

/// Spin's cron trigger world (`wit/deps/spin-cron@2.0.0/`).
pub mod cron {
    wasmtime::component::bindgen!({
        path: "../wit/deps/spin-cron@2.0.0",
        world: "fermyon:spin-cron/spin-cron",
        exports: { default: async },
    });
}

/// Spin's Redis trigger world (`wit/deps/spin@unversioned/`).
pub mod redis_trigger {
    wasmtime::component::bindgen!({
        path: "../wit/deps/spin@unversioned",
        world: "fermyon:spin/redis-trigger",
        exports: { default: async },
    });
}

/// `battlescope:ruleset-filter` (`wit/ruleset-filter/`): the runner components import, and
/// the filter world the host calls plugins through (sharing the runner's types).
pub mod plugins {
    pub mod runner {
        wasmtime::component::bindgen!({
            path: "../wit/ruleset-filter",
            world: "battlescope:ruleset-filter/plugin-runner",
            imports: { default: async | trappable },
        });
    }

    pub mod filter {
        wasmtime::component::bindgen!({
            path: "../wit/ruleset-filter",
            world: "battlescope:ruleset-filter/ruleset-filter",
            with: { "battlescope:ruleset-filter/types": super::runner::battlescope::ruleset_filter::types },
        });
    }

    pub use runner::battlescope::ruleset_filter::types;
}

pub use self::spin::fermyon::spin::{key_value, redis, variables};
pub use self::spin::spin::postgres::postgres;
