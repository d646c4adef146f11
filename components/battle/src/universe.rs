//! Regions, security and stargate adjacency from the trimmed SDE (`data/sde/systems.csv`,
//! compiled into a sorted table by `build.rs`).

/// A system's region, security status and stargate neighbours.
struct Place {
    id: u32,
    region: u32,
    security: f64,
    neighbours: &'static [u32],
}

include!(concat!(env!("OUT_DIR"), "/systems.rs"));

/// Pochven: triglavian space, a band of its own whatever its systems' security.
const POCHVEN_REGION: u32 = 10000070;

fn place(system: u32) -> Option<&'static Place> {
    PLACES.binary_search_by_key(&system, |p| p.id).ok().map(|i| &PLACES[i])
}

/// Region of a system.
pub fn region(system: u32) -> Option<u32> {
    place(system).map(|p| p.region)
}

/// The security band of a system, as enrichment names it (`killmail.enriched`'s
/// `securityBand`): the battle service is filtered on the same words.
pub fn security_band(system: u32) -> &'static str {
    match (system, place(system)) {
        (31_000_000..=31_999_999, _) => "wormhole",
        (32_000_000..=32_999_999, _) => "abyssal",
        (_, None) => "unknown",
        (_, Some(p)) if p.region == POCHVEN_REGION => "pochven",
        (_, Some(p)) if p.security >= 0.45 => "highsec",
        (_, Some(p)) if p.security > 0.0 => "lowsec",
        _ => "nullsec",
    }
}

/// Stargate neighbours of a system (none for wormholes, abyssal pockets, unknown ids).
pub fn neighbours(system: u32) -> &'static [u32] {
    place(system).map(|p| p.neighbours).unwrap_or(&[])
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

    #[test]
    fn bands() {
        assert_eq!(security_band(30000142), "highsec", "Jita");
        assert_eq!(security_band(30002813), "lowsec", "Tama");
        assert_eq!(security_band(30001046), "nullsec", "Jorund");
        assert_eq!(security_band(31000368), "wormhole");
        assert_eq!(security_band(1), "unknown");
    }
}
