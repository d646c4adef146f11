//! Many Redis keys in one round trip: read (`get_all`) or set (`set_all`).
//!
//! Spin's Redis interface sends one command per call and has no pipeline. A batch that sets a
//! key per item (enrichment caching thousands of names, notifications marking each event
//! pushed) paid a round trip per key: 43,706 `SET`s in one `bench-pipeline` run, more than half
//! of all the commands Redis served (issue #11). `set_all` sends a batch's keys as one script.

use spin_sdk::redis::{Connection, Error, RedisParameter, RedisResult};

/// Keys one script sets at most: a batch's script stays a bounded request.
const KEYS_PER_SCRIPT: usize = 1000;

/// Sets every key of `KEYS` to the value at the same position in `ARGV` (after the TTL, which
/// is `ARGV[1]`), expiring in that many seconds: `SET key value EX ttl` for each.
const SET_ALL: &str = "local ttl = ARGV[1]
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i + 1], 'EX', ttl) end
return #KEYS";

/// Each key's value (`MGET`), in the keys' order; `None` where a key has none.
pub fn get_all(redis: &Connection, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<RedisParameter> = keys.iter().map(|k| RedisParameter::Binary(k.clone().into_bytes())).collect();
    let values = redis.execute("MGET", &keys)?;
    Ok(values.into_iter().map(|v| if let RedisResult::Binary(b) = v { Some(b) } else { None }).collect())
}

/// `SET key value EX ttl_seconds` for every entry, a script per thousand entries.
///
/// The keys of one script must be on one Redis server (a single server, as BattleScope runs
/// it, or one hash slot of a cluster).
pub fn set_all(redis: &Connection, entries: &[(String, Vec<u8>)], ttl_seconds: i64) -> Result<(), Error> {
    for chunk in entries.chunks(KEYS_PER_SCRIPT) {
        redis.execute("EVAL", &set_all_arguments(chunk, ttl_seconds))?;
    }
    Ok(())
}

/// `EVAL`'s arguments: the script, the number of keys, the keys, the TTL, the values.
fn set_all_arguments(entries: &[(String, Vec<u8>)], ttl_seconds: i64) -> Vec<RedisParameter> {
    let mut args = Vec::with_capacity(3 + 2 * entries.len());
    args.push(RedisParameter::Binary(SET_ALL.as_bytes().to_vec()));
    args.push(RedisParameter::Int64(entries.len() as i64));
    args.extend(entries.iter().map(|(key, _)| RedisParameter::Binary(key.clone().into_bytes())));
    args.push(RedisParameter::Int64(ttl_seconds));
    args.extend(entries.iter().map(|(_, value)| RedisParameter::Binary(value.clone())));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: &RedisParameter) -> String {
        match p {
            RedisParameter::Binary(b) => String::from_utf8(b.clone()).unwrap(),
            RedisParameter::Int64(i) => i.to_string(),
        }
    }

    #[test]
    fn keys_come_first_then_the_ttl_then_each_keys_value_in_the_same_order() {
        let entries = [("a".to_string(), b"1".to_vec()), ("b".to_string(), b"2".to_vec())];
        let args: Vec<String> = set_all_arguments(&entries, 60).iter().map(text).collect();
        assert_eq!(args[0], SET_ALL);
        assert_eq!(args[1..], ["2", "a", "b", "60", "1", "2"]);
    }
}
