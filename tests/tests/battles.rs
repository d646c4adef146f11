//! Battles through the whole pipeline (ingestion → enrichment → battle) on a real day
//! (2021-11-30): the stored battles equal the battles the pure module computes from all the
//! killmails at once, whatever order the events came in, even when battle writes fail on the
//! way; names where a player looks; the events folded give the API's battles; the API's
//! filters, paging, errors and operators' edits, every answer checked against
//! `openapi/battles.json`; replaying the day changes nothing.

use battlescope_tests::battles::{assert_stored_equals_recomputed, finish_day, folded_events, settle, start_day, Api};
use battlescope_tests::contract::{documented_parameters, validate_event};
use battlescope_tests::http;
use battlescope_tests::kafka::{outbox_messages, produce_many};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const ONE: &str = "/api/battles/{id}";

fn ids(battles: &[Value]) -> BTreeSet<String> {
    battles.iter().map(|b| b["battleId"].as_str().unwrap().to_string()).collect()
}

/// The ids of a list of named things (`systems`, `regions`).
fn ids_of(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|n| n["id"].as_u64().unwrap()).collect()
}

/// The security bands of a battle's systems.
fn bands(b: &Value) -> BTreeSet<String> {
    b["systems"].as_array().unwrap().iter().map(|s| s["securityBand"].as_str().unwrap().to_string()).collect()
}

/// Equal sets, or a short account of the difference.
fn assert_same(got: &BTreeSet<String>, expected: &BTreeSet<String>, query: &str) {
    let missing: Vec<_> = expected.difference(got).take(3).collect();
    let extra: Vec<_> = got.difference(expected).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{query}: {} battles, expected {}; missing {missing:?}, extra {extra:?}",
        got.len(),
        expected.len()
    );
}

