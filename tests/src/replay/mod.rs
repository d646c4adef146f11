//! A local stand-in for zKillboard (R2Z2, RedisQ) and ESI that serves real recorded
//! killmails, with faults injected on request. Tests run it in-process; `replay-server` runs
//! it alone for offline demos (`make run REPLAY=1`).
//!
//! Routes (as the real services lay them out):
//! - `GET /ephemeral/sequence.json`, `GET /ephemeral/{n}.json` (R2Z2; sequence n is the n-th
//!   killmail, 404 past the newest and below the oldest kept);
//! - `GET /listen.php?queueID=Q&ttw=T` → 302 → `/object.php?queueID=Q&objectID=N` (RedisQ);
//! - `GET /latest/killmails/{id}/{hash}/` (ESI; 422 for a wrong hash, as ESI answers; ETag,
//!   Expires and 304 for `If-None-Match`), `POST /latest/universe/names/` (real alliance and
//!   corporation names, synthetic ones marked for everything else on the killmails, 404 for
//!   the whole call when an id is unknown), ESI's error-limit headers and 420 once spent;
//! - control: `POST /_replay/faults` (a [`faults::Fault`] as JSON), `POST /_replay/window`
//!   (`{"oldest": n, "newest": n}`), `GET /_replay/requests`.

pub mod data;
mod esi;
pub mod faults;
mod server;

pub use data::ReplayData;
pub use faults::{Fault, Route};
pub use server::{Replay, RequestCounts};
