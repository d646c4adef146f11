//! Every ruleset field against real killmails of 2021-11-30 (tests/fixtures/), one per space
//! type: a −1.0 null-sec system outside Pochven, a wormhole, high-, low-sec, Pochven, abyssal.

use eve_static::SecurityBand;
use ingestion::killmail::Killmail;
use ingestion::ruleset::{Rule, Ruleset, Verdict};

fn fixture(name: &str) -> Killmail {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let line = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Killmail::from_archive_line(line.trim()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const ALL: [&str; 6] = ["nullsec_minus_one", "wormhole", "highsec", "lowsec", "pochven", "abyssal"];

fn ruleset(json: &str) -> Ruleset {
    Ruleset::parse(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// Which fixtures a ruleset keeps.
fn kept(r: &Ruleset) -> Vec<&'static str> {
    ALL.into_iter().filter(|n| matches!(r.evaluate(&fixture(n)), Verdict::Accept { .. })).collect()
}

#[test]
fn each_fixture_is_in_the_band_its_name_says() {
    let band = |n| fixture(n).location().expect("a known system").band;
    assert_eq!(band("nullsec_minus_one"), SecurityBand::Nullsec);
    assert_eq!(fixture("nullsec_minus_one").location().unwrap().security, -1.0);
    assert_eq!(band("wormhole"), SecurityBand::Wormhole);
    assert_eq!(band("highsec"), SecurityBand::Highsec);
    assert_eq!(band("lowsec"), SecurityBand::Lowsec);
    assert_eq!(band("pochven"), SecurityBand::Pochven);
    assert_eq!(band("abyssal"), SecurityBand::Abyssal);
}

#[test]
fn tracked_security_bands() {
    let cases: &[(&str, &[&str])] = &[
        (r#"{"trackedSecurityBands": ["nullsec"]}"#, &["nullsec_minus_one"]),
        (r#"{"trackedSecurityBands": ["wormhole"]}"#, &["wormhole"]),
        (r#"{"trackedSecurityBands": ["highsec", "lowsec"]}"#, &["highsec", "lowsec"]),
        (r#"{"trackedSecurityBands": ["pochven", "abyssal"]}"#, &["pochven", "abyssal"]),
        (r#"{"trackedSecurityBands": []}"#, &ALL),
    ];
    for (json, expected) in cases {
        assert_eq!(kept(&ruleset(json)), *expected, "{json}");
    }
    assert_eq!(
        ruleset(r#"{"trackedSecurityBands": ["highsec"]}"#).evaluate(&fixture("wormhole")),
        Verdict::Reject(Rule::SecurityBand)
    );
}

#[test]
fn min_pilots() {
    // Pilots: victim + distinct attacker characters; NPCs (no character, or a character in
    // the NPC range like the Triglavians of the Pochven kill) do not count.
    let pilots: Vec<usize> = ALL.iter().map(|n| fixture(n).pilot_count()).collect();
    assert_eq!(pilots, [5, 9, 3, 3, 1, 3]);
    assert_eq!(kept(&ruleset(r#"{"minPilots": 4}"#)), ["nullsec_minus_one", "wormhole"]);
    assert_eq!(kept(&ruleset(r#"{"minPilots": 0}"#)), ALL);
    assert_eq!(ruleset(r#"{"minPilots": 10}"#).evaluate(&fixture("wormhole")), Verdict::Reject(Rule::MinPilots));
}

#[test]
fn tracked_alliances_corporations_and_systems_with_ignore_unlisted() {
    // Alliance 1354830081 attacks in the null-sec kill and dies in the Pochven one.
    let r = ruleset(r#"{"trackedAllianceIds": [1354830081], "ignoreUnlisted": true}"#);
    assert_eq!(kept(&r), ["nullsec_minus_one", "pochven"]);
    // Corporation 98518226 has two attackers in the wormhole kill.
    let r = ruleset(r#"{"trackedCorporationIds": [98518226], "ignoreUnlisted": true}"#);
    assert_eq!(kept(&r), ["wormhole"]);
    let r = ruleset(r#"{"trackedSystemIds": [30002768, 32000140], "ignoreUnlisted": true}"#);
    assert_eq!(kept(&r), ["highsec", "abyssal"]);
    // The lists together: any of them lists a killmail.
    let r = ruleset(r#"{"trackedAllianceIds": [99008899], "trackedSystemIds": [31000745], "ignoreUnlisted": true}"#);
    assert_eq!(kept(&r), ["wormhole", "lowsec"]);
    assert_eq!(r.evaluate(&fixture("highsec")), Verdict::Reject(Rule::Unlisted));
}

#[test]
fn without_ignore_unlisted_the_lists_only_mark() {
    let r = ruleset(r#"{"trackedAllianceIds": [1354830081]}"#);
    assert_eq!(kept(&r), ALL);
    assert_eq!(r.evaluate(&fixture("pochven")), Verdict::Accept { tracked: true });
    assert_eq!(r.evaluate(&fixture("highsec")), Verdict::Accept { tracked: false });
}

#[test]
fn rules_combine() {
    let r = ruleset(
        r#"{"minPilots": 4, "trackedSecurityBands": ["nullsec", "wormhole"], "trackedAllianceIds": [1354830081], "ignoreUnlisted": true}"#,
    );
    assert_eq!(kept(&r), ["nullsec_minus_one"]);
}
