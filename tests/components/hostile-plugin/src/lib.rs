//! A ruleset-filter plugin that misbehaves as its `mode` setting says:
//! `loop` never returns, `alloc` grows memory without bound, `trap` panics, `accept` behaves.
//! Built for `wasm32-wasip2` it also reads an environment variable, so it imports WASI: a
//! capability plugins do not get.

wit_bindgen::generate!({ path: "../../../wit/ruleset-filter", world: "battlescope:ruleset-filter/ruleset-filter" });

use battlescope::ruleset_filter::types::{KillmailSummary, Setting, Verdict};
use exports::battlescope::ruleset_filter::filter::Guest;

struct Hostile;
export!(Hostile);

impl Guest for Hostile {
    fn evaluate(killmail: KillmailSummary, settings: Vec<Setting>) -> Verdict {
        let mode = settings.iter().find(|s| s.key == "mode").map(|s| s.value.as_str()).unwrap_or("accept");
        if std::env::var("BATTLESCOPE_PLUGIN_PROBE").is_ok() {
            return Verdict::Reject("read the host's environment".into());
        }
        match mode {
            "loop" => {
                let mut n = killmail.killmail_id;
                loop {
                    n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("hostile plugin: trap on purpose"),
            _ => Verdict::Accept,
        }
    }
}
