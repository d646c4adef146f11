//! Compiles the trimmed SDE in `data/sde/` into sorted static tables (`tables.rs` in
//! `OUT_DIR`). Components start a fresh instance per request or message, so parsing text at
//! start-up would be paid every time; a table costs nothing until it is read.

use std::fmt::Write;

const SDE: &str = "../../data/sde";

/// The rows of a CSV file (header skipped). Only a row's last field may be quoted (names with
/// commas or quotes), as `scripts/trim-sde.py` writes them.
fn rows(file: &str, fields: usize) -> Vec<Vec<String>> {
    let path = format!("{SDE}/{file}");
    println!("cargo:rerun-if-changed={path}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut f: Vec<String> = line.splitn(fields, ',').map(str::to_string).collect();
            assert_eq!(f.len(), fields, "{path}: {line:?} has fewer than {fields} fields");
            let last = f.last_mut().unwrap();
            if last.len() >= 2 && last.starts_with('"') && last.ends_with('"') {
                *last = last[1..last.len() - 1].replace("\"\"", "\"");
            }
            f
        })
        .collect();
    out.sort_by_key(|r| id(&path, &r[0]));
    out
}

fn id(path: &str, text: &str) -> u32 {
    text.parse().unwrap_or_else(|e| panic!("{path}: id {text:?}: {e}"))
}

fn main() {
    let mut out = String::new();
    let systems = rows("systems.csv", 6);
    writeln!(out, "pub(super) static SYSTEMS: &[System] = &[").unwrap();
    for r in &systems {
        // id, name, constellation, region, security, neighbours
        let security: f64 = r[4].parse().unwrap_or_else(|e| panic!("systems.csv: security {:?}: {e}", r[4]));
        let (system, region) = (id("systems.csv", &r[0]), id("systems.csv", &r[3]));
        let neighbours: Vec<u32> = r[5].split_whitespace().map(|n| id("systems.csv", n)).collect();
        writeln!(
            out,
            "    System {{ id: {system}, name: {:?}, constellation_id: {}, region_id: {region}, security: {security:?}, band: SecurityBand::classify({system}, {region}, {security:?}), neighbours: &{neighbours:?} }},",
            r[1], r[2]
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();
    for (file, table, kind, columns) in [
        ("regions.csv", "REGIONS", "Region", &["id", "name"][..]),
        ("categories.csv", "CATEGORIES", "Category", &["id", "name"][..]),
        ("groups.csv", "GROUPS", "Group", &["id", "category_id", "name"][..]),
        ("types.csv", "TYPES", "ItemType", &["id", "group_id", "name"][..]),
    ] {
        writeln!(out, "pub(super) static {table}: &[{kind}] = &[").unwrap();
        for r in rows(file, columns.len()) {
            let fields: Vec<String> = columns
                .iter()
                .zip(&r)
                .map(|(c, v)| if *c == "name" { format!("{c}: {v:?}") } else { format!("{c}: {}", id(file, v)) })
                .collect();
            writeln!(out, "    {kind} {{ {} }},", fields.join(", ")).unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let path = format!("{SDE}/capital_ship_types.txt");
    println!("cargo:rerun-if-changed={path}");
    let mut capitals: Vec<u32> = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .split_whitespace()
        .map(|n| id(&path, n))
        .collect();
    capitals.sort_unstable();
    writeln!(out, "pub(super) static CAPITAL_SHIP_TYPES: &[u32] = &{capitals:?};").unwrap();
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("tables.rs");
    std::fs::write(dest, out).unwrap();
}
