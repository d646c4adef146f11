// The live feed (channel all:*): battles and killmails in lists of their own, so that a flood
// of killmails during a big fight (or a backfill) never scrolls a battle's change away. A
// battle has one line, showing its newest push.

import { el, show, main, isk, named } from "./dom.js";
import { follow } from "./live.js";

/** Lines kept in each list. */
const KEPT = 200;

function killLine(d) {
  return el("li", { "data-type": "killmail" },
    el("a", { href: `https://zkillboard.com/kill/${d.killmailId}/`, rel: "noopener" }, `${named(d.victim && d.victim.ship) || "a ship"} lost`),
    ` by ${named(d.victim && (d.victim.alliance || d.victim.corporation)) || "someone"} in ${named(d.system)} · ${isk(d.totalValue)} ISK`);
}

function battleLine(type, d) {
  return el("li", { "data-type": type, "data-battle": d.battleId, "data-version": d.version },
    el("a", { href: `/battle/${d.battleId}` }, `${type}: ${(d.systems || []).map((s) => s.name || s.id).join(", ")}`), ` · ${d.kills || 0} kills`);
}

function prependKept(list, line) {
  list.prepend(line);
  while (list.children.length > KEPT) list.lastChild.remove();
}

export function livePage() {
  const battles = el("ul", { class: "feed plain", id: "live-battles" });
  const kills = el("ul", { class: "feed plain", id: "live-killmails" });
  show(main(), el("h1", {}, "Live"), el("p", { class: "dim" }, "Every battle change and killmail as it happens."),
    el("h2", {}, "Battles"), battles, el("h2", {}, "Killmails"), kills);
  follow(["all:*"], (push) => {
    const d = push.data;
    if (!push.type || !d) return;
    if (push.type === "killmail") return prependKept(kills, killLine(d));
    if (!d.battleId) return;
    const shown = battles.querySelector(`li[data-battle="${CSS.escape(d.battleId)}"]`);
    // Created and updated travel apart and may overtake each other: an older version is stale.
    if (shown && Number(shown.dataset.version) > d.version) return;
    if (shown) shown.remove();
    prependKept(battles, battleLine(push.type, d));
  });
}
