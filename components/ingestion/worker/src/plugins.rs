//! The host's ruleset-filter plugins, called through the `runner` import.

use super::battlescope::ruleset_filter::runner;
use super::battlescope::ruleset_filter::types::{KillmailSummary, Participant as WitParticipant, SecurityBand as WitBand};
use ingestion::intake::PluginVerdict;
use ingestion::killmail::Killmail;
use ingestion::wasm::store::Store;

fn summary(km: &Killmail) -> KillmailSummary {
    ingestion::plugin_summary!(km, KillmailSummary, WitParticipant, WitBand)
}

/// Ask the plugins; their failures are counted per plugin in the service's statistics.
pub fn run(store: &Store, km: &Killmail) -> PluginVerdict {
    let outcome = runner::evaluate(&summary(km));
    // The host logged each failure with the plugin's name; here they are counted.
    for failure in &outcome.failures {
        if let Err(e) = store.count(&format!("plugin_failures:{}", failure.plugin), 1) {
            eprintln!("ingestion: {e}");
        }
    }
    match outcome.rejection {
        Some(r) => PluginVerdict::Reject { plugin: r.plugin, reason: r.reason },
        None => PluginVerdict::Accept,
    }
}
