// The live feed: every killmail and battle change as it is pushed (channel all:*).

import { el, show, main, isk, named } from "./dom.js";
import { follow } from "./live.js";

function line(push) {
  const d = push.data || {};
  if (push.type === "killmail") {
    return el("li", { "data-type": push.type },
      el("a", { href: `https://zkillboard.com/kill/${d.killmailId}/`, rel: "noopener" }, `${named(d.victim && d.victim.ship) || "a ship"} lost`),
      ` by ${named(d.victim && (d.victim.alliance || d.victim.corporation)) || "someone"} in ${named(d.system)} · ${isk(d.totalValue)} ISK`);
  }
  return el("li", { "data-type": push.type, "data-battle": d.battleId },
    el("a", { href: `/battle/${d.battleId}` }, `${push.type}: ${(d.systems || []).map((s) => s.name || s.id).join(", ")}`), ` · ${d.kills || 0} kills`);
}

export function livePage() {
  const list = el("ul", { class: "feed plain" });
  show(main(), el("h1", {}, "Live"), el("p", { class: "dim" }, "Every battle change and killmail as it happens."), list);
  follow(["all:*"], (push) => {
    if (!push.type || !push.data) return;
    list.prepend(line(push));
    while (list.children.length > 200) list.lastChild.remove();
  });
}
