//! Support for the battle tests: a real day through the whole pipeline, the stored battles
//! next to the battles the pure module computes from the same killmails, and an API client
//! that checks every answer against `openapi/battles.json`.

use crate::app::{App, Options, TOKEN};
use crate::contract::validate_response;
use crate::http::{self, Reply};
use crate::replay::{data, Replay, ReplayData};
use battle::clustering::{Kill, Params};
use battle::enriched::NPC_CHARACTERS;
use battle::sides::Unit;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// Battle id → killmail ids.
pub type Battles = BTreeMap<String, Vec<i64>>;

/// Every killmail of `day` from the replayed R2Z2 feed (with its estimated values) through
/// ingestion and enrichment into battles, settled.
pub async fn run_day(dir: &Path, name: &str, day: &str) -> (App, Replay, Vec<Value>) {
    let (app, replay, killmails) = start_day(dir, name, day).await;
    finish_day(&app, killmails.len()).await;
    (app, replay, killmails)
}

/// The application with the replay of `day` starting to flow into it.
pub async fn start_day(dir: &Path, name: &str, day: &str) -> (App, Replay, Vec<Value>) {
    let killmails = data::load_day(&data::day_file(day)).unwrap();
    let replay = Replay::start(ReplayData::new(killmails.clone()).unwrap(), 0).await.unwrap();
    let options = Options { feed: "r2z2", replay_url: Some(replay.base_url.clone()), ..Options::default() };
    let app = App::start(dir, name, options).await.unwrap();
    (app, replay, killmails)
}

/// Wait until all `killmails` are in the battle service and it has settled.
pub async fn finish_day(app: &App, killmails: usize) {
    app.wait_for_battles("SELECT count(*) FROM battle_kills", killmails as i64, Duration::from_secs(1800)).await;
    settle(app).await;
}

/// The battles clustering owns, as stored.
pub async fn stored_automatic(app: &App) -> Battles {
    let mut out: Battles = BTreeMap::new();
    let rows = app
        .battles_db
        .query(
            "SELECT m.battle_id, m.killmail_id FROM battle_killmails m JOIN battles b USING (battle_id)
             WHERE NOT b.manual ORDER BY m.killmail_id",
            &[],
        )
        .await
        .unwrap();
    for r in rows {
        out.entry(r.get(0)).or_default().push(r.get(1));
    }
    out
}

/// The battles the pure module finds over every stored kill no operator holds, at once.
pub async fn recomputed(app: &App) -> Battles {
    let rows = app
        .battles_db
        .query(
            "SELECT killmail_id, extract(epoch FROM killmail_time)::bigint, solar_system_id, pilots, units FROM battle_kills
             WHERE pinned_battle IS NULL",
            &[],
        )
        .await
        .unwrap();
    let mut c = battle::clustering::on_the_map(Params::default());
    for r in rows {
        let pilots: Vec<i64> = r.get(3);
        let units: Vec<i64> = r.get(4);
        c.add(Kill {
            id: r.get::<_, i64>(0) as u64,
            time: r.get(1),
            system: r.get::<_, i64>(2) as u32,
            pilots: pilots.into_iter().map(|p| p as u64).collect(),
            units: units.into_iter().map(|u| u as u64).collect(),
        });
    }
    c.battles()
        .into_iter()
        .map(|b| (battle::report::battle_id(b.key), b.kill_ids.into_iter().map(|k| k as i64).collect()))
        .collect()
}

/// Panics unless the automatic battles stored equal those recomputed from their killmails.
pub async fn assert_stored_equals_recomputed(app: &App) {
    let stored = stored_automatic(app).await;
    let expected = recomputed(app).await;
    let differ: Vec<_> = expected.iter().filter(|(id, kills)| stored.get(*id) != Some(kills)).take(3).collect();
    let extra: Vec<_> = stored.keys().filter(|id| !expected.contains_key(*id)).take(3).collect();
    assert!(
        differ.is_empty() && extra.is_empty(),
        "{} stored vs {} recomputed; differing {differ:?}; extra {extra:?}",
        stored.len(),
        expected.len()
    );
    assert_rows_follow_killmails(app).await;
}

