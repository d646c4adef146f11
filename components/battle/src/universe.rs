//! Regions and stargate adjacency from the trimmed SDE (`data/sde/systems.csv`).

use std::collections::HashMap;
use std::sync::OnceLock;

const SYSTEMS: &str = include_str!("../../../data/sde/systems.csv");

/// A system's region and stargate neighbours.
struct Place {
    region: u32,
    neighbours: Vec<u32>,
}

/// Every system of the file, parsed once.
fn places() -> &'static HashMap<u32, Place> {
    static MAP: OnceLock<HashMap<u32, Place>> = OnceLock::new();
    MAP.get_or_init(|| {
        SYSTEMS
            .lines()
            .skip(1)
            .filter_map(|line| {
                // id, name, constellation, region, security, neighbours
                let fields: Vec<&str> = line.split(',').collect();
                let id: u32 = fields.first()?.parse().ok()?;
                let region = fields.get(3)?.parse().ok()?;
                let neighbours = fields.get(5).unwrap_or(&"").split_whitespace().filter_map(|n| n.parse().ok()).collect();
                Some((id, Place { region, neighbours }))
            })
            .collect()
    })
}

/// Region of a system.
pub fn region(system: u32) -> Option<u32> {
    places().get(&system).map(|p| p.region)
}

/// Stargate neighbours of a system (none for wormholes, abyssal pockets, unknown ids).
pub fn neighbours(system: u32) -> &'static [u32] {
    places().get(&system).map(|p| p.neighbours.as_slice()).unwrap_or(&[])
}

/// Whether `b` is within `jumps` stargate jumps of `a`.
pub fn within(a: u32, b: u32, jumps: u8) -> bool {
    if a == b {
        return true;
    }
    let mut frontier = vec![a];
    let mut seen = vec![a];
    for _ in 0..jumps {
        let mut next = Vec::new();
        for s in frontier {
            for &n in neighbours(s) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jorund_and_its_neighbours() {
        assert_eq!(neighbours(30001046), &[30001044, 30001047, 30001049]);
        assert!(within(30001046, 30001047, 1));
        assert!(!within(30001046, 30000142, 1));
        assert!(within(30001046, 30001046, 0));
        let two_away = neighbours(30001047).iter().copied().find(|n| *n != 30001046 && !neighbours(30001046).contains(n)).unwrap();
        assert!(!within(30001046, two_away, 1) && within(30001046, two_away, 2));
        assert!(neighbours(31000005).is_empty(), "wormholes have no stargates");
        assert_eq!(region(30001046), Some(10000012));
    }
}
