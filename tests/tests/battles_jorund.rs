//! The Jorund fight of 2021-11-28 (system 30001046, 10:21–14:51 UTC) through the whole
//! pipeline: the R2Z2 replay of the whole day → ingestion → enrichment → battles. It must be one
//! battle holding nearly all of the system's kills of those hours, Goonswarm (1354830081) and
//! Init (1900696668) on one side and Horde (99005338) on the other, named as players know them;
//! a WebSocket client subscribed to Goonswarm's channel is pushed the battle as it forms; and
//! search finds it as a player types it (a misspelt alliance, a system's first letters); and a
//! player in a real browser finds it by filtering for Goonswarm, reads its report (named sides,
//! ship groups, the timeline per side), at phone width too, and sees an operator's edit of it
//! pushed to the live page (`tests/browser/flows.mjs`, flow `players`).

use battlescope_tests::app::TOKEN;
use battlescope_tests::battles::{assert_stored_equals_recomputed, finish_day, start_day, Api};
use battlescope_tests::ws::{self, Next};
use battlescope_tests::{browser, eventually, http};
use serde_json::Value;
use std::collections::BTreeSet;

const JORUND: u64 = 30001046;
const FROM: &str = "2021-11-28T10:21:00Z";
const TO: &str = "2021-11-28T14:51:00Z";

fn alliances(side: &Value) -> BTreeSet<u64> {
    side["alliances"].as_array().unwrap().iter().map(|a| a["id"].as_u64().unwrap()).collect()
}

fn alliance_name(side: &Value, id: u64) -> Option<String> {
    side["alliances"].as_array().unwrap().iter().find(|a| a["id"] == id).and_then(|a| a["name"].as_str().map(str::to_string))
}

