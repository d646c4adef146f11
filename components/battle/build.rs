//! Turns `data/sde/systems.csv` into a sorted static table (`systems.rs` in `OUT_DIR`): the
//! component starts a fresh instance for every message, and parsing the file at each start
//! cost milliseconds per killmail.

use std::fmt::Write;

fn main() {
    let path = "../../data/sde/systems.csv";
    println!("cargo:rerun-if-changed={path}");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut rows: Vec<(u32, u32, f64, Vec<u32>)> = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        // id, name, constellation, region, security, neighbours
        let fields: Vec<&str> = line.split(',').collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or_else(|| panic!("{path}:{}: field {i}", n + 1));
        let neighbours = fields.get(5).unwrap_or(&"").split_whitespace().map(|s| s.parse().expect("neighbour id")).collect();
        rows.push((number(0) as u32, number(3) as u32, number(4), neighbours));
    }
    rows.sort_by_key(|r| r.0);
    let mut out = String::from("/// Every system of `data/sde/systems.csv`, sorted by id.\nstatic PLACES: &[Place] = &[\n");
    for (id, region, security, neighbours) in rows {
        writeln!(out, "    Place {{ id: {id}, region: {region}, security: {security:?}, neighbours: &{neighbours:?} }},").unwrap();
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("systems.rs");
    std::fs::write(dest, out).unwrap();
}
