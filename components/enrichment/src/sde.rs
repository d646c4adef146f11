//! Static data, embedded from the trimmed SDE in `data/sde/` (sorted by id): solar systems
//! with their region and security, and item types with their group and category. Lookups
//! binary-search the text, so a fresh instance per message parses nothing it does not need.

use serde::Serialize;

const SYSTEMS: &str = include_str!("../../../data/sde/systems.csv");
const REGIONS: &str = include_str!("../../../data/sde/regions.csv");
const TYPES: &str = include_str!("../../../data/sde/types.csv");
const GROUPS: &str = include_str!("../../../data/sde/groups.csv");
const CATEGORIES: &str = include_str!("../../../data/sde/categories.csv");

const POCHVEN_REGION: u64 = 10000070;

/// The line of a sorted CSV (header first, id in the first column) whose id is `id`.
fn find(text: &'static str, id: u64) -> Option<&'static str> {
    let body = &text[text.find('\n')? + 1..];
    let bytes = body.as_bytes();
    let (mut low, mut high) = (0usize, bytes.len());
    // Works on bytes: a midpoint may fall inside a multi-byte name, newlines never do.
    while low < high {
        let mid = low + (high - low) / 2;
        let start = bytes[..mid].iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
        let end = bytes[start..].iter().position(|b| *b == b'\n').map(|i| start + i).unwrap_or(bytes.len());
        let line = &body[start..end];
        let line_id: u64 = line.split(',').next()?.parse().ok()?;
        match line_id.cmp(&id) {
            std::cmp::Ordering::Equal => return Some(line),
            std::cmp::Ordering::Less => low = end + 1,
            std::cmp::Ordering::Greater => high = start,
        }
    }
    None
}

/// The fields of a line; the last one may be quoted and hold commas (names).
fn fields(line: &str, n: usize) -> Vec<String> {
    let mut out: Vec<String> = line.splitn(n, ',').map(str::to_string).collect();
    if let Some(last) = out.last_mut() {
        if last.len() >= 2 && last.starts_with('"') && last.ends_with('"') {
            *last = last[1..last.len() - 1].replace("\"\"", "\"");
        }
    }
    out
}

/// Space types as the game shows them (same definition as ingestion's; each service owns its
/// copy). −1.0 is null-sec; wormhole and abyssal systems are known by id, Pochven by region.
pub fn security_band(system_id: u64, region_id: u64, security: f64) -> &'static str {
    match system_id {
        31_000_000..=31_999_999 => "wormhole",
        32_000_000..=32_999_999 => "abyssal",
        _ if region_id == POCHVEN_REGION => "pochven",
        _ if security >= 0.45 => "highsec",
        _ if security > 0.0 => "lowsec",
        _ => "nullsec",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SolarSystem {
    pub id: u64,
    pub name: Option<String>,
    pub constellation_id: Option<u64>,
    pub region_id: Option<u64>,
    pub region_name: Option<String>,
    pub security: Option<f64>,
    pub security_band: &'static str,
}

pub fn solar_system(id: u64) -> SolarSystem {
    let Some(line) = find(SYSTEMS, id) else {
        return SolarSystem { id, name: None, constellation_id: None, region_id: None, region_name: None, security: None, security_band: "unknown" };
    };
    // id, name, constellation, region, security, neighbours
    let f: Vec<&str> = line.split(',').collect();
    let region_id: Option<u64> = f.get(3).and_then(|r| r.parse().ok());
    let security: Option<f64> = f.get(4).and_then(|s| s.parse().ok());
    SolarSystem {
        id,
        name: f.get(1).map(|n| n.to_string()),
        constellation_id: f.get(2).and_then(|c| c.parse().ok()),
        region_id,
        region_name: region_id.and_then(|r| find(REGIONS, r)).map(|l| fields(l, 2)[1].clone()),
        security,
        security_band: match (region_id, security) {
            (Some(r), Some(s)) => security_band(id, r, s),
            _ => "unknown",
        },
    }
}

/// An item type with its group and category.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemType {
    pub name: String,
    pub group_id: u64,
    pub group_name: Option<String>,
    pub category_id: Option<u64>,
    pub category_name: Option<String>,
}

pub fn item_type(type_id: u64) -> Option<ItemType> {
    let f = fields(find(TYPES, type_id)?, 3);
    let group_id: u64 = f[1].parse().ok()?;
    let group = find(GROUPS, group_id).map(|l| fields(l, 3));
    let category_id: Option<u64> = group.as_ref().and_then(|g| g[1].parse().ok());
    Some(ItemType {
        name: f[2].clone(),
        group_id,
        group_name: group.map(|g| g[2].clone()),
        category_id,
        category_name: category_id.and_then(|c| find(CATEGORIES, c)).map(|l| fields(l, 2)[1].clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_and_type_is_found_by_binary_search() {
        for text in [SYSTEMS, TYPES, GROUPS, REGIONS, CATEGORIES] {
            for line in text.lines().skip(1) {
                let id: u64 = line.split(',').next().unwrap().parse().unwrap();
                assert_eq!(find(text, id), Some(line), "id {id}");
            }
        }
        assert_eq!(find(SYSTEMS, 1), None);
        assert_eq!(find(SYSTEMS, 99_999_999), None);
    }

    #[test]
    fn systems_with_regions_and_bands() {
        let jita = solar_system(30000142);
        assert_eq!((jita.name.as_deref(), jita.region_name.as_deref(), jita.security_band), (Some("Jita"), Some("The Forge"), "highsec"));
        assert_eq!(solar_system(30002813).security_band, "lowsec");
        let minus_one = solar_system(30004764);
        assert_eq!((minus_one.security, minus_one.security_band), (Some(-1.0), "nullsec"));
        assert_eq!(solar_system(31000005).security_band, "wormhole");
        assert_eq!(solar_system(30000021).security_band, "pochven");
        assert_eq!(solar_system(32000115).security_band, "abyssal");
        assert_eq!(solar_system(12345).security_band, "unknown");
    }

    #[test]
    fn types_with_groups_and_categories() {
        let rifter = item_type(587).unwrap();
        assert_eq!(rifter.name, "Rifter");
        assert_eq!(rifter.group_name.as_deref(), Some("Frigate"));
        assert_eq!(rifter.category_name.as_deref(), Some("Ship"));
        assert!(item_type(1).is_none());
    }
}
