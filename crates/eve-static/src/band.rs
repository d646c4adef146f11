//! Security bands: the space types players filter by.

use serde::{Deserialize, Serialize};

/// Pochven is a band of its own, although its systems report −1.0 security.
const POCHVEN_REGION: u32 = 10000070;
const WORMHOLE_IDS: std::ops::RangeInclusive<u64> = 31_000_000..=31_999_999;
const ABYSSAL_IDS: std::ops::RangeInclusive<u64> = 32_000_000..=32_999_999;

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
    /// A system id the static data does not know.
    Unknown,
}

impl SecurityBand {
    /// Every band a known system can have.
    pub const ALL: [SecurityBand; 6] = [
        SecurityBand::Highsec,
        SecurityBand::Lowsec,
        SecurityBand::Nullsec,
        SecurityBand::Wormhole,
        SecurityBand::Pochven,
        SecurityBand::Abyssal,
    ];

    /// The band's name in events, APIs and rulesets.
    pub const fn name(self) -> &'static str {
        match self {
            SecurityBand::Highsec => "highsec",
            SecurityBand::Lowsec => "lowsec",
            SecurityBand::Nullsec => "nullsec",
            SecurityBand::Wormhole => "wormhole",
            SecurityBand::Pochven => "pochven",
            SecurityBand::Abyssal => "abyssal",
            SecurityBand::Unknown => "unknown",
        }
    }

    /// A band by name (`highsec`, …, `unknown`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().chain([SecurityBand::Unknown]).find(|b| b.name() == name)
    }

    /// The band of a known system.
    pub const fn classify(system_id: u32, region_id: u32, security: f64) -> Self {
        match Self::of_id(system_id as u64) {
            SecurityBand::Unknown if region_id == POCHVEN_REGION => SecurityBand::Pochven,
            SecurityBand::Unknown if security >= 0.45 => SecurityBand::Highsec,
            SecurityBand::Unknown if security > 0.0 => SecurityBand::Lowsec,
            SecurityBand::Unknown => SecurityBand::Nullsec,
            by_id => by_id,
        }
    }

    /// What an id alone says: wormhole and abyssal ranges, else `Unknown`.
    pub const fn of_id(system_id: u64) -> Self {
        if system_id >= *WORMHOLE_IDS.start() && system_id <= *WORMHOLE_IDS.end() {
            SecurityBand::Wormhole
        } else if system_id >= *ABYSSAL_IDS.start() && system_id <= *ABYSSAL_IDS.end() {
            SecurityBand::Abyssal
        } else {
            SecurityBand::Unknown
        }
    }
}

impl std::fmt::Display for SecurityBand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
