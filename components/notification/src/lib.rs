//! The notification bounded context's pure core, shared by its two components: the worker
//! (`worker/`: Kafka events in, WebSocket pushes out, the WebSocket protocol) and the API
//! (`api/`: saved subscriptions over HTTP, a component Spin can run).
//!
//! - `channels`: channel names as zKillboard names them, and which channels an event goes to;
//! - `protocol`: what clients send and what they are answered;
//! - `pushes`: the `data` pushed for each event;
//! - `subscriptions`: users, their tokens and saved subscriptions, as stored in Redis;
//! - `config`: the components' settings.

pub mod channels;
pub mod config;
pub mod protocol;
pub mod pushes;
pub mod subscriptions;
