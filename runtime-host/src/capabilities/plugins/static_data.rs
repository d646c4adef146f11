//! `battlescope:ruleset-filter/static-data`: the one import plugins get. Lookups in the
//! compiled static tables ingestion uses, so a plugin and the built-in rules agree on every
//! system's band and every ship's class.

use super::PluginState;
use crate::bindings::plugins::filter::battlescope::ruleset_filter::static_data::{Host, ItemType, SolarSystem};
use crate::bindings::plugins::types::SecurityBand;

/// The import's name as components spell it; the linker's capability check lets it through.
pub const IMPORT: &str = "battlescope:ruleset-filter/static-data@0.1.0";

impl Host for PluginState {
    fn lookup_system(&mut self, id: u32) -> Option<SolarSystem> {
        let system = eve_static::system(id.into())?;
        Some(SolarSystem {
            name: system.name.to_string(),
            constellation_id: system.constellation_id,
            region_id: system.region_id,
            region_name: system.region().map(|r| r.name.to_string()).unwrap_or_default(),
            security: system.security,
            security_band: ingestion::plugin_band!(SecurityBand)(system.band)?,
        })
    }

    fn lookup_type(&mut self, id: u32) -> Option<ItemType> {
        let item = eve_static::item_type(id.into())?;
        let group = item.group();
        let category = item.category();
        Some(ItemType {
            name: item.name.to_string(),
            group_id: item.group_id,
            group_name: group.map(|g| g.name.to_string()).unwrap_or_default(),
            category_id: group.map(|g| g.category_id).unwrap_or_default(),
            category_name: category.map(|c| c.name.to_string()).unwrap_or_default(),
            capital: eve_static::is_capital(id.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> PluginState {
        PluginState { limits: super::super::limits::CallLimits::new(1 << 20) }
    }

    #[test]
    fn systems_carry_region_and_band() {
        let jita = state().lookup_system(30000142).expect("Jita is in the static data");
        assert_eq!((jita.name.as_str(), jita.region_name.as_str()), ("Jita", "The Forge"));
        assert_eq!(jita.security_band, SecurityBand::Highsec);
        assert!(state().lookup_system(1).is_none());
    }

    #[test]
    fn ship_types_carry_group_category_and_class() {
        let avatar = state().lookup_type(11567).expect("the Avatar is in the static data");
        assert_eq!((avatar.group_name.as_str(), avatar.category_name.as_str(), avatar.capital), ("Titan", "Ship", true));
        let rifter = state().lookup_type(587).unwrap();
        assert_eq!((rifter.name.as_str(), rifter.capital), ("Rifter", false));
        assert!(state().lookup_type(u32::MAX).is_none());
    }
}
