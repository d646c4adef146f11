//! The host's ruleset-filter plugins, called through the `runner` import.

use super::battlescope::ruleset_filter::runner;
use super::battlescope::ruleset_filter::types::{KillmailSummary, Participant as WitParticipant, SecurityBand as WitBand};
use eve_static::SecurityBand;
use ingestion::intake::PluginVerdict;
use ingestion::killmail::{Killmail, Participant};
use ingestion::wasm::store::Store;

fn participant(p: &Participant) -> WitParticipant {
    WitParticipant {
        character_id: p.character_id,
        corporation_id: p.corporation_id,
        alliance_id: p.alliance_id,
        faction_id: p.faction_id,
        ship_type_id: p.ship_type_id,
        final_blow: p.final_blow,
    }
}

fn band(b: SecurityBand) -> Option<WitBand> {
    Some(match b {
        SecurityBand::Highsec => WitBand::Highsec,
        SecurityBand::Lowsec => WitBand::Lowsec,
        SecurityBand::Nullsec => WitBand::Nullsec,
        SecurityBand::Wormhole => WitBand::Wormhole,
        SecurityBand::Pochven => WitBand::Pochven,
        SecurityBand::Abyssal => WitBand::Abyssal,
        SecurityBand::Unknown => return None,
    })
}

fn summary(km: &Killmail) -> KillmailSummary {
    let location = km.location();
    KillmailSummary {
        killmail_id: km.id,
        killmail_time: km.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        solar_system_id: km.solar_system_id,
        region_id: location.map(|s| s.region_id),
        security: location.map(|s| s.security),
        security_band: location.and_then(|s| band(s.band)),
        victim: participant(&km.victim),
        attackers: km.attackers.iter().map(participant).collect(),
        total_value: km.zkb.as_ref().and_then(|z| z.total_value),
        values_synthetic: km.zkb.as_ref().is_some_and(|z| z.raw.get("synthetic").and_then(|s| s.as_bool()) == Some(true)),
        pilots: km.pilot_count() as u32,
    }
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
