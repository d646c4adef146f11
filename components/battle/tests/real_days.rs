//! Clustering and sides on real days (data/killmails/): the Jorund fight of 2021-11-28 is one
//! battle with the right sides, and shuffling a day's killmails changes nothing.

mod support;

use battle::clustering::{Battle, Params};
use battle::enriched::Enriched;
use battle::sides::{sides, Engagement, Unit};
use battle::stats::{battle_stats, KillDetail};
use proptest::prelude::*;
use std::collections::BTreeSet;
use support::day;

fn cluster(kills: &[&Enriched]) -> Vec<Battle> {
    let mut c = battle::clustering::on_the_map(Params::default());
    for e in kills {
        c.add(e.kill.clone());
    }
    c.battles()
}

fn enriched_day(date: &str) -> Vec<Enriched> {
    day(date).iter().map(support::enriched).collect()
}

#[test]
fn the_jorund_fight_is_one_battle_with_goons_and_init_against_the_horde() {
    let kms = day("2021-11-28");
    let jorund: BTreeSet<u64> = kms
        .iter()
        .filter(|k| {
            let t = k["killmail_time"].as_str().unwrap();
            k["solar_system_id"] == 30001046 && ("2021-11-28T10:21"..="2021-11-28T14:52").contains(&&t[..16])
        })
        .map(|k| k["killmail_id"].as_u64().unwrap())
        .collect();
    assert_eq!(jorund.len(), 1081);
    let events = kms.iter().map(support::enriched).collect::<Vec<_>>();
    let battles = cluster(&events.iter().collect::<Vec<_>>());
    let battle = battles.iter().max_by_key(|b| b.kill_ids.iter().filter(|id| jorund.contains(id)).count()).unwrap();
    let covered = battle.kill_ids.iter().filter(|id| jorund.contains(id)).count();
    let clock = |s: i64| format!("{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60);
    eprintln!(
        "Jorund battle: {} kills ({} of the 1,081 in Jorund), {}–{}, systems {:?}",
        battle.kill_ids.len(),
        covered,
        clock(battle.start),
        clock(battle.end),
        battle.systems
    );
    assert!(covered as f64 >= 0.95 * 1081.0, "only {covered} of 1,081");
    assert!(
        clock(battle.start).as_str() <= "10:21" && clock(battle.end).as_str() >= "14:51",
        "{}–{}",
        clock(battle.start),
        clock(battle.end)
    );
    assert_eq!(battles.iter().filter(|b| b.kill_ids.iter().any(|id| jorund.contains(id))).count(), 1, "not split");

    let in_battle: BTreeSet<u64> = battle.kill_ids.iter().copied().collect();
    let details: Vec<KillDetail> = events.iter().filter(|e| in_battle.contains(&e.kill.id)).map(|e| e.detail.clone()).collect();
    let engagements: Vec<Engagement> = details.iter().map(KillDetail::engagement).collect();
    let s = sides(&engagements);
    let side_of =
        |a: u64| s.iter().position(|side| side.contains(&Unit::Alliance(a))).unwrap_or_else(|| panic!("alliance {a} on no side"));
    eprintln!("sides: {}", s.len());
    for (i, side) in s.iter().enumerate().take(4) {
        eprintln!("  side {i}: {} units, e.g. {:?}", side.len(), &side[..side.len().min(6)]);
    }
    assert_eq!(side_of(1354830081), side_of(1900696668), "Goonswarm and The Initiative. fight together");
    assert_ne!(side_of(1354830081), side_of(99005338), "Pandemic Horde is on the other side");

    // Statistics: every loss on some side, the kills credited, no ISK invented (the archives
    // carry no values).
    let stats = battle_stats(&details, &s);
    assert_eq!(stats.kills as usize, battle.kill_ids.len());
    let losses: u32 = stats.sides.iter().map(|x| x.losses).sum();
    let credited: u32 = stats.sides.iter().map(|x| x.kills).sum();
    assert!(losses <= stats.kills && credited <= stats.kills, "{losses} losses, {credited} kills of {}", stats.kills);
    assert!(losses as f64 > 0.9 * stats.kills as f64, "most victims belong to a side: {losses}");
    assert_eq!(stats.isk_destroyed.total, None);
    assert_eq!(stats.isk_destroyed.kills_without_value, stats.kills);
    let goons = &stats.sides[side_of(1354830081)];
    let horde = &stats.sides[side_of(99005338)];
    eprintln!(
        "Goonswarm side: {} kills, {} losses, {} pilots; Horde side: {} kills, {} losses, {} pilots; {} pilots in all, {} minutes",
        goons.kills, goons.losses, goons.pilots, horde.kills, horde.losses, horde.pilots, stats.pilots, stats.timeline.len()
    );
    assert!(goons.kills > 0 && horde.kills > 0 && goons.pilots > 100 && horde.pilots > 100);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// The same killmails in any order give the same battles.
    #[test]
    fn battles_do_not_depend_on_arrival_order(seed in any::<u64>()) {
        let events = enriched_day("2021-11-28");
        let in_file_order: Vec<&Enriched> = events.iter().collect();
        let mut shuffled = in_file_order.clone();
        support::shuffle(&mut shuffled, seed);
        prop_assert_eq!(cluster(&shuffled), cluster(&in_file_order));
    }
}

/// The largest battle touching `system` on `date`, described for docs/battles.md.
fn describe(date: &str, system: u32) -> (Battle, Vec<Vec<Unit>>) {
    let events = enriched_day(date);
    let battles = cluster(&events.iter().collect::<Vec<_>>());
    let battle = battles.into_iter().filter(|b| b.systems.contains(&system)).max_by_key(|b| b.kill_ids.len()).expect("a battle");
    let ids: BTreeSet<u64> = battle.kill_ids.iter().copied().collect();
    let engagements: Vec<Engagement> =
        events.iter().filter(|e| ids.contains(&e.kill.id)).map(|e| e.detail.engagement()).collect();
    let clock = |s: i64| format!("{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60);
    let s = sides(&engagements);
    eprintln!(
        "{date} system {system}: {} kills, {}–{}, systems {:?}, {} sides of {:?} units",
        battle.kill_ids.len(),
        clock(battle.start),
        clock(battle.end),
        battle.systems,
        s.len(),
        s.iter().map(Vec::len).collect::<Vec<_>>()
    );
    (battle, s)
}

#[test]
fn the_j105951_burst_and_m_oee8_form_sensible_battles() {
    let (burst, _) = describe("2021-11-30", 31000368);
    assert!(burst.kill_ids.len() >= 200, "the wormhole burst is one battle: {}", burst.kill_ids.len());
    assert_eq!(burst.systems.len(), 1, "wormholes have no gates: nothing joins from elsewhere");
    let (m_oee8, sides) = describe("2021-11-29", 30000848);
    assert!(m_oee8.kill_ids.len() >= 20, "{}", m_oee8.kill_ids.len());
    assert!(sides.len() >= 2);
}
