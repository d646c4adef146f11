//! The WebSocket trigger and the notification service, with real clients: channels and the
//! protocol, saved subscriptions through the API, fan-out across two hosts, resume after a
//! reconnect (and the gap when history was trimmed), a client that never reads, SIGKILL of a
//! host, and every bad input answered as documented. Events are appended to the deployment's
//! stream as any replica's publisher would; the pipeline's own pushes are in
//! `battles_jorund.rs`.

use battlescope_tests::app::{App, Options, TOKEN};
use battlescope_tests::contract::validate_response;
use battlescope_tests::http;
use battlescope_tests::ws::{self, Next};
use serde_json::{json, Value};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);
const X: &str = "battle:00000000-0000-4000-8000-0000000000aa";
const Y: &str = "battle:00000000-0000-4000-8000-0000000000bb";

async fn app(dir: &std::path::Path, name: &str) -> App {
    App::start(dir, name, Options { websocket_origins: "http://allowed.example", ..Options::default() }).await.unwrap()
}

fn battle(id: &str, kills: u64) -> Value {
    json!({"battleId": id, "kills": kills, "sides": []})
}

/// A notification API call, checked against `openapi/notifications.json`.
async fn api(app: &App, method: &str, template: &str, path: &str, body: &str, token: Option<&str>) -> http::Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let r = http::request_with_headers(method, &app.host.url(path), body, &headers).await.unwrap();
    if let Err(e) = validate_response("notifications", method, template, r.status, &r.body) {
        panic!("{e}");
    }
    r
}

#[tokio::test]
async fn subscribers_get_what_is_published_on_their_channels_and_bad_input_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "wsproto").await;
    let url = ws::url(&app.host, "/ws/live");
    let mut alice = ws::connect(&url, &[]).await.unwrap();
    let mut bob = ws::connect(&url, &[]).await.unwrap();
    assert_eq!(alice.subscribe(&["alliance:99003581", "system:30001046"]).await["type"], "subscribed");
    assert_eq!(bob.subscribe(&["all:*"]).await["type"], "subscribed");

    let stream = app.event_stream();
    let id = ws::publish(&stream, &["all:*", "alliance:99003581"], "battle.updated", Some("b1"), &battle("b1", 3)).await;
    ws::publish(&stream, &["all:*", "alliance:1"], "battle.updated", Some("b2"), &battle("b2", 2)).await;
    let got = alice.json(SOON).await;
    assert_eq!(got, json!({"id": id, "channel": "alliance:99003581", "type": "battle.updated", "data": battle("b1", 3)}));
    assert_eq!(alice.next(Duration::from_millis(500)).await, Next::Nothing, "alliance:1 is not alice's");
    assert_eq!(bob.pushes(2, SOON).await.len(), 2, "all:* gets everything");

    // Bad input gets its documented answer.
    alice.send_text("hello").await;
    assert!(alice.json(SOON).await["error"].as_str().unwrap().contains("not a request"));
    alice.send(&json!({"action": "sub", "channel": "planet:1"})).await;
    assert!(alice.json(SOON).await["error"].as_str().unwrap().contains("planet:1"));
    let many: Vec<String> = (1..=70).map(|n| format!("system:{n}")).collect();
    alice.send(&json!({"action": "sub", "channels": many})).await;
    assert!(alice.json(SOON).await["error"].as_str().unwrap().contains("64 subscriptions"));
    for _ in 0..3 {
        alice.send_binary(vec![1, 2, 3]).await;
        let _ = alice.json(SOON).await;
    }
    assert!(matches!(alice.next(SOON).await, Next::Closed(1008, _)), "five malformed requests close the connection");

    let mut big = ws::connect(&url, &[]).await.unwrap();
    big.send_text(&"x".repeat(70 * 1024)).await;
    assert!(matches!(big.next(SOON).await, Next::Closed(1009, _)), "a frame over 64 KiB closes with 1009");

    assert_eq!(ws::connect(&url, &[("origin", "http://evil.example")]).await.err(), Some(403), "wrong Origin");
    assert!(ws::connect(&url, &[("origin", "http://allowed.example")]).await.is_ok());
    assert_eq!(ws::connect(&format!("{url}?token=nobody"), &[]).await.err(), Some(401), "an unknown token");
    app.stop().await;
}

