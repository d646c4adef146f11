// Moving an alliance or corporation to another side of a report: each move goes into the
// page's address (shareable; the report is redrawn from the BFF with the sides so corrected),
// and "Save" stores the arrangement as an operator's edit (PATCH sideMoves, with the API token).

import { el, go, getJson } from "./dom.js";
import { toAddress, sideUnits, unitKey } from "./moves.js";

const TOKEN_KEY = "battlescope.apiToken";

const reportPath = (battleId, moves) => moves === null ? `/battle/${battleId}` : `/battle/${battleId}?moves=${encodeURIComponent(toAddress(moves))}`;

/**
 * A side card's "move" control: one of its units to another side (its biggest unit is the
 * one joined) or to a side of its own. `moves` are the arrangement shown now.
 */
export function moveControl(battle, side, biggest, moves) {
  const units = sideUnits(side);
  if (!units.length) return null;
  const unit = el("select", { name: "unit", "aria-label": "who moves" }, units.map((u) => el("option", { value: unitKey(u) }, u.name || u.id)));
  const others = battle.sides.filter((s) => s.side !== side.side && biggest[s.side]);
  const target = el("select", { name: "target", "aria-label": "to which side" },
    others.map((s) => el("option", { value: `side-${s.side}` }, `Side ${s.side + 1}: ${biggest[s.side].name || biggest[s.side].id}`)),
    el("option", { value: "alone" }, "a side of its own"));
  const move = (e) => {
    e.preventDefault();
    const [kind, id] = unit.value.split(":");
    const chosen = target.value === "alone" ? null : biggest[Number(target.value.slice(5))];
    const joins = chosen ? { kind: chosen.kind, id: chosen.id } : null;
    go(reportPath(battle.battleId, [...moves, { unit: { kind, id: Number(id) }, joins }]));
  };
  return el("form", { class: "move", onsubmit: move }, "Move ", unit, " to ", target, " ", el("button", { type: "submit" }, "Move"));
}

/** While the address holds an arrangement: what it is, Save (with the token) and Discard. */
export function arrangementBar(battle, moves, onSaved) {
  if (moves === null) {
    return battle.sideMoves && battle.sideMoves.length
      ? el("p", { class: "dim" }, `Sides corrected by an operator (${battle.sideMoves.length} moves).`)
      : null;
  }
  const token = el("input", { type: "password", name: "token", placeholder: "API token", autocomplete: "off", value: sessionStorage.getItem(TOKEN_KEY) || "" });
  const status = el("span", { class: "dim", role: "status" });
  const save = async (e) => {
    e.preventDefault();
    status.textContent = "Saving…";
    try {
      await getJson(`/api/battles/${battle.battleId}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${token.value}`, "content-type": "application/json" },
        body: JSON.stringify({ sideMoves: moves }),
      });
      sessionStorage.setItem(TOKEN_KEY, token.value);
      onSaved();
    } catch (err) {
      status.textContent = `Not saved: ${err.message}`;
    }
  };
  return el("form", { class: "notice arrangement", onsubmit: save },
    `Unsaved side arrangement (${moves.length} ${moves.length === 1 ? "move" : "moves"}); this page's address shares it. `,
    token, " ", el("button", { type: "submit" }, "Save"), " ",
    el("button", { type: "button", onclick: () => go(reportPath(battle.battleId, null)) }, "Discard"), " ", status);
}

export { reportPath };
