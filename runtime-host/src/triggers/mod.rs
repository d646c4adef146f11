//! Triggers: how events reach components. One module per trigger type.

pub mod http;