#[tokio::test]
async fn saved_subscriptions_follow_a_users_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "wssaved").await;
    assert_eq!(api(&app, "POST", "/api/notifications/users", "/api/notifications/users", "", None).await.status, 401);
    let user = api(&app, "POST", "/api/notifications/users", "/api/notifications/users", "", Some(TOKEN)).await;
    assert_eq!(user.status, 201, "{}", user.body);
    let token = user.json()["token"].as_str().unwrap().to_string();
    let subs = "/api/notifications/subscriptions";
    assert_eq!(api(&app, "GET", subs, subs, "", Some("wrong")).await.status, 401);
    let bad = api(&app, "POST", subs, subs, r#"{"channel":"moon:1"}"#, Some(&token)).await;
    assert_eq!((bad.status, bad.json()["parameter"].clone()), (400, json!("body.channel")));
    assert_eq!(api(&app, "POST", subs, subs, r#"{"channel":"alliance:1354830081"}"#, Some(&token)).await.status, 201);
    assert_eq!(api(&app, "POST", subs, subs, r#"{"channel":"system:1"}"#, Some(&token)).await.status, 201);
    let one = "/api/notifications/subscriptions/{channel}";
    assert_eq!(api(&app, "DELETE", one, &format!("{subs}/system:1"), "", Some(&token)).await.status, 204);
    assert_eq!(api(&app, "GET", subs, subs, "", Some(&token)).await.json()["channels"], json!(["alliance:1354830081"]));
    let health = "/api/notifications/health";
    assert_eq!(api(&app, "GET", health, health, "", None).await.status, 200);

    // A connection opened with the token gets the saved channel without asking.
    let mut client = ws::connect(&ws::url(&app.host, &format!("/ws/live?token={token}")), &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws::publish(&app.event_stream(), &["alliance:1354830081"], "battle.created", Some("b"), &battle("b", 2)).await;
    assert_eq!(client.json(SOON).await["channel"], "alliance:1354830081");
    app.stop().await;
}

#[tokio::test]
async fn reconnecting_clients_resume_once_each_in_order_and_a_trimmed_history_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "wsresume").await;
    let second = app.start_replica("b").await.unwrap();
    let stream = app.event_stream();
    let mut client = ws::connect(&ws::url(&app.host, "/ws/live"), &[]).await.unwrap();
    assert_eq!(client.subscribe(&[X]).await["type"], "subscribed");
    for n in 1..=3 {
        ws::publish(&stream, &[X], "battle.updated", Some("x"), &json!({"n": n})).await;
    }
    let seen = client.pushes(3, SOON).await;
    let last = seen[2]["id"].as_str().unwrap().to_string();

    // The host dies; meanwhile five more events; the client reconnects to the other replica.
    app.host.kill_in_place().await;
    drop(client);
    for n in 4..=8 {
        ws::publish(&stream, &[X, Y], "battle.updated", Some("x"), &json!({"n": n})).await;
    }
    let mut again = ws::connect(&ws::url(&second, &format!("/ws/live?since={last}")), &[]).await.unwrap();
    again.subscribe(&[X]).await;
    again.send(&json!({"action": "resume", "since": last})).await;
    let missed = again.pushes(5, SOON).await;
    assert_eq!(
        missed.iter().map(|p| p["data"]["n"].as_u64().unwrap()).collect::<Vec<_>>(),
        [4, 5, 6, 7, 8],
        "once each, in order"
    );
    ws::publish(&stream, &[X], "battle.updated", Some("x"), &json!({"n": 9})).await;
    let live = again.pushes(1, SOON).await;
    assert_eq!(live[0]["data"]["n"], 9, "then live events");
    assert_eq!(again.next(Duration::from_millis(500)).await, Next::Nothing, "nothing twice");

    // History trimmed past the position: the client is told.
    let redis = redis::Client::open(battlescope_tests::redis_url()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("XTRIM").arg(&stream).arg("MAXLEN").arg(1).query_async(&mut conn).await.unwrap();
    let mut late = ws::connect(&ws::url(&second, &format!("/ws/live?since={last}")), &[]).await.unwrap();
    late.subscribe(&[X]).await;
    late.send(&json!({"action": "resume", "since": last})).await;
    let gap = late.json(SOON).await;
    assert_eq!((gap["type"].as_str(), gap["since"].as_str()), (Some("gap"), Some(last.as_str())), "{gap}");
    second.kill().await;
    app.stop().await;
}

// The reading client gets a thread of its own: on the test's one thread it was read only when
// the publishing loop yielded, and on a busy machine the host cut it off as too slow as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_off_while_others_keep_receiving() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "wsslow").await;
    let second = app.start_replica("b").await.unwrap();
    let url = ws::url(&app.host, "/ws/live");
    let mut slow = ws::connect(&url, &[]).await.unwrap();
    slow.subscribe(&["all:*"]).await;
    // A reader on the other host: it receives what this host's stream reader also delivers.
    let mut fast = ws::connect(&ws::url(&second, "/ws/live"), &[]).await.unwrap();
    fast.subscribe(&["all:*"]).await;
    let stream = app.event_stream();
    let filler = "x".repeat(16 * 1024);
    let n = 1500;
    let reader = tokio::spawn(async move {
        let got = fast.pushes(n, Duration::from_secs(30)).await;
        got.len()
    });
    for i in 0..n {
        ws::publish(&stream, &["all:*"], "killmail", None, &json!({"n": i, "filler": filler})).await;
    }
    assert_eq!(reader.await.unwrap(), n, "a client that reads gets every event");
    let mut closed = None;
    for _ in 0..(n + 10) {
        match slow.next(Duration::from_secs(10)).await {
            Next::Json(_) => continue,
            Next::Closed(code, reason) => {
                closed = Some((code, reason));
                break;
            }
            Next::Nothing => break,
        }
    }
    let (code, reason) = closed.expect("the slow client was closed");
    assert_eq!(code, 1013, "{reason}");
    assert!(reason.starts_with("too slow: resume from "), "{reason}");
    second.kill().await;
    app.stop().await;
}

#[tokio::test]
async fn battle_events_from_kafka_are_pushed_once_each_with_names() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "wskafka").await;
    let mut client = ws::connect(&ws::url(&app.host, "/ws/live"), &[]).await.unwrap();
    assert_eq!(client.subscribe(&["alliance:1354830081"]).await["type"], "subscribed");
    let summary = json!({"battleId": "00000000-0000-4000-8000-000005c7f330", "version": 3, "status": "open",
        "startTime": "2021-11-28T10:19:00Z", "endTime": "2021-11-28T15:04:00Z",
        "systems": [{"id": 30001046, "name": "Jorund", "regionId": 10000012, "securityBand": "nullsec"}],
        "regions": [{"id": 10000012, "name": "Curse"}], "kills": 1124, "iskDestroyed": null, "pilots": 1597,
        "sides": [{"side": 0, "alliances": [{"id": 1354830081, "name": "Goonswarm Federation", "ticker": null}],
                   "corporations": [], "kills": 758, "losses": 333, "iskDestroyed": null, "iskLost": null, "pilots": 730}],
        "manual": false, "title": null});
    let event = json!({"eventId": "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", "eventType": "battle.updated",
        "timestamp": "2026-11-29T12:00:00Z", "data": summary});
    let topic = format!("{}battle.updated", app.prefix);
    let key = "00000000-0000-4000-8000-000005c7f330";
    // A malformed event is dead-lettered and does not hold up the good one; a redelivered one
    // (same eventId) is not pushed twice.
    battlescope_tests::kafka::produce_raw(&topic, key, b"{not json").await;
    for _ in 0..2 {
        battlescope_tests::kafka::produce_raw(&topic, key, event.to_string().as_bytes()).await;
    }
    let push = match client.next(Duration::from_secs(60)).await {
        Next::Json(v) => v,
        other => panic!("no push ({other:?}); the host said:\n{}", battlescope_tests::app::tail(&app.host.log_text(), 40)),
    };
    assert_eq!(
        (push["type"].as_str(), push["channel"].as_str()),
        (Some("battle.updated"), Some("alliance:1354830081")),
        "{push}"
    );
    assert_eq!(push["data"]["sides"][0]["alliances"][0]["name"], "Goonswarm Federation");
    assert_eq!(client.next(Duration::from_secs(3)).await, Next::Nothing, "pushed once");
    let dead = battlescope_tests::kafka::read_topic(&format!("{topic}.dlq"), 1, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 1, "the malformed event is dead-lettered");
    assert_eq!(dead[0].payload, "{not json");
    app.stop().await;
}

#[tokio::test]
async fn live_killmails_are_pushed_and_backfilled_ones_are_not() {
    use battlescope_tests::replay::{data, Replay, ReplayData};
    // Two killmails of 2021-11-28: the first posted to the backfill intake, the second then
    // released on the live feed.
    let day = data::load_day(&data::day_file("2021-11-28")).unwrap();
    let (backfilled, live) = (day[0].clone(), day[1].clone());
    let id = |k: &Value| k["killmail_id"].as_u64().unwrap();
    let replay = Replay::start(ReplayData::new(vec![backfilled.clone(), live.clone()]).unwrap(), 0).await.unwrap();
    replay.set_window(2, 1);
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        feed: "r2z2",
        replay_url: Some(replay.base_url.clone()),
        start_sequence: Some(2),
        websocket_origins: "http://allowed.example",
        ..Options::default()
    };
    let app = App::start(dir.path(), "wslanes", options).await.unwrap();
    let mut client = ws::connect(&ws::url(&app.host, "/ws/live"), &[]).await.unwrap();
    assert_eq!(client.subscribe(&["all:*"]).await["type"], "subscribed");
    assert_eq!(app.post_killmails(&backfilled.to_string()).await.status, 200);
    // The battle service reads both lanes: once it has the backfilled kill, that lane is read.
    app.wait_for_battles("SELECT count(*) FROM battle_kills", 1, Duration::from_secs(60)).await;
    replay.set_window(2, 2);
    app.wait_for_battles("SELECT count(*) FROM battle_kills", 2, Duration::from_secs(60)).await;
    let mut pushed = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !pushed.contains(&id(&live)) && tokio::time::Instant::now() < deadline {
        if let Next::Json(p) = client.next(Duration::from_secs(1)).await {
            if p["type"] == "killmail" {
                pushed.push(p["data"]["killmailId"].as_u64().unwrap());
            }
        }
    }
    // Whatever was still on its way for the backfilled kill has had time to arrive.
    while let Next::Json(p) = client.next(Duration::from_secs(3)).await {
        if p["type"] == "killmail" {
            pushed.push(p["data"]["killmailId"].as_u64().unwrap());
        }
    }
    assert_eq!(pushed, vec![id(&live)], "the live killmail is pushed, the backfilled one is not");
    app.stop().await;
}
