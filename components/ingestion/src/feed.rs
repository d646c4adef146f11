//! What the zKillboard feeds return, parsed and checked; no I/O here.
//!
//! - R2Z2: `sequence.json` → `{"sequence": N}`; `/{N}.json` → `{killmail_id, hash, esi, zkb,
//!   sequence_id}`, 404 past the newest.
//! - RedisQ (legacy): `{"package": null}` or `{"package": {"killID": N, "zkb": {"hash": …}}}`;
//!   the body then comes from ESI.

use crate::killmail::{Killmail, KillmailError, Source};
use serde_json::Value;

/// zKillboard and CCP ask API users to say who they are.
pub const USER_AGENT: &str =
    "BattleScope/0.1 (battle intelligence; https://github.com/battlescope; contact: ops@battlescope.dev)";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FeedError {
    #[error("{what}: not JSON: {detail}")]
    NotJson { what: String, detail: String },
    #[error("{what}: {detail}")]
    Shape { what: String, detail: String },
    #[error("{what}: {source}")]
    Killmail { what: String, source: KillmailError },
}

fn json(what: &str, body: &[u8]) -> Result<Value, FeedError> {
    serde_json::from_slice(body).map_err(|e| FeedError::NotJson { what: what.into(), detail: e.to_string() })
}

/// The newest sequence R2Z2 has published.
pub fn r2z2_sequence(body: &[u8]) -> Result<i64, FeedError> {
    json("sequence.json", body)?
        .get("sequence")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| FeedError::Shape { what: "sequence.json".into(), detail: "no non-negative integer `sequence`".into() })
}

/// One R2Z2 package, checked against the sequence it was fetched as.
pub fn r2z2_package(sequence: i64, body: &[u8]) -> Result<Killmail, FeedError> {
    let what = format!("R2Z2 sequence {sequence}");
    let mut v = json(&what, body)?;
    let shape = |detail: &str| FeedError::Shape { what: what.clone(), detail: detail.into() };
    let id = v.get("killmail_id").and_then(Value::as_u64).ok_or_else(|| shape("no integer `killmail_id`"))?;
    let hash = v.get("hash").and_then(Value::as_str).ok_or_else(|| shape("no string `hash`"))?.to_string();
    if let Some(seq) = v.get("sequence_id").and_then(Value::as_i64) {
        if seq != sequence {
            return Err(shape(&format!("`sequence_id` is {seq}")));
        }
    }
    let esi = v.get_mut("esi").map(Value::take).filter(Value::is_object).ok_or_else(|| shape("no object `esi`"))?;
    let zkb = v.get_mut("zkb").map(Value::take).filter(Value::is_object);
    let mut km = Killmail::from_esi(esi, Some(&hash), zkb, Source::R2z2)
        .map_err(|source| FeedError::Killmail { what: what.clone(), source })?;
    if km.id != id {
        return Err(FeedError::Killmail { what, source: KillmailError::IdMismatch { envelope: id, body: km.id } });
    }
    km.sequence = Some(sequence);
    Ok(km)
}

/// What one RedisQ poll returned.
#[derive(Debug, Clone, PartialEq)]
pub enum RedisqPackage {
    /// Nothing new within `ttw` seconds.
    Empty,
    /// A killmail to fetch from ESI.
    Reference { killmail_id: u64, hash: String, zkb: Value },
}

pub fn redisq_package(body: &[u8]) -> Result<RedisqPackage, FeedError> {
    let what = "RedisQ package";
    let v = json(what, body)?;
    let shape = |detail: &str| FeedError::Shape { what: what.into(), detail: detail.into() };
    let package = v.get("package").ok_or_else(|| shape("no `package` key"))?;
    if package.is_null() {
        return Ok(RedisqPackage::Empty);
    }
    let killmail_id = package.get("killID").and_then(Value::as_u64).ok_or_else(|| shape("no integer `killID`"))?;
    let zkb = package.get("zkb").filter(|z| z.is_object()).cloned().ok_or_else(|| shape("no object `zkb`"))?;
    let hash = zkb.get("hash").and_then(Value::as_str).ok_or_else(|| shape("no string `zkb.hash`"))?.to_string();
    Ok(RedisqPackage::Reference { killmail_id, hash, zkb })
}

