//! The Jorund fight of 2021-11-28 (system 30001046, 10:21–14:51 UTC) through the whole
//! pipeline: the R2Z2 replay of the whole day → ingestion → enrichment → battles. It must be one
//! battle holding nearly all of the system's kills of those hours, Goonswarm (1354830081) and
//! Init (1900696668) on one side and Horde (99005338) on the other, named as players know them.

use battlescope_tests::battles::{assert_stored_equals_recomputed, run_day, Api};
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
    let (app, _replay, _) = run_day(dir.path(), "jorund", "2021-11-28").await;
    assert_stored_equals_recomputed(&app).await;
    let api = Api { app: &app };

    let found = api.all(&format!("system={JORUND}&from={FROM}&to={TO}&minKills=100")).await;
    assert_eq!(found.len(), 1, "one battle in Jorund those hours, not several: {found:?}");
    let id = found[0]["battleId"].as_str().unwrap();
    let battle = api.get("/api/battles/{id}", &format!("/api/battles/{id}")).await.json();
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
    println!(
        "Jorund: {} kills {start}–{end}, {covered}/{} of the period's kills, {} sides, {} pilots",
        battle["kills"],
        in_period.len(),
        sides.len(),
        battle["pilots"]
    );
    app.stop().await;
}
