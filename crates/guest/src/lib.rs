//! What every BattleScope component needs and no business logic: reading its variables into a
//! typed config (`config`), answering HTTP with JSON and clear errors, and checking the API
//! token (`http`), sending a batch's large values to Postgres (`bulk`), reading or setting a
//! batch's Redis keys in one round trip (`redis`). Shared the way spin-sdk is shared; the
//! services still share no domain code.

pub mod bulk;
pub mod config;
pub mod http;
pub mod redis;
pub mod trace;
