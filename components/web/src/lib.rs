//! The web UI: its pages and assets are embedded in the component at build time (`build.rs`)
//! and served by `serve`; a battle report's page is drawn on the server too (`render`: its
//! headline and Open Graph tags, a summary of the sides) from the BFF's answer. Both are pure
//! and unit-tested natively; the Wasm glue (`wasm`) moves requests and responses and asks the
//! BFF through Spin's service chaining. In the browser the pages read the BFF
//! (`/api/bff/...`), search and the live WebSocket (docs/web.md).

pub mod render;
pub mod serve;

#[cfg(target_arch = "wasm32")]
mod wasm;
