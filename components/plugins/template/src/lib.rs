//! A ruleset-filter plugin template. Copy the crate, rename it, and change `decide`.
//!
//! Build: `cargo build --release --target wasm32-unknown-unknown -p plugin-template`
//! (that target gives a module with no imports; the host wraps it into a component).
//! Enable: add a `[[ruleset_filter]]` table to the runtime config (docs/plugins.md).
//!
//! This template keeps killmails with at least `min_attackers` attackers (default 1).

/// The decision, in plain Rust so it can be unit-tested natively. `Err` carries the reason
/// stored with a rejection.
pub fn decide(attackers: usize, settings: &[(String, String)]) -> Result<(), String> {
    let min = match settings.iter().find(|(k, _)| k == "min_attackers") {
        None => 1,
        Some((_, v)) => v.parse::<usize>().map_err(|_| format!("misconfigured: min_attackers {v:?} is not a whole number"))?,
    };
    if attackers >= min {
        Ok(())
    } else {
        Err(format!("{attackers} attackers, fewer than {min}"))
    }
}

// The Wasm glue: bindings for the plugin world and the export. Only compiled for Wasm, so the
// native unit tests above need no WIT tooling.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "../../../wit/ruleset-filter", world: "battlescope:ruleset-filter/ruleset-filter" });

    use battlescope::ruleset_filter::types::{KillmailSummary, Setting, Verdict};
    use exports::battlescope::ruleset_filter::filter::Guest;

    struct Plugin;
    export!(Plugin);

    impl Guest for Plugin {
        fn evaluate(killmail: KillmailSummary, settings: Vec<Setting>) -> Verdict {
            let settings: Vec<(String, String)> = settings.into_iter().map(|s| (s.key, s.value)).collect();
            match super::decide(killmail.attackers.len(), &settings) {
                Ok(()) => Verdict::Accept,
                Err(reason) => Verdict::Reject(reason),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_killmails_with_enough_attackers() {
        let settings = vec![("min_attackers".to_string(), "3".to_string())];
        assert_eq!(decide(3, &settings), Ok(()));
        assert_eq!(decide(2, &settings).unwrap_err(), "2 attackers, fewer than 3");
        assert!(decide(1, &[("min_attackers".into(), "x".into())]).unwrap_err().contains("misconfigured"));
    }
}
