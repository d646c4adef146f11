//! Operators' corrections of sides. Clustering's sides come from who shot whom, and are
//! sometimes wrong in ways a player sees at once (a small alliance that only lost ships put
//! with its killers' enemies, a third party folded into a side). A move takes a unit out of
//! the side it was given and puts it with another unit, or on a side of its own. Moves are
//! an input to every recomputation of the battle's sides, applied in order after clustering's,
//! so they stay right while the battle grows.

use crate::sides::Unit;
use serde::{Deserialize, Serialize};

/// One correction: `unit` fights on the side of `joins`, or alone when `joins` is null or
/// left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideMove {
    pub unit: Unit,
    pub joins: Option<Unit>,
}

fn unit(text: &str) -> Result<Unit, String> {
    let (kind, id) = text.split_once(':').ok_or_else(|| format!("{text:?} is not kind:id"))?;
    let id: u64 = id.parse().map_err(|_| format!("{id:?} in {text:?} is not an id"))?;
    match kind {
        "alliance" => Ok(Unit::Alliance(id)),
        "corporation" => Ok(Unit::Corporation(id)),
        other => Err(format!("{other:?} in {text:?}: a unit is an alliance or a corporation")),
    }
}

/// Moves as a page's address carries them: `unit>joins` separated by commas, each unit
/// `alliance:<id>` or `corporation:<id>`, nothing after `>` for a side of its own
/// (`alliance:99005338>alliance:1354830081,corporation:98000001>`).
pub fn parse_compact(text: &str) -> Result<Vec<SideMove>, String> {
    text.split(',')
        .filter(|m| !m.is_empty())
        .map(|m| {
            let (moved, joins) = m.split_once('>').ok_or_else(|| format!("{m:?} is not unit>joins"))?;
            Ok(SideMove { unit: unit(moved)?, joins: if joins.is_empty() { None } else { Some(unit(joins)?) } })
        })
        .collect()
}

/// `sides` with `moves` applied in order. A move whose unit is not in the battle, or whose
/// `joins` is not, changes nothing; sides left empty are dropped.
pub fn apply_moves(mut sides: Vec<Vec<Unit>>, moves: &[SideMove]) -> Vec<Vec<Unit>> {
    let side_of = |sides: &[Vec<Unit>], unit: Unit| sides.iter().position(|s| s.contains(&unit));
    for m in moves {
        let (Some(from), target) = (side_of(&sides, m.unit), m.joins.map(|j| side_of(&sides, j))) else { continue };
        match target {
            Some(None) => continue,
            Some(Some(to)) if to == from => continue,
            Some(Some(to)) => {
                sides[from].retain(|u| *u != m.unit);
                sides[to].push(m.unit);
                sides[to].sort();
            }
            None => {
                sides[from].retain(|u| *u != m.unit);
                sides.push(vec![m.unit]);
            }
        }
    }
    sides.retain(|s| !s.is_empty());
    sides
}

#[cfg(test)]
mod tests {
    use super::*;
    use Unit::{Alliance as A, Corporation as C};

    fn to(unit: Unit, joins: Unit) -> SideMove {
        SideMove { unit, joins: Some(joins) }
    }

    #[test]
    fn a_unit_moves_to_the_side_of_another() {
        let sides = vec![vec![A(1), A(2)], vec![A(3)]];
        assert_eq!(apply_moves(sides, &[to(A(2), A(3))]), vec![vec![A(1)], vec![A(2), A(3)]]);
    }

    #[test]
    fn alone_makes_a_side_and_emptied_sides_go() {
        let sides = vec![vec![A(1), C(5)], vec![A(3)]];
        let moved = apply_moves(sides, &[SideMove { unit: C(5), joins: None }, to(A(3), A(1))]);
        assert_eq!(moved, vec![vec![A(1), A(3)], vec![C(5)]]);
    }

    #[test]
    fn moves_about_units_not_in_the_battle_change_nothing() {
        let sides = vec![vec![A(1)], vec![A(3)]];
        let moves = [to(A(9), A(1)), to(A(1), A(9)), to(A(1), A(1))];
        assert_eq!(apply_moves(sides.clone(), &moves), sides);
    }

    #[test]
    fn moves_apply_in_order() {
        let sides = vec![vec![A(1)], vec![A(2)], vec![A(3)]];
        let moved = apply_moves(sides, &[to(A(1), A(2)), to(A(2), A(3))]);
        assert_eq!(moved, vec![vec![A(1)], vec![A(2), A(3)]]);
    }

    #[test]
    fn moves_read_from_a_page_address() {
        let moves = parse_compact("alliance:99005338>alliance:1354830081,corporation:98000001>").unwrap();
        assert_eq!(moves, vec![to(A(99005338), A(1354830081)), SideMove { unit: C(98000001), joins: None }]);
        assert_eq!(parse_compact("").unwrap(), vec![]);
        for bad in ["alliance:1", "pilot:1>", "alliance:x>", "alliance1>alliance:2"] {
            assert!(parse_compact(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn moves_read_and_write_as_the_api_shows_them() {
        let m: SideMove = serde_json::from_str(r#"{"unit": {"kind": "alliance", "id": 99005338}, "joins": null}"#).unwrap();
        assert_eq!(m, SideMove { unit: A(99005338), joins: None });
        assert!(serde_json::from_str::<SideMove>(r#"{"unit": {"kind": "pilot", "id": 1}, "joins": null}"#).is_err());
        let alone: SideMove = serde_json::from_str(r#"{"unit": {"kind": "alliance", "id": 1}}"#).unwrap();
        assert_eq!(alone.joins, None, "no joins: a side of its own");
    }
}
