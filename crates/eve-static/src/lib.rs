//! EVE Online's static data as compile-time tables, from the trimmed SDE in `data/sde/`:
//! solar systems with their constellation, region, security band and stargate neighbours;
//! regions; item types with their group and category; capital ship types.
//!
//! Every lookup is a binary search over a sorted static table: nothing is parsed when a
//! component instance starts, and tables a component never reads cost it nothing.

mod band;

pub use band::SecurityBand;

/// A solar system.
#[derive(Debug, PartialEq)]
pub struct System {
    pub id: u32,
    pub name: &'static str,
    pub constellation_id: u32,
    pub region_id: u32,
    /// True security status (the game shows it rounded to one decimal).
    pub security: f64,
    pub band: SecurityBand,
    /// Systems one stargate jump away (none in wormholes and abyssal pockets).
    pub neighbours: &'static [u32],
}

/// A region.
#[derive(Debug, PartialEq, Eq)]
pub struct Region {
    pub id: u32,
    pub name: &'static str,
}

/// An item category (Ship, Module, Charge, …).
#[derive(Debug, PartialEq, Eq)]
pub struct Category {
    pub id: u32,
    pub name: &'static str,
}

/// An item group (Frigate, Titan, …) of a category.
#[derive(Debug, PartialEq, Eq)]
pub struct Group {
    pub id: u32,
    pub category_id: u32,
    pub name: &'static str,
}

/// An item type (Rifter, Avatar, …) of a group.
#[derive(Debug, PartialEq, Eq)]
pub struct ItemType {
    pub id: u32,
    pub group_id: u32,
    pub name: &'static str,
}

/// The tables `build.rs` writes. (A system's true security can look like a constant such as
/// π/8 to clippy: it is data.)
#[allow(clippy::approx_constant)]
mod tables {
    use super::{Category, Group, ItemType, Region, SecurityBand, System};
    include!(concat!(env!("OUT_DIR"), "/tables.rs"));
}
use tables::{CAPITAL_SHIP_TYPES, CATEGORIES, GROUPS, REGIONS, SYSTEMS, TYPES};

fn find<T>(table: &'static [T], id: u64, key: impl Fn(&T) -> u32) -> Option<&'static T> {
    let id = u32::try_from(id).ok()?;
    table.binary_search_by_key(&id, key).ok().map(|i| &table[i])
}

/// A solar system by id.
pub fn system(id: u64) -> Option<&'static System> {
    find(SYSTEMS, id, |s| s.id)
}

/// A region by id.
pub fn region(id: u64) -> Option<&'static Region> {
    find(REGIONS, id, |r| r.id)
}

/// An item type by id.
pub fn item_type(id: u64) -> Option<&'static ItemType> {
    find(TYPES, id, |t| t.id)
}

/// An item group by id.
pub fn group(id: u64) -> Option<&'static Group> {
    find(GROUPS, id, |g| g.id)
}

/// An item category by id.
pub fn category(id: u64) -> Option<&'static Category> {
    find(CATEGORIES, id, |c| c.id)
}

impl System {
    pub fn region(&self) -> Option<&'static Region> {
        region(self.region_id.into())
    }
}

impl ItemType {
    pub fn group(&self) -> Option<&'static Group> {
        group(self.group_id.into())
    }

    pub fn category(&self) -> Option<&'static Category> {
        self.group().and_then(|g| category(g.category_id.into()))
    }
}

/// The security band of a system id: what the static data says, or what its id range says
/// (wormholes and abyssal pockets missing from the data), else `Unknown`.
pub fn band(system_id: u64) -> SecurityBand {
    match system(system_id) {
        Some(s) => s.band,
        None => SecurityBand::of_id(system_id),
    }
}

/// Stargate neighbours of a system (none for wormholes, abyssal pockets, unknown ids).
pub fn neighbours(system_id: u64) -> &'static [u32] {
    system(system_id).map(|s| s.neighbours).unwrap_or(&[])
}

/// Whether `b` is within `jumps` stargate jumps of `a`.
pub fn within(a: u64, b: u64, jumps: u8) -> bool {
    if a == b {
        return true;
    }
    let mut frontier = vec![a];
    let mut seen = vec![a];
    for _ in 0..jumps {
        let mut next = Vec::new();
        for s in frontier {
            for &n in neighbours(s) {
                let n = u64::from(n);
                if n == b {
                    return true;
                }
                if !seen.contains(&n) {
                    seen.push(n);
                    next.push(n);
                }
            }
        }
        frontier = next;
    }
    false
}

/// Whether a ship type is a capital (titan, dreadnought, lancer dreadnought, carrier,
/// supercarrier, force auxiliary, capital industrial).
pub fn is_capital(type_id: u64) -> bool {
    u32::try_from(type_id).is_ok_and(|t| CAPITAL_SHIP_TYPES.binary_search(&t).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_regions_and_bands() {
        let jita = system(30000142).unwrap();
        assert_eq!((jita.name, jita.region().unwrap().name, jita.band), ("Jita", "The Forge", SecurityBand::Highsec));
        assert_eq!(band(30002813), SecurityBand::Lowsec, "Tama");
        let minus_one = system(30004764).unwrap();
        assert_eq!((minus_one.security, minus_one.band), (-1.0, SecurityBand::Nullsec));
        assert_eq!(band(31000005), SecurityBand::Wormhole);
        assert_eq!(band(30000021), SecurityBand::Pochven);
        assert_eq!(band(32000115), SecurityBand::Abyssal);
        assert_eq!(band(12345), SecurityBand::Unknown);
        assert!(system(u64::MAX).is_none());
    }

    #[test]
    fn every_row_is_found() {
        assert!(SYSTEMS.len() > 8000 && TYPES.len() > 50000);
        assert!(SYSTEMS.iter().all(|s| system(s.id.into()) == Some(s)));
        assert!(TYPES.iter().all(|t| item_type(t.id.into()) == Some(t)));
        assert!(GROUPS.iter().all(|g| group(g.id.into()) == Some(g)));
    }

    #[test]
    fn jorund_and_its_neighbours() {
        assert_eq!(neighbours(30001046), &[30001044, 30001047, 30001049]);
        assert!(within(30001046, 30001047, 1));
        assert!(!within(30001046, 30000142, 1));
        assert!(within(30001046, 30001046, 0));
        let two_away = neighbours(30001047)
            .iter()
            .map(|n| u64::from(*n))
            .find(|n| *n != 30001046 && !neighbours(30001046).contains(&(*n as u32)))
            .unwrap();
        assert!(!within(30001046, two_away, 1) && within(30001046, two_away, 2));
        assert!(neighbours(31000005).is_empty(), "wormholes have no stargates");
    }

    #[test]
    fn types_groups_categories_and_capitals() {
        let rifter = item_type(587).unwrap();
        assert_eq!((rifter.name, rifter.group().unwrap().name, rifter.category().unwrap().name), ("Rifter", "Frigate", "Ship"));
        assert_eq!(item_type(3958).unwrap().name, "GDN-9 \"Nightstalker\" Combat Goggles", "quoted names");
        assert!(item_type(1).is_none());
        assert!(is_capital(11567), "Avatar");
        assert!(!is_capital(587));
    }
}
