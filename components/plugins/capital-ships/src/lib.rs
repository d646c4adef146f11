//! Keep only killmails with a capital ship on them: titans, supercarriers, carriers,
//! dreadnoughts, force auxiliaries and capital industrials, as the host's static data classes
//! them (the `static-data` import: the plugin bundles no table of its own).
//!
//! Settings: `match` = `any` (default: victim or an attacker) or `victim` (capital losses only).

/// The decision, apart from the WIT types, so it is unit-tested natively.
pub fn decide(
    victim_ship: Option<u32>,
    attacker_ships: &[Option<u32>],
    settings: &[(String, String)],
    is_capital: impl Fn(u32) -> bool,
) -> Result<(), String> {
    let scope = settings.iter().find(|(k, _)| k == "match").map(|(_, v)| v.as_str()).unwrap_or("any");
    let capital = |s: &Option<u32>| s.is_some_and(&is_capital);
    let found = match scope {
        "victim" => capital(&victim_ship),
        "any" => capital(&victim_ship) || attacker_ships.iter().any(capital),
        other => return Err(format!("misconfigured: match {other:?} is not any or victim")),
    };
    if found {
        Ok(())
    } else if scope == "victim" {
        Err("the victim flew no capital ship".into())
    } else {
        Err("no capital ship on the killmail".into())
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "../../../wit/ruleset-filter", world: "battlescope:ruleset-filter/ruleset-filter" });

    use battlescope::ruleset_filter::static_data::lookup_type;
    use battlescope::ruleset_filter::types::{KillmailSummary, Setting, Verdict};
    use exports::battlescope::ruleset_filter::filter::Guest;

    struct CapitalShips;
    export!(CapitalShips);

    impl Guest for CapitalShips {
        fn evaluate(killmail: KillmailSummary, settings: Vec<Setting>) -> Verdict {
            let settings: Vec<(String, String)> = settings.into_iter().map(|s| (s.key, s.value)).collect();
            let attackers: Vec<Option<u32>> = killmail.attackers.iter().map(|a| a.ship_type_id).collect();
            let is_capital = |ship: u32| lookup_type(ship).is_some_and(|t| t.capital);
            match super::decide(killmail.victim.ship_type_id, &attackers, &settings, is_capital) {
                Ok(()) => Verdict::Accept,
                Err(reason) => Verdict::Reject(reason),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EREBUS: u32 = 671;
    const NYX: u32 = 23913;
    const RIFTER: u32 = 587;

    fn is_capital(ship: u32) -> bool {
        [EREBUS, NYX].contains(&ship)
    }

    #[test]
    fn any_or_victim() {
        assert_eq!(decide(Some(RIFTER), &[Some(NYX)], &[], is_capital), Ok(()));
        let victim_only = vec![("match".to_string(), "victim".to_string())];
        assert!(decide(Some(RIFTER), &[Some(NYX)], &victim_only, is_capital).is_err());
        assert_eq!(decide(Some(EREBUS), &[None], &victim_only, is_capital), Ok(()));
        assert_eq!(decide(Some(RIFTER), &[Some(RIFTER), None], &[], is_capital).unwrap_err(), "no capital ship on the killmail");
        let odd = vec![("match".to_string(), "attackers".to_string())];
        assert!(decide(Some(EREBUS), &[], &odd, is_capital).unwrap_err().contains("misconfigured"));
    }
}