/// Panics unless every battle's units and participants are those of its killmails as stored
/// now: the battle's write keeps them by difference, so a missed change would stay.
async fn assert_rows_follow_killmails(app: &App) {
    let rows = app
        .battles_db
        .query(
            "WITH units AS (
                SELECT m.battle_id, array_agg(DISTINCT u ORDER BY u) AS units
                FROM battle_killmails m JOIN battle_kills k USING (killmail_id), unnest(k.units) AS u GROUP BY m.battle_id
             ), pilots AS (
                SELECT m.battle_id, array_agg(DISTINCT p ORDER BY p) AS pilots
                FROM battle_killmails m JOIN battle_kills k USING (killmail_id), unnest(k.pilots) AS p GROUP BY m.battle_id
             ), people AS (
                SELECT battle_id, array_agg(character_id ORDER BY character_id) AS pilots FROM battle_participants
                WHERE NOT (character_id >= $1 AND character_id < $2) GROUP BY battle_id
             )
             SELECT b.battle_id, b.units::text, coalesce(u.units, '{}')::text, coalesce(pe.pilots, '{}')::text,
                    coalesce(pi.pilots, '{}')::text
             FROM battles b LEFT JOIN units u USING (battle_id) LEFT JOIN pilots pi USING (battle_id)
             LEFT JOIN people pe USING (battle_id)
             WHERE b.units <> coalesce(u.units, '{}') OR coalesce(pe.pilots, '{}') <> coalesce(pi.pilots, '{}')
             LIMIT 3",
            &[&(NPC_CHARACTERS.start as i64), &(NPC_CHARACTERS.end as i64)],
        )
        .await
        .unwrap();
    let differing: Vec<Vec<String>> = rows.iter().map(|r| (0..5).map(|i| r.get::<_, String>(i)).collect()).collect();
    assert!(
        differing.is_empty(),
        "battles whose units or participants differ from their killmails' [id, units, of kills, pilots, of kills]: {differing:?}"
    );
}

/// Wait until the battle consumer has been idle for a few seconds (its last writes follow the
/// last kill row).
pub async fn settle(app: &App) {
    let mut last = (-1, -1);
    let mut still = 0;
    while still < 4 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = (
            app.battles_db.query_one("SELECT count(*) FROM battle_killmails", &[]).await.unwrap().get::<_, i64>(0),
            app.battles_db
                .query_one("SELECT coalesce(sum(version), 0)::bigint FROM battles", &[])
                .await
                .unwrap()
                .get::<_, i64>(0),
        );
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
}

/// The battles as a consumer of the battle topics knows them: every event published so far,
/// folded by version (a removal drops a battle unless a newer version came). Waits until every
/// change was announced and relayed.
pub async fn folded_events(app: &App) -> BTreeMap<String, Value> {
    app.wait_for_battles(
        "SELECT (count(*) = 0)::int::bigint FROM battles WHERE version > announced_version",
        1,
        Duration::from_secs(60),
    )
    .await;
    app.wait_for_battles("SELECT (count(*) = 0)::int::bigint FROM outbox WHERE published_at IS NULL", 1, Duration::from_secs(60))
        .await;
    let counts = app.battles_db.query("SELECT topic, count(*) FROM outbox GROUP BY topic", &[]).await.unwrap();
    let mut battles: BTreeMap<String, Value> = BTreeMap::new();
    let mut removed: BTreeMap<String, u64> = BTreeMap::new();
    for row in counts {
        let (topic, n): (String, i64) = (row.get(0), row.get(1));
        let records = crate::kafka::read_topic(&topic, n as usize, Duration::from_secs(60)).await;
        assert_eq!(records.len(), n as usize, "{topic}: every queued event reached the topic");
        for r in records {
            let event: Value = serde_json::from_str(&r.payload).unwrap();
            let data = event["data"].clone();
            let (id, version) = (data["battleId"].as_str().unwrap().to_string(), data["version"].as_u64().unwrap());
            if event["eventType"] == "battle.removed" {
                let v = removed.entry(id).or_default();
                *v = (*v).max(version);
            } else if battles.get(&id).is_none_or(|b| b["version"].as_u64().unwrap() < version) {
                battles.insert(id, data);
            }
        }
    }
    battles.retain(|id, b| removed.get(id).is_none_or(|v| *v < b["version"].as_u64().unwrap()));
    battles
}

/// Calls the battle API and checks every answer against its OpenAPI document.
pub struct Api<'a> {
    pub app: &'a App,
}