/// An ESI killmail body fetched for a RedisQ reference.
pub fn esi_killmail(killmail_id: u64, hash: &str, zkb: Value, body: &[u8]) -> Result<Killmail, FeedError> {
    let what = format!("ESI killmail {killmail_id}");
    let esi = json(&what, body)?;
    let km = Killmail::from_esi(esi, Some(hash), Some(zkb), Source::Redisq)
        .map_err(|source| FeedError::Killmail { what: what.clone(), source })?;
    if km.id != killmail_id {
        return Err(FeedError::Killmail { what, source: KillmailError::IdMismatch { envelope: killmail_id, body: km.id } });
    }
    Ok(km)
}

/// What the poller does after fetching R2Z2 sequence `s`.
#[derive(Debug, Clone, PartialEq)]
pub enum R2z2Step {
    /// A killmail to decide on; the position moves to `s`.
    Process,
    /// `s` is gone although newer ones exist: count a gap and move past it.
    Gap,
    /// Nothing past the position yet: wait for the next tick.
    CaughtUp,
    /// A transient failure: try `s` again later.
    Retry(String),
}

/// Decide from the HTTP status of `/{s}.json` and, on 404, the newest published sequence.
pub fn r2z2_step(sequence: i64, status: u16, newest: Option<i64>) -> R2z2Step {
    match status {
        200 => R2z2Step::Process,
        404 => match newest {
            Some(newest) if newest > sequence => R2z2Step::Gap,
            _ => R2z2Step::CaughtUp,
        },
        429 => R2z2Step::Retry(format!("sequence {sequence}: throttled (429)")),
        s => R2z2Step::Retry(format!("sequence {sequence}: HTTP {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::killmail::tests::sample;
    use serde_json::json;

    fn package(seq: i64) -> Vec<u8> {
        json!({"killmail_id": 97030352, "hash": "1656a079a32d83cee42ed32d26bd31ebf97aa8ab", "esi": sample(), "zkb": {"totalValue": 1.0}, "sequence_id": seq})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn r2z2_packages_parse_and_are_checked() {
        let km = r2z2_package(7, &package(7)).unwrap();
        assert_eq!((km.id, km.sequence, km.source), (97030352, Some(7), Source::R2z2));
        assert!(r2z2_package(8, &package(7)).unwrap_err().to_string().contains("sequence_id"));
        assert!(r2z2_package(7, b"<html>").unwrap_err().to_string().starts_with("R2Z2 sequence 7: not JSON"));
        let mut other = sample();
        other["killmail_id"] = json!(5);
        let body = json!({"killmail_id": 97030352, "hash": "1656a079a32d83cee42ed32d26bd31ebf97aa8ab", "esi": other}).to_string();
        assert!(r2z2_package(1, body.as_bytes()).unwrap_err().to_string().contains("body is killmail 5"));
    }

    #[test]
    fn sequence_json() {
        assert_eq!(r2z2_sequence(br#"{"sequence": 96}"#), Ok(96));
        assert!(r2z2_sequence(br#"{"seq": 96}"#).is_err());
    }

    #[test]
    fn redisq_packages() {
        assert_eq!(redisq_package(br#"{"package":null}"#), Ok(RedisqPackage::Empty));
        let p = redisq_package(br#"{"package":{"killID":5,"zkb":{"hash":"abc","totalValue":3}}}"#).unwrap();
        assert!(matches!(p, RedisqPackage::Reference { killmail_id: 5, ref hash, .. } if hash == "abc"));
        assert!(redisq_package(br#"{"package":{"killID":5}}"#).unwrap_err().to_string().contains("zkb"));
    }

    #[test]
    fn r2z2_steps() {
        assert_eq!(r2z2_step(5, 200, None), R2z2Step::Process);
        assert_eq!(r2z2_step(5, 404, Some(5)), R2z2Step::CaughtUp);
        assert_eq!(r2z2_step(5, 404, Some(9)), R2z2Step::Gap);
        assert!(matches!(r2z2_step(5, 429, None), R2z2Step::Retry(_)));
        assert!(matches!(r2z2_step(5, 503, None), R2z2Step::Retry(_)));
    }
}
