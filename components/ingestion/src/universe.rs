//! Static data ingestion needs: where each solar system is and how secure it is, from the
//! trimmed SDE in `data/sde/systems.csv` (written by `scripts/trim-sde.py`).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

const SYSTEMS_CSV: &str = include_str!("../../../data/sde/systems.csv");

/// Pochven is its own space type, although its systems report −1.0 security.
const POCHVEN_REGION: u32 = 10000070;
const WORMHOLE_IDS: std::ops::Range<u32> = 31_000_000..32_000_000;
const ABYSSAL_IDS: std::ops::Range<u32> = 32_000_000..33_000_000;

/// Space types as the game shows them. High-sec from a true security of 0.45 (shown as 0.5),
/// low-sec above 0.0, null-sec at 0.0 or below (−1.0 included). Wormhole and abyssal systems
/// are known by their id range, Pochven by its region: their security numbers say nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecurityBand {
    Highsec,
    Lowsec,
    Nullsec,
    Wormhole,
    Pochven,
    Abyssal,
}

impl SecurityBand {
    pub const ALL: [SecurityBand; 6] = [
        SecurityBand::Highsec,
        SecurityBand::Lowsec,
        SecurityBand::Nullsec,
        SecurityBand::Wormhole,
        SecurityBand::Pochven,
        SecurityBand::Abyssal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SecurityBand::Highsec => "highsec",
            SecurityBand::Lowsec => "lowsec",
            SecurityBand::Nullsec => "nullsec",
            SecurityBand::Wormhole => "wormhole",
            SecurityBand::Pochven => "pochven",
            SecurityBand::Abyssal => "abyssal",
        }
    }

    pub fn classify(system_id: u32, region_id: u32, security: f64) -> Self {
        if WORMHOLE_IDS.contains(&system_id) {
            SecurityBand::Wormhole
        } else if ABYSSAL_IDS.contains(&system_id) {
            SecurityBand::Abyssal
        } else if region_id == POCHVEN_REGION {
            SecurityBand::Pochven
        } else if security >= 0.45 {
            SecurityBand::Highsec
        } else if security > 0.0 {
            SecurityBand::Lowsec
        } else {
            SecurityBand::Nullsec
        }
    }
}

/// One solar system of the static data.
#[derive(Debug, Clone, PartialEq)]
pub struct SolarSystem {
    pub id: u32,
    pub name: String,
    pub region_id: u32,
    pub security: f64,
    pub band: SecurityBand,
}

/// Look a system up in the embedded static data.
pub fn system(id: u32) -> Option<&'static SolarSystem> {
    static SYSTEMS: OnceLock<HashMap<u32, SolarSystem>> = OnceLock::new();
    SYSTEMS.get_or_init(|| parse_systems(SYSTEMS_CSV)).get(&id)
}

fn parse_systems(csv: &str) -> HashMap<u32, SolarSystem> {
    // The file is generated and embedded at build time; a malformed line is a build defect
    // that the unit tests catch, so it is skipped here rather than failing every killmail.
    csv.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split(',');
            let id: u32 = f.next()?.parse().ok()?;
            let name = f.next()?.to_string();
            let _constellation = f.next()?;
            let region_id: u32 = f.next()?.parse().ok()?;
            let security: f64 = f.next()?.parse().ok()?;
            let band = SecurityBand::classify(id, region_id, security);
            Some((id, SolarSystem { id, name, region_id, security, band }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_embedded_static_data_parses() {
        let lines = SYSTEMS_CSV.lines().count() - 1;
        assert_eq!(parse_systems(SYSTEMS_CSV).len(), lines);
        assert!(lines > 8000, "only {lines} systems embedded");
    }

    #[test]
    fn bands_of_known_systems() {
        let band = |id| system(id).unwrap_or_else(|| panic!("system {id} missing")).band;
        assert_eq!(band(30000142), SecurityBand::Highsec, "Jita");
        assert_eq!(band(30002813), SecurityBand::Lowsec, "Tama");
        assert_eq!(band(30001046), SecurityBand::Nullsec, "Jorund, −0.007");
        assert_eq!(band(31000005), SecurityBand::Wormhole, "Thera, −0.99 but a wormhole");
        assert_eq!(band(30000021), SecurityBand::Pochven, "Kuharah, −1.0 in Pochven");
        assert_eq!(band(32000115), SecurityBand::Abyssal);
        assert_eq!(system(30001046).unwrap().name, "Jorund");
    }

    #[test]
    fn minus_one_outside_pochven_is_nullsec_not_wormhole() {
        let s = SYSTEMS_CSV
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let id: u32 = f[0].parse().ok()?;
                (f[4] == "-1.000000" && f[3] != "10000070" && id < 31_000_000).then_some(id)
            })
            .next()
            .expect("a −1.0 null-sec system outside Pochven");
        assert_eq!(system(s).unwrap().band, SecurityBand::Nullsec);
    }

    #[test]
    fn the_band_edges_follow_the_rounding_the_game_shows() {
        assert_eq!(SecurityBand::classify(30000001, 1, 0.45), SecurityBand::Highsec);
        assert_eq!(SecurityBand::classify(30000001, 1, 0.449), SecurityBand::Lowsec);
        assert_eq!(SecurityBand::classify(30000001, 1, 0.0001), SecurityBand::Lowsec);
        assert_eq!(SecurityBand::classify(30000001, 1, 0.0), SecurityBand::Nullsec);
        assert_eq!(SecurityBand::classify(30000001, 1, -1.0), SecurityBand::Nullsec);
    }
}