impl Api<'_> {
    /// `template` is the documented path (`/api/battles/{id}`); `path` the one requested.
    pub async fn call(&self, method: &str, template: &str, path: &str, body: &str, token: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).chain([("content-type", "application/json")]).collect();
        let reply = http::request_with_headers(method, &self.app.host.url(path), body, &headers).await.unwrap();
        if let Err(e) = validate_response("battles", method, template, reply.status, &reply.body) {
            panic!("{path}: {e}");
        }
        reply
    }

    pub async fn get(&self, template: &str, path: &str) -> Reply {
        self.call("GET", template, path, "", None).await
    }

    /// A write with the application's token.
    pub async fn write(&self, method: &str, template: &str, path: &str, body: &str) -> Reply {
        self.call(method, template, path, body, Some(TOKEN)).await
    }

    /// Every battle `query` selects, following the cursor.
    pub async fn all(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
            let r = self.get("/api/battles", &format!("/api/battles?limit=200&{query}{after}")).await;
            assert_eq!(r.status, 200, "{query}: {}", r.body);
            let page = r.json();
            out.extend(page["battles"].as_array().unwrap().iter().cloned());
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
}

/// The `killmail.enriched` events of `killmails` as the pipeline makes them: posted to
/// ingestion, enriched (the app's replay names them), in Kafka order; the battle database is
/// emptied afterwards, for a benchmark to feed them to the battle component again.
pub async fn enriched_events(app: &App, killmails: &[Value]) -> Vec<(String, Vec<u8>)> {
    let total = killmails.len() as i64;
    for chunk in killmails.chunks(500) {
        let lines: Vec<String> = chunk.iter().map(Value::to_string).collect();
        assert_eq!(app.post_killmails(&lines.join("\n")).await.status, 200);
    }
    app.wait_for_enriched("SELECT count(*) FROM enriched_killmails", total, Duration::from_secs(3600)).await;
    app.wait_for_battles("SELECT count(*) FROM battle_kills", total, Duration::from_secs(3600)).await;
    settle(app).await;
    let events = crate::kafka::outbox_messages(&app.enrichment_db).await;
    empty_battles(app).await;
    events
}

/// Empty the battle database, to put the same events through again.
pub async fn empty_battles(app: &App) {
    app.battles_db
        .batch_execute("TRUNCATE battle_kills, battles, battle_killmails, battle_participants, battle_statistics, outbox")
        .await
        .unwrap();
}

/// How long `pure_module_rate` clusters the kills again and again; it reports the fastest pass.
const GAUGE_TIME: Duration = Duration::from_secs(1);

/// The pure clustering module over `kills` (in the order given), in killmails/s, and the
/// battles it formed: the fastest of the passes that fit in `GAUGE_TIME`, so that a pass that
/// shared the CPU with something else does not count (one pass is about 60 ms). The benches
/// print it as their baseline: the core's speed, so that runs from different hours compare.
pub fn pure_module_rate(kills: &[Kill]) -> (f64, usize) {
    let (mut best, mut battles) = (0.0_f64, 0);
    let gauging = Instant::now();
    while gauging.elapsed() < GAUGE_TIME {
        let pass = kills.to_vec();
        let started = Instant::now();
        let mut clusterer = battle::clustering::on_the_map(Params::default());
        for kill in pass {
            clusterer.add(kill);
        }
        battles = clusterer.battles().len();
        best = best.max(kills.len() as f64 / started.elapsed().as_secs_f64());
    }
    (best, battles)
}

/// What clustering reads of each recorded ESI killmail (players only: NPC characters carry
/// no pilot and no unit), straight from the archive, without the pipeline.
pub fn clustering_kills(day: &[Value]) -> Vec<Kill> {
    day.iter()
        .map(|km| {
            let players: Vec<&Value> = std::iter::once(&km["victim"])
                .chain(km["attackers"].as_array().expect("a killmail has attackers"))
                .filter(|p| p["character_id"].as_u64().is_some_and(|c| !NPC_CHARACTERS.contains(&c)))
                .collect();
            let pilots: BTreeSet<u64> = players.iter().filter_map(|p| p["character_id"].as_u64()).collect();
            let units: BTreeSet<u64> = players
                .iter()
                .filter_map(|p| Unit::of(p["alliance_id"].as_u64(), p["corporation_id"].as_u64()))
                .map(|u| match u {
                    Unit::Alliance(a) | Unit::Corporation(a) => a,
                })
                .collect();
            let time = km["killmail_time"].as_str().and_then(battle::enriched::parse_time).expect("killmail_time");
            Kill {
                id: km["killmail_id"].as_u64().expect("killmail_id"),
                time,
                system: km["solar_system_id"].as_u64().expect("solar_system_id") as u32,
                pilots: pilots.into_iter().collect(),
                units: units.into_iter().collect(),
            }
        })
        .collect()
}
