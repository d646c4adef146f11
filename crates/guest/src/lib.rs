//! What every BattleScope component needs and no business logic: reading its variables into a
//! typed config (`config`), answering HTTP with JSON and clear errors, and checking the API
//! token (`http`). Shared the way spin-sdk is shared; the services still share no domain code.

pub mod config;
pub mod http;
pub mod trace;
