// Side corrections as a report's address carries them (`?moves=`): `unit>joins` separated by
// commas, each unit `alliance:<id>` or `corporation:<id>`, nothing after `>` for a side of its
// own; the battle API reads the same form (GET /api/battles/{id}?moves=) and takes the JSON
// form when an operator saves them (PATCH sideMoves).

const unitKey = (u) => `${u.kind}:${u.id}`;

function unitOf(key) {
  const [kind, id] = key.split(":");
  return { kind, id: Number(id) };
}

export function toAddress(moves) {
  return moves.map((m) => `${unitKey(m.unit)}>${m.joins ? unitKey(m.joins) : ""}`).join(",");
}

export function fromAddress(text) {
  if (!text) return [];
  return text.split(",").filter(Boolean).map((m) => {
    const [unit, joins] = m.split(">");
    return { unit: unitOf(unit), joins: joins ? unitOf(joins) : null };
  });
}

/** The moves of the address of this page, if it has any. */
export function addressMoves() {
  const text = new URLSearchParams(location.search).get("moves");
  return text === null ? null : fromAddress(text);
}

/** The units of a side (its alliances and its corporations without one), as moves name them. */
export const sideUnits = (side) => [
  ...side.alliances.map((a) => ({ kind: "alliance", id: a.id, name: a.name })),
  ...side.corporations.map((c) => ({ kind: "corporation", id: c.id, name: c.name })),
];

export { unitKey };
