//! Stargate adjacency from the trimmed SDE (`data/sde/systems.csv`, last column).

use std::collections::HashMap;
use std::sync::OnceLock;

const SYSTEMS: &str = include_str!("../../../data/sde/systems.csv");

/// Region of a system, from the same file.
pub fn region(system: u32) -> Option<u32> {
    static MAP: OnceLock<HashMap<u32, u32>> = OnceLock::new();
    MAP.get_or_init(|| {
        SYSTEMS
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split(',');
                let id: u32 = fields.next()?.parse().ok()?;
                Some((id, fields.nth(2)?.parse().ok()?))
            })
            .collect()
    })
    .get(&system)
    .copied()
}

fn adjacency() -> &'static HashMap<u32, Vec<u32>> {
    static MAP: OnceLock<HashMap<u32, Vec<u32>>> = OnceLock::new();
    MAP.get_or_init(|| {
        SYSTEMS
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split(',');
                let id: u32 = fields.next()?.parse().ok()?;
                let neighbours = fields.nth(4).unwrap_or("").split_whitespace().filter_map(|n| n.parse().ok()).collect();
                Some((id, neighbours))
            })
            .collect()
    })
}

/// Stargate neighbours of a system (none for wormholes, abyssal pockets, unknown ids).
pub fn neighbours(system: u32) -> &'static [u32] {
    adjacency().get(&system).map(Vec::as_slice).unwrap_or(&[])
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
