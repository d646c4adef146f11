//! Triggers: how events reach components. One module per trigger type.

pub mod cron;
pub mod http;
pub mod kafka;
pub mod redis;
