//! The web UI: its pages and assets are embedded in the component at build time (`build.rs`)
//! and served by `serve`, a pure function unit-tested natively; the Wasm glue (`wasm`) only
//! moves requests and responses. The pages read the BFF (`/api/bff/...`), search and the live
//! WebSocket from the browser (docs/web.md).

pub mod serve;

#[cfg(target_arch = "wasm32")]
mod wasm;
