//! Names through two cache levels: Redis for hot entries (with a TTL), the `esi_cache` table
//! for everything ever resolved, then ESI in batches of at most 1,000 ids. ESI answers 404 to
//! the whole batch when one id is invalid; such a batch is split until the invalid ids are
//! isolated. What cannot be named now is left unresolved (and retried later), never waited on.

use super::esi::{Esi, EsiError};
use super::store::Store;
use crate::names::{self, Name, Names};
use std::collections::BTreeSet;

fn hot_key(esi: &Esi, id: u64) -> String {
    format!("{}name:{id}", esi.prefix())
}

fn from_redis(esi: &mut Esi, ids: &BTreeSet<u64>) -> Names {
    let keys: Vec<String> = ids.iter().map(|id| hot_key(esi, *id)).collect();
    let Some(redis) = esi.redis() else { return Names::new() };
    let values = match guest::redis::get_all(redis, &keys) {
        Ok(values) => values,
        Err(e) => {
            esi.redis_call_failed("reading cached names", &e);
            return Names::new();
        }
    };
    ids.iter().zip(values).filter_map(|(id, v)| serde_json::from_slice::<Name>(&v?).ok().map(|n| (*id, n))).collect()
}

fn to_redis(esi: &Esi, names: &Names) {
    let Some(redis) = esi.redis() else { return };
    let entries: Vec<(String, Vec<u8>)> =
        names.iter().map(|(id, name)| (hot_key(esi, *id), serde_json::to_vec(name).expect("a name serialises"))).collect();
    if let Err(e) = guest::redis::set_all(redis, &entries, esi.name_cache_ttl_seconds) {
        esi.redis_call_failed("caching names", &e);
    }
}

/// Names for `ids`, from wherever they are known. Ids that are known to be unnamable for now
/// are not asked for again until their retry time (`force` asks anyway: the cron job).
pub fn resolve(esi: &mut Esi, store: &Store, ids: &BTreeSet<u64>, force: bool) -> Result<Names, String> {
    let mut found = from_redis(esi, ids);
    esi.counters.add("name_hits_redis", found.len() as i64);
    let missing: BTreeSet<u64> = ids.iter().copied().filter(|id| !found.contains_key(id)).collect();
    let from_db = store.names(&missing)?;
    esi.counters.add("name_hits_database", from_db.len() as i64);
    to_redis(esi, &from_db);
    found.extend(from_db);
    let mut missing: BTreeSet<u64> = missing.into_iter().filter(|id| !found.contains_key(id)).collect();
    if !force {
        let waiting = store.waiting(&missing)?;
        missing.retain(|id| !waiting.contains(id));
    }
    if missing.is_empty() {
        return Ok(found);
    }
    esi.counters.add("name_misses", missing.len() as i64);
    let mut invalid = BTreeSet::new();
    let mut unavailable: Option<String> = None;
    for batch in names::batches(&missing) {
        if unavailable.is_some() {
            break;
        }
        match ask(esi, &batch, &mut invalid) {
            Ok(names) => {
                store.remember(&names)?;
                to_redis(esi, &names);
                found.extend(names);
            }
            Err(why) => unavailable = Some(why),
        }
    }
    store.not_resolved(&invalid, true, "ESI: not a valid id")?;
    if let Some(why) = &unavailable {
        let left: BTreeSet<u64> = missing.iter().copied().filter(|id| !found.contains_key(id) && !invalid.contains(id)).collect();
        esi.counters.add("names_deferred", left.len() as i64);
        store.not_resolved(&left, false, why)?;
    }
    Ok(found)
}

/// One batch; a 404 (an invalid id in it) splits it in halves until the bad ids stand alone.
fn ask(esi: &mut Esi, batch: &[u64], invalid: &mut BTreeSet<u64>) -> Result<Names, String> {
    let response = match esi.names(batch) {
        Ok(r) => r,
        Err(EsiError::Unavailable(why)) => return Err(why),
        Err(EsiError::Refused(status, body)) => return Err(format!("HTTP {status}: {body}")),
    };
    match *response.status() {
        200 => names::parse_response(response.body()),
        404 if batch.len() == 1 => {
            invalid.insert(batch[0]);
            Ok(Names::new())
        }
        404 => {
            let (left, right) = batch.split_at(batch.len() / 2);
            let mut names = ask(esi, left, invalid)?;
            names.extend(ask(esi, right, invalid)?);
            Ok(names)
        }
        s => Err(format!("/universe/names/: HTTP {s}: {}", String::from_utf8_lossy(response.body()))),
    }
}
