//! The `killmail-summary` plugins see, built once for every set of bindings of the
//! ruleset-filter world: the ingestion worker's guest bindings and the host's (for
//! `battlescope plugin test`) are generated separately from the same WIT, so they are distinct
//! types with the same fields, and a macro builds either.

/// `plugin_summary!(killmail, KillmailSummary, Participant, SecurityBand)` with the caller's
/// generated types: the summary of a validated [`Killmail`](crate::killmail::Killmail).
#[macro_export]
macro_rules! plugin_summary {
    ($km:expr, $summary:ident, $participant:ident, $band:ident) => {{
        let km: &$crate::killmail::Killmail = $km;
        let participant = |p: &$crate::killmail::Participant| $participant {
            character_id: p.character_id,
            corporation_id: p.corporation_id,
            alliance_id: p.alliance_id,
            faction_id: p.faction_id,
            ship_type_id: p.ship_type_id,
            final_blow: p.final_blow,
        };
        let band = $crate::plugin_band!($band);
        let location = km.location();
        $summary {
            killmail_id: km.id,
            killmail_time: km.time.to_rfc3339_opts(::chrono::SecondsFormat::Secs, true),
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
    }};
}

/// `plugin_band!(SecurityBand)` with the caller's generated enum: a closure from the static
/// data's band to the plugin's (none for a system the static data does not know).
#[macro_export]
macro_rules! plugin_band {
    ($band:ident) => {
        |b: ::eve_static::SecurityBand| match b {
            ::eve_static::SecurityBand::Highsec => Some($band::Highsec),
            ::eve_static::SecurityBand::Lowsec => Some($band::Lowsec),
            ::eve_static::SecurityBand::Nullsec => Some($band::Nullsec),
            ::eve_static::SecurityBand::Wormhole => Some($band::Wormhole),
            ::eve_static::SecurityBand::Pochven => Some($band::Pochven),
            ::eve_static::SecurityBand::Abyssal => Some($band::Abyssal),
            ::eve_static::SecurityBand::Unknown => None,
        }
    };
}
