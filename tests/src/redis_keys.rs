//! Deleting test deployments' Redis keys. Every key a deployment writes starts with its
//! `deployment` variable and a colon (name caches that live a day, marks of pushed
//! notifications, leases); a day of test runs and benchmarks left 870,000 of them on the dev
//! Redis, which keeps them all in memory.

/// Delete, as well as it can (a Redis that is down keeps them), every key on `url` that
/// matches the glob `pattern` and whose deployment (the part before the first colon) `doomed`
/// picks.
pub async fn delete_keys(url: &str, pattern: &str, doomed: impl Fn(&str) -> bool) {
    let Ok(client) = redis::Client::open(url) else { return };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return };
    let mut cursor: u64 = 0;
    loop {
        let page: redis::RedisResult<(u64, Vec<String>)> =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(1000).query_async(&mut conn).await;
        let Ok((next, keys)) = page else { return };
        let keys: Vec<&String> =
            keys.iter().filter(|key| key.split_once(':').is_some_and(|(deployment, _)| doomed(deployment))).collect();
        if !keys.is_empty() {
            let _: redis::RedisResult<u64> = redis::cmd("UNLINK").arg(&keys).query_async(&mut conn).await;
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_picked_deployments_keys_go() {
        let client = redis::Client::open(crate::redis_url()).expect("Redis URL");
        let mut conn = client.get_multiplexed_async_connection().await.expect("the stack's Redis");
        let doomed = crate::unique_prefix("redis_doomed").trim_end_matches('_').to_string();
        let kept = crate::unique_prefix("redis_kept").trim_end_matches('_').to_string();
        // More keys than one SCAN page, so the walk has to follow the cursor.
        let mut set = redis::cmd("MSET");
        for n in 0..2_500 {
            set.arg(format!("{doomed}:name:{n}")).arg("x");
        }
        let _: () = set.query_async(&mut conn).await.unwrap();
        let _: () = redis::cmd("SET").arg(format!("{kept}:name:1")).arg("x").query_async(&mut conn).await.unwrap();
        delete_keys(&crate::redis_url(), "t[0-9]*:*", |owner| owner == doomed).await;
        let count = |pattern: String| {
            let mut conn = conn.clone();
            async move { redis::cmd("KEYS").arg(pattern).query_async::<Vec<String>>(&mut conn).await.unwrap().len() }
        };
        assert_eq!(count(format!("{doomed}:*")).await, 0, "the doomed deployment's keys are gone");
        assert_eq!(count(format!("{kept}:*")).await, 1, "another deployment's key stays");
        let _: u64 = redis::cmd("DEL").arg(format!("{kept}:name:1")).query_async(&mut conn).await.unwrap();
    }
}
