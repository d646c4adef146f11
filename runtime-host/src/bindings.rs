//! Host-side bindings for the Spin interfaces that spin-sdk 5.2 components import. The WIT lives
//! in `wit/deps/`; the resources map onto the capability modules' own types.

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

pub use fermyon::spin::{key_value, redis, variables};
pub use spin::postgres::postgres;
