//! The frontend BFF (`/api/bff/...`, `openapi/bff.json`): each page of the web UI is one read,
//! answered from several services' read APIs called at once through Spin's service chaining
//! (`http://<component>.spin.internal`), so it runs unchanged on Spin. A service that fails
//! leaves its part out and is named in `missing`; the rest is still answered.
//!
//! The pure core: which calls a request makes (`plan`), how their answers become one
//! (`compose`), how long an answer may be cached (`cache`). The Wasm glue (`wasm`) sends the
//! calls and keeps the cache in Redis.

pub mod cache;
pub mod compose;
pub mod config;
pub mod plan;

#[cfg(target_arch = "wasm32")]
mod wasm;
