//! A local stand-in for zKillboard (R2Z2, RedisQ) and ESI that serves real recorded
//! killmails, with faults injected on request. Tests run it in-process; `replay-server` runs
//! it alone for offline demos (`make run REPLAY=1`).
//!
//! Routes (as the real services lay them out):
//! - `GET /ephemeral/sequence.json`, `GET /ephemeral/{n}.json` (R2Z2; sequence n is the n-th
//!   killmail, 404 past the newest and below the oldest kept);
//! - `GET /listen.php?queueID=Q&ttw=T` → 302 → `/object.php?queueID=Q&objectID=N` (RedisQ);
//! - `GET /latest/killmails/{id}/{hash}/` (ESI; 422 for a wrong hash, as ESI answers);
//! - control: `POST /_replay/faults` (a [`faults::Fault`] as JSON), `POST /_replay/window`
//!   (`{"oldest": n, "newest": n}`), `GET /_replay/requests`.

pub mod data;
pub mod faults;
mod server;

pub use data::ReplayData;
pub use faults::{Fault, Route};
pub use server::{Replay, RequestCounts};
