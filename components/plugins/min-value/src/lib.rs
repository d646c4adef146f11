//! Keep only killmails worth at least `min_value` ISK (zKillboard's total value).
//!
//! Settings: `min_value` (ISK, required), `unknown_value` = `reject` (default) or `accept`
//! for killmails whose feed supplied no value (daily archives carry none).

/// The decision, apart from the WIT types, so it is unit-tested natively.
pub fn decide(total_value: Option<f64>, settings: &[(String, String)]) -> Result<(), String> {
    let setting = |key: &str| settings.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let min: f64 = match setting("min_value").map(str::parse) {
        Some(Ok(v)) if v >= 0.0 => v,
        Some(_) => return Err(format!("misconfigured: min_value {:?} is not a number of ISK", setting("min_value").unwrap())),
        None => return Err("misconfigured: the min_value setting is missing".into()),
    };
    match (total_value, setting("unknown_value").unwrap_or("reject")) {
        (Some(v), _) if v >= min => Ok(()),
        (Some(v), _) => Err(format!("worth {:.1} M ISK, under {:.1} M", v / 1e6, min / 1e6)),
        (None, "accept") => Ok(()),
        (None, "reject") => Err("value unknown".into()),
        (None, other) => Err(format!("misconfigured: unknown_value {other:?} is not accept or reject")),
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "../../../wit/ruleset-filter", world: "battlescope:ruleset-filter/ruleset-filter" });

    use battlescope::ruleset_filter::types::{KillmailSummary, Setting, Verdict};
    use exports::battlescope::ruleset_filter::filter::Guest;

    struct MinValue;
    export!(MinValue);

    impl Guest for MinValue {
        fn evaluate(killmail: KillmailSummary, settings: Vec<Setting>) -> Verdict {
            let settings: Vec<(String, String)> = settings.into_iter().map(|s| (s.key, s.value)).collect();
            match super::decide(killmail.total_value, &settings) {
                Ok(()) => Verdict::Accept,
                Err(reason) => Verdict::Reject(reason),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn keeps_what_reaches_the_threshold() {
        let settings = s(&[("min_value", "100000000")]);
        assert_eq!(decide(Some(1e8), &settings), Ok(()));
        assert_eq!(decide(Some(5e7), &settings).unwrap_err(), "worth 50.0 M ISK, under 100.0 M");
    }

    #[test]
    fn unknown_values_follow_the_setting() {
        assert_eq!(decide(None, &s(&[("min_value", "1")])).unwrap_err(), "value unknown");
        assert_eq!(decide(None, &s(&[("min_value", "1"), ("unknown_value", "accept")])), Ok(()));
    }

    #[test]
    fn bad_settings_say_so() {
        assert!(decide(Some(1.0), &[]).unwrap_err().contains("missing"));
        assert!(decide(Some(1.0), &s(&[("min_value", "lots")])).unwrap_err().contains("min_value"));
    }
}