#[tokio::test]
async fn the_jorund_fight_is_one_battle_through_the_whole_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _replay, killmails) = start_day(dir.path(), "jorund", "2021-11-28").await;
    // A player following Goonswarm live, reading everything pushed while the day flows.
    let mut client = ws::connect(&ws::url(&app.host, "/ws/live"), &[]).await.unwrap();
    assert_eq!(client.subscribe(&["alliance:1354830081"]).await["type"], "subscribed");
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let listener = tokio::spawn(async move {
        let mut pushes = Vec::new();
        while !*stopped.borrow() {
            tokio::select! {
                next = client.next(std::time::Duration::from_secs(1)) => match next {
                    Next::Json(v) => pushes.push(v),
                    Next::Closed(code, reason) => panic!("the live socket closed: {code} {reason}"),
                    Next::Nothing => {}
                },
                _ = stopped.changed() => {}
            }
        }
        pushes
    });
    let day = killmails.len();
    finish_day(&app, day).await;
    assert_stored_equals_recomputed(&app).await;
    let api = Api { app: &app };

    let found = api.all(&format!("system={JORUND}&from={FROM}&to={TO}&minKills=100")).await;
    assert_eq!(found.len(), 1, "one battle in Jorund those hours, not several: {found:?}");
    let id = found[0]["battleId"].as_str().unwrap();
    let reply = api.get("/api/battles/{id}", &format!("/api/battles/{id}")).await;
    let battle = reply.json();
    // An ended battle's report is kept long by caches (an operator's edit changes its ETag).
    let lifetime = if battle["status"] == "ended" { "public, max-age=3600" } else { "public, max-age=5" };
    assert_eq!(reply.header("cache-control"), Some(lifetime), "{}", battle["status"]);
    assert!(reply.header("etag").is_some());
    let (start, end) = (battle["startTime"].as_str().unwrap(), battle["endTime"].as_str().unwrap());
    assert!(start <= FROM && end >= TO, "the battle spans {start}–{end}");

    // At least 95 % of Jorund's kills of those hours are in it.
    let in_period: Vec<i64> = app
        .battles_db
        .query(
            "SELECT killmail_id FROM battle_kills WHERE solar_system_id = $1 AND killmail_time BETWEEN $2::text::timestamptz AND $3::text::timestamptz",
            &[&(JORUND as i64), &FROM, &TO],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let killmails = api.get("/api/battles/{id}/killmails", &format!("/api/battles/{id}/killmails")).await.json();
    let held: BTreeSet<i64> =
        killmails["killmails"].as_array().unwrap().iter().map(|k| k["killmailId"].as_i64().unwrap()).collect();
    let covered = in_period.iter().filter(|k| held.contains(k)).count();
    assert!(in_period.len() > 1000, "the day holds Jorund's kills: {}", in_period.len());
    assert!(
        covered * 100 >= in_period.len() * 95,
        "{covered} of {} Jorund kills of the period are in the battle",
        in_period.len()
    );

    // Sides: Goonswarm and Init together, Horde against them.
    let sides = battle["sides"].as_array().unwrap();
    let side_of = |alliance: u64| sides.iter().position(|s| alliances(s).contains(&alliance));
    let (goons, init, horde) = (side_of(1354830081), side_of(1900696668), side_of(99005338));
    assert!(goons.is_some() && goons == init, "Goonswarm and Init on one side: {sides:?}");
    assert!(horde.is_some() && horde != goons, "Horde on the other: {sides:?}");
    // Named, from enrichment's recorded names.
    let (goons, horde) = (&sides[goons.unwrap()], &sides[horde.unwrap()]);
    assert_eq!(alliance_name(goons, 1354830081).as_deref(), Some("Goonswarm Federation"));
    assert_eq!(alliance_name(goons, 1900696668).as_deref(), Some("The Initiative."));
    assert_eq!(alliance_name(horde, 99005338).as_deref(), Some("Pandemic Horde"));
    assert!(battle["systems"].as_array().unwrap().iter().any(|s| s["name"] == "Jorund"), "{}", battle["systems"]);
    // The live socket: the battle's creation and its updates, with names, and Goonswarm's kills.
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    stop.send(true).unwrap();
    let pushes = listener.await.unwrap();
    let mut about_it: Vec<&Value> = pushes.iter().filter(|p| p["data"]["battleId"] == id).collect();
    // Created and updated travel on their own topics and may overtake each other: a client
    // orders a battle's pushes by version, as this does.
    about_it.sort_by_key(|p| p["data"]["version"].as_u64());
    let kinds: Vec<&str> = about_it.iter().map(|p| p["type"].as_str().unwrap()).collect();
    // The fight starts as a skirmish without Goonswarm in some arrival orders (and batches):
    // then its creation goes to other channels, and Goonswarm's first push is an update.
    assert!(!kinds.iter().skip(1).any(|k| *k == "battle.created"), "created comes first when it comes: {kinds:?}");
    assert!(kinds.iter().filter(|k| **k == "battle.updated").count() >= 3, "the battle is pushed as it grows: {kinds:?}");
    let last = about_it.last().unwrap();
    assert!(last["channel"] == "alliance:1354830081" && last["data"]["kills"].as_u64().unwrap() > 1000, "{last}");
    let named = last["data"]["sides"].as_array().unwrap().iter().flat_map(|s| s["alliances"].as_array().unwrap().iter());
    assert!(named.clone().any(|a| a["name"] == "Pandemic Horde"), "pushed with names");
    assert!(pushes.iter().filter(|p| p["type"] == "killmail").count() > 1000, "Goonswarm's killmails are pushed too");
    // Search: the whole day indexed, then found by name as a player would type it.
    let search = |path: String| {
        let app = &app;
        async move { http::get(&app.host.url(&path)).await.unwrap().json() }
    };
    eventually("the search index holding the day", std::time::Duration::from_secs(300), || async {
        let indexed = search("/api/search/killmails?perPage=1".into()).await["found"].as_u64().unwrap_or(0);
        let biggest = search("/api/search/battles?q=Goonswarm&minKills=1000&sort=kills".into()).await;
        match biggest["battles"][0]["battleId"].as_str() {
            Some(found) if found == id && indexed == day as u64 => Ok(()),
            other => Err(format!("{indexed} of {day} killmails indexed; Goonswarm's biggest battle: {other:?}")),
        }
    })
    .await;
    let typo = search("/api/search/entities?q=Gonswarm&type=alliance".into()).await;
    assert_eq!(typo["entities"][0]["name"], "Goonswarm Federation", "{typo}");
    let grouped = search("/api/search?q=Jor".into()).await;
    assert!(grouped["systems"].as_array().unwrap().iter().any(|s| s["name"] == "Jorund"), "{grouped}");
    assert!(grouped["battles"].as_array().unwrap().iter().any(|b| b["battleId"] == id), "{grouped}");
    // With the day in, every battle quiet for the quiet period has ended: the lifecycle tick
    // drains the backlog a busy day leaves, a bounded slice a tick, while the host is loaded.
    let quiet = battle::clustering::Params::default().quiet_period_secs;
    app.wait_for_battles(
        &format!(
            "SELECT (count(*) = 0)::int::bigint FROM battles WHERE status = 'open'
               AND end_time <= (SELECT max(killmail_time) FROM battle_kills) - make_interval(secs => {quiet})"
        ),
        1,
        std::time::Duration::from_secs(120),
    )
    .await;
    // The same, as a player reads it in a browser (last: it ends with an operator's edit).
    // How far each consumer is behind then says what the live page is up against.
    println!("consumer lag before the browser: {:?}", consumer_lag(&app).await);
    let base = app.host.url("/");
    browser::run("players", &base, "jorund", &[id, TOKEN], std::time::Duration::from_secs(180)).await;
    println!(
        "Jorund: {} kills {start}–{end}, {covered}/{} of the period's kills, {} sides, {} pilots",
        battle["kills"],
        in_period.len(),
        sides.len(),
        battle["pilots"]
    );
    app.stop().await;
}

/// Messages each consumer group has yet to handle, from the host's metrics.
async fn consumer_lag(app: &battlescope_tests::app::App) -> std::collections::BTreeMap<String, f64> {
    let metrics = http::get(&app.host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    let mut lag = std::collections::BTreeMap::new();
    for line in metrics.lines().filter(|l| l.starts_with("kafka_consumer_lag{")) {
        let group = line.split("group=\"").nth(1).and_then(|g| g.split('"').next()).unwrap_or("?");
        let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        *lag.entry(group.to_string()).or_default() += value;
    }
    lag
}