/// Makes the first write that puts each of `kills` into a battle fail, as a database would, by
/// a trigger on the battle tables (sequences are not rolled back, so each fires once).
async fn fail_first_writes(db: &tokio_postgres::Client, kills: &[i64]) {
    for k in kills {
        db.batch_execute(&format!("CREATE SEQUENCE test_fault_{k}")).await.unwrap();
    }
    let list = kills.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    db.batch_execute(&format!(
        "CREATE FUNCTION test_fail_first_write() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.killmail_id = ANY('{{{list}}}'::bigint[]) AND nextval('test_fault_' || NEW.killmail_id) = 1 THEN
                 RAISE EXCEPTION 'injected failure writing killmail %', NEW.killmail_id;
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER test_fail AFTER INSERT ON battle_killmails FOR EACH ROW EXECUTE FUNCTION test_fail_first_write();"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_real_day_becomes_battles_that_equal_the_battles_recomputed_from_its_killmails() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _replay, killmails) = start_day(dir.path(), "battleday", "2021-11-30").await;
    // Three kills of the evening's wormhole burst fail the first time their battle is written.
    let doomed: Vec<i64> = killmails
        .iter()
        .filter(|k| k["solar_system_id"] == 31000368 && k["killmail_time"].as_str().unwrap() >= "2021-11-30T19:59")
        .map(|k| k["killmail_id"].as_i64().unwrap())
        .take(3)
        .collect();
    fail_first_writes(&app.battles_db, &doomed).await;
    finish_day(&app, killmails.len()).await;
    assert_stored_equals_recomputed(&app).await;
    for k in &doomed {
        let fired: i64 = app.battles_db.query_one(&format!("SELECT last_value FROM test_fault_{k}"), &[]).await.unwrap().get(0);
        assert!(fired >= 2, "killmail {k}: the injected failure fired and the retry wrote it ({fired})");
        let placed: i64 =
            app.battles_db.query_one("SELECT count(*) FROM battle_killmails WHERE killmail_id = $1", &[k]).await.unwrap().get(0);
        assert_eq!(placed, 1, "killmail {k} is in its battle after the retry");
    }
    let dead = battlescope_tests::kafka::read_topic(&format!("{}.dlq", app.enriched_topic), 1, Duration::from_secs(5)).await;
    assert!(dead.is_empty(), "a failure that passes on retry is not dead-lettered: {dead:?}");
    let api = Api { app: &app };

    // The J105951 burst: one battle of 251 kills, with sides, statistics and participants.
    let row = app
        .battles_db
        .query_one("SELECT battle_id, kills FROM battles WHERE 31000368 = ANY(systems) ORDER BY kills DESC LIMIT 1", &[])
        .await
        .unwrap();
    let (burst_id, kills): (String, i32) = (row.get(0), row.get(1));
    assert_eq!(kills, 251);
    let burst = api.get(ONE, &format!("/api/battles/{burst_id}")).await.json();
    assert_eq!(burst["kills"], 251);
    assert!(burst["sides"].as_array().unwrap().len() >= 2, "{burst}");
    assert!(burst["statistics"].as_array().unwrap().len() >= 3, "battle and per-side statistics");
    assert!(burst["statistics"][0]["statistics"]["timeline"].as_array().unwrap().len() >= 7, "a minute-by-minute timeline");
    let kills = api.get("/api/battles/{id}/killmails", &format!("/api/battles/{burst_id}/killmails")).await.json();
    let kills = kills["killmails"].as_array().unwrap();
    assert_eq!(kills.len(), 251);
    assert!(kills.iter().all(|k| k["solarSystemName"] == "J105951" && k["victim"]["shipTypeName"].is_string()), "{}", kills[0]);

    // Events: valid, and coalesced (far fewer than one per kill).
    let events: Vec<String> =
        app.battles_db.query("SELECT payload FROM outbox", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    for e in &events {
        validate_event(e).unwrap_or_else(|err| panic!("{err}: {e}"));
    }
    let burst_events = events.iter().filter(|e| e.contains(&burst_id)).count();
    assert!((1..40).contains(&burst_events), "{burst_events} events for a 251-kill battle");

    names(&burst, &killmails).await;

    // A consumer that folds the battle events knows exactly the battles the API lists.
    let folded = folded_events(&app).await;
    let listed = api.all("").await;
    assert_eq!(folded.keys().cloned().collect::<BTreeSet<_>>(), ids(&listed), "the events name the listed battles");
    for b in &listed {
        let f = &folded[b["battleId"].as_str().unwrap()];
        assert_eq!(
            (&f["version"], &f["kills"], &f["status"], &f["sides"]),
            (&b["version"], &b["kills"], &b["status"], &b["sides"]),
            "{b}"
        );
    }
    let ended = listed.iter().filter(|b| b["status"] == "ended").count();
    assert!(ended * 2 > listed.len(), "battles quiet for 45 minutes of game time have ended: {ended} of {}", listed.len());
    health(&api, &listed, &killmails).await;

    filters_and_paging(&api, &burst, &burst_id).await;
    bad_requests(&api).await;
    edits(&api, &burst_id).await;
    assert_stored_equals_recomputed(&app).await;

    // Replaying every killmail.enriched again changes nothing.
    let versions = "SELECT battle_id, version FROM battles ORDER BY battle_id";
    let before: Vec<(String, i32)> =
        app.battles_db.query(versions, &[]).await.unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    let replayed = outbox_messages(&app.enrichment_db).await;
    produce_many(&app.enriched_topic, &replayed).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    settle(&app).await;
    let after: Vec<(String, i32)> =
        app.battles_db.query(versions, &[]).await.unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(before, after, "a replay changed the battles");
    app.stop().await;
}

/// Names where a player looks: sides, pilots, their ships, killmails, the system.
/// The health report says what the database holds: every battle listed, the open ones, nothing
/// waiting to be announced once the events are folded, and the day's newest kill.
async fn health(api: &Api<'_>, listed: &[Value], killmails: &[Value]) {
    let reply = api.get("/api/battles/health", "/api/battles/health").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let db = &reply.json()["database"];
    let open = listed.iter().filter(|b| b["status"] == "open").count();
    assert_eq!((db["battles"].as_u64(), db["openBattles"].as_u64()), (Some(listed.len() as u64), Some(open as u64)), "{db}");
    assert_eq!(db["unannouncedChanges"], 0, "{db}");
    let newest = killmails.iter().filter_map(|k| k["killmail_time"].as_str()).max().unwrap();
    assert_eq!(db["newestKill"].as_str(), Some(newest), "{db}");
}

async fn names(burst: &Value, _killmails: &[Value]) {
    let named = |v: &Value| v["name"].as_str().is_some_and(|n| !n.is_empty());
    assert!(burst["systems"].as_array().unwrap().iter().all(named), "{}", burst["systems"]);
    let units: Vec<&Value> = burst["sides"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["alliances"].as_array().unwrap().iter().chain(s["corporations"].as_array().unwrap()))
        .collect();
    assert!(!units.is_empty() && units.iter().all(|u| named(u)), "every side's units are named: {units:?}");
    let pilots = burst["participants"].as_array().unwrap();
    assert!(pilots.iter().all(|p| p["characterName"].is_string() && p["corporationName"].is_string()), "pilots are named");
    assert!(pilots.iter().any(|p| p["ships"].as_array().unwrap().iter().any(named)), "ships are named");
    assert!(!burst["names"].as_object().unwrap().is_empty(), "statistics' ship types and groups are named");
}

/// Each filter, checked against the whole list (or the participants table), through paging.
async fn filters_and_paging(api: &Api<'_>, burst: &Value, burst_id: &str) {
    let all = api.all("").await;
    let total: i64 = api.app.battles_db.query_one("SELECT count(*) FROM battles", &[]).await.unwrap().get(0);
    assert_eq!(all.len() as i64, total, "paging returns every battle once");
    assert_eq!(ids(&all).len(), all.len(), "no battle twice across pages");
    let starts: Vec<&str> = all.iter().map(|b| b["startTime"].as_str().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let expect = |keep: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
        all.iter().filter(|b| keep(b)).map(|b| b["battleId"].as_str().unwrap().to_string()).collect()
    };
    let region = burst["regions"][0]["id"].as_u64().unwrap();
    let (start, end) = (burst["startTime"].as_str().unwrap(), burst["endTime"].as_str().unwrap());
    // A round threshold, as a user would give: no float-formatting edge at the boundary.
    let isk = burst["iskDestroyed"].as_f64().expect("the replayed feed carries value estimates").floor();
    let cases: Vec<(String, BTreeSet<String>)> = vec![
        ("system=31000368".into(), expect(&|b| ids_of(&b["systems"]).contains(&31000368))),
        (format!("region={region}"), expect(&|b| ids_of(&b["regions"]).contains(&region))),
        ("securityBand=wormhole".into(), expect(&|b| bands(b).contains("wormhole"))),
        ("securityBand=highsec".into(), expect(&|b| bands(b).contains("highsec"))),
        (
            format!("from={start}&to={end}"),
            expect(&|b| b["endTime"].as_str().unwrap() >= start && b["startTime"].as_str().unwrap() <= end),
        ),
        ("minKills=20".into(), expect(&|b| b["kills"].as_u64().unwrap() >= 20)),
        (format!("minIsk={isk}"), expect(&|b| b["iskDestroyed"].as_f64().is_some_and(|v| v >= isk))),
        (
            "minKills=5&securityBand=nullsec".into(),
            expect(&|b| b["kills"].as_u64().unwrap() >= 5 && bands(b).contains("nullsec")),
        ),
    ];
    for (query, expected) in cases {
        let got = ids(&api.all(&query).await);
        assert!(!expected.is_empty(), "{query} should select something on this day");
        assert!(expected.len() < all.len() || query.starts_with("from"), "{query} should leave something out");
        assert_same(&got, &expected, &query);
    }
    assert!(ids(&api.all("system=31000368").await).contains(burst_id));

    // Participant filters, against the participants table.
    let pilot = &burst["participants"][0];
    for (parameter, column, value) in [
        ("alliance", "alliance_id", burst["sides"][0]["alliances"][0]["id"].as_u64()),
        ("corporation", "corporation_id", pilot["corporationId"].as_u64()),
        ("character", "character_id", pilot["characterId"].as_u64()),
    ] {
        let value = value.unwrap_or_else(|| panic!("the burst has no {parameter} to filter on: {burst}"));
        let expected: BTreeSet<String> = api
            .app
            .battles_db
            .query(&format!("SELECT DISTINCT battle_id FROM battle_participants WHERE {column} = $1"), &[&(value as i64)])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let got = ids(&api.all(&format!("{parameter}={value}")).await);
        assert!(got.contains(burst_id), "{parameter}={value}");
        assert_same(&got, &expected, &format!("{parameter}={value}"));
    }
}

async fn bad_requests(api: &Api<'_>) {
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("cursor=x", "cursor"),
        ("color=red", "color"),
        ("securityBand=space", "securityBand"),
        ("system=jita", "system"),
        ("from=noon", "from"),
        ("minIsk=lots", "minIsk"),
    ] {
        let r = api.get("/api/battles", &format!("/api/battles?{query}")).await;
        assert_eq!((r.status, r.json()["parameter"].as_str().unwrap().to_string()), (400, parameter.to_string()), "{query}");
        if parameter != "color" {
            assert!(
                documented_parameters("battles", "GET", "/api/battles").contains(&parameter.to_string()),
                "{parameter} is documented"
            );
        }
    }
    assert_eq!(api.get(ONE, "/api/battles/nope").await.status, 400);
    assert_eq!(api.get(ONE, "/api/battles/00000000-0000-4000-8000-000000000001").await.status, 404);
    assert_eq!(
        api.get("/api/battles/{id}/killmails", "/api/battles/00000000-0000-4000-8000-000000000001/killmails").await.status,
        404
    );
    assert_eq!(http::request("PUT", &api.app.host.url("/api/battles"), "").await.unwrap().status, 405);
}

/// Merge, split, edit, delete and create by hand; clustering takes back what is released.
async fn edits(api: &Api<'_>, burst_id: &str) {
    // Two small automatic battles of the day.
    let small: Vec<(String, Vec<i64>)> = api
        .app
        .battles_db
        .query(
            "SELECT b.battle_id, array_agg(m.killmail_id ORDER BY m.killmail_id) FROM battles b JOIN battle_killmails m USING (battle_id)
             WHERE b.kills = 2 AND NOT b.manual GROUP BY b.battle_id ORDER BY b.battle_id LIMIT 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let [(a, _), (b, b_kills)] = <[_; 2]>::try_from(small).unwrap();
    let merge_body = json!({"battleIds": [b]}).to_string();
    let path = |id: &str, action: &str| format!("/api/battles/{id}{action}");

    assert_eq!(api.call("POST", "/api/battles/{id}/merge", &path(&a, "/merge"), &merge_body, None).await.status, 401);
    assert_eq!(api.call("POST", "/api/battles/{id}/merge", &path(&a, "/merge"), &merge_body, Some("guess")).await.status, 401);

    let merged = api.write("POST", "/api/battles/{id}/merge", &path(&a, "/merge"), &merge_body).await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let merged = merged.json();
    assert_eq!((merged["kills"].as_u64(), merged["manual"].as_bool()), (Some(4), Some(true)));
    assert_eq!(api.get(ONE, &path(&b, "")).await.status, 404, "merged away");

    let split_body = json!({"killmailIds": b_kills, "title": "split off"}).to_string();
    let split = api.write("POST", "/api/battles/{id}/split", &path(&a, "/split"), &split_body).await;
    assert_eq!(split.status, 201, "{}", split.body);
    let split = split.json();
    assert_eq!((split["battle"]["kills"].as_u64(), split["newBattle"]["kills"].as_u64()), (Some(2), Some(2)));
    let new_id = split["newBattle"]["battleId"].as_str().unwrap().to_string();
    assert_eq!(split["newBattle"]["title"], "split off");

    let renamed = api.write("PATCH", ONE, &path(&a, ""), r#"{"title":"held by hand"}"#).await.json();
    assert_eq!((renamed["title"].as_str(), renamed["kills"].as_u64()), (Some("held by hand"), Some(2)));

    // Deleting the hand-made battle gives its killmails back to clustering: B forms again.
    assert_eq!(api.write("DELETE", ONE, &path(&new_id, ""), "").await.status, 204);
    let again = api.get(ONE, &path(&b, "")).await;
    assert_eq!(again.status, 200, "clustering took the released killmails back: {}", again.body);
    assert_eq!(again.json()["manual"], false);
    let again_kills: Vec<i64> = api.get("/api/battles/{id}/killmails", &path(&b, "/killmails")).await.json()["killmails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["killmailId"].as_i64().unwrap())
        .collect();
    assert_eq!(again_kills.iter().copied().collect::<BTreeSet<_>>(), b_kills.iter().copied().collect());
    assert_eq!(api.write("DELETE", ONE, &path(&b, ""), "").await.status, 409, "clustering's battles are not deleted");

    // A battle made from ten of the burst's killmails takes them from it.
    let ten: Vec<i64> = api
        .app
        .battles_db
        .query("SELECT killmail_id FROM battle_killmails WHERE battle_id = $1 ORDER BY killmail_id DESC LIMIT 10", &[&burst_id])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let created =
        api.write("POST", "/api/battles", "/api/battles", &json!({"killmailIds": ten, "title": "ten"}).to_string()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["kills"], 10);
    let rest = api.get(ONE, &path(burst_id, "")).await.json();
    assert_eq!(rest["kills"], 241, "the burst keeps the rest");

    // Refusals name what was wrong.
    let taken = api.write("POST", "/api/battles", "/api/battles", &json!({"killmailIds": [ten[0]]}).to_string()).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    for (body, parameter) in [
        (json!({"killmailIds": [1]}).to_string(), "body.killmailIds"),
        (json!({"killmailIds": [ten[0]], "colour": "red"}).to_string(), "body.colour"),
        ("{".to_string(), "body"),
    ] {
        let r = api.write("POST", "/api/battles", "/api/battles", &body).await;
        assert_eq!((r.status, r.json()["parameter"].as_str().unwrap().to_string()), (400, parameter.to_string()), "{body}");
    }
    let foreign =
        api.write("POST", "/api/battles/{id}/split", &path(&a, "/split"), &json!({"killmailIds": [ten[0]]}).to_string()).await;
    assert_eq!((foreign.status, foreign.json()["parameter"].clone()), (400, json!("body.killmailIds")));
    let ghost = json!({"battleIds": ["00000000-0000-4000-8000-000000000001"]}).to_string();
    let r = api.write("POST", "/api/battles/{id}/merge", &path(&a, "/merge"), &ghost).await;
    assert_eq!((r.status, r.json()["parameter"].clone()), (400, json!("body.battleIds")));
}
