// Search: one box, results grouped by kind (GET /api/search).

import { el, show, main, time, getJson, go } from "./dom.js";
import { follow } from "./live.js";
import { NAMED } from "./battles.js";

export async function searchPage(params) {
  const q = params.get("q") || "";
  const box = el("input", { name: "q", value: q, placeholder: "alliance, pilot, system…", autofocus: true });
  const form = el("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); go(`/search?q=${encodeURIComponent(box.value)}`); } }, box, el("button", {}, "Search"));
  show(main(), el("h1", {}, "Search"), form);
  follow([], () => {});
  if (!q) return;
  const r = await getJson(`/api/search?q=${encodeURIComponent(q)}`);
  const group = (title, items, line) => items && items.length ? el("section", {}, el("h2", {}, title), el("ul", { class: "plain" }, items.map(line))) : null;
  // Each found name opens the battles it was in.
  const entity = (param) => (e) => el("li", {},
    el("a", { href: `/?${new URLSearchParams({ [param]: e.id, ...(NAMED.includes(param) ? { [`${param}Name`]: e.name } : {}) })}` }, e.name),
    el("span", { class: "dim" }, ` · ${e.activity}`));
  const found = [
    group("Battles", r.battles, (b) => el("li", {}, el("a", { href: `/battle/${b.battleId}` }, `${(b.systems || []).join(", ")} · ${b.kills} kills · ${time(b.startTime)}`))),
    group("Alliances", r.alliances, entity("alliance")),
    group("Corporations", r.corporations, entity("corporation")),
    group("Pilots", r.pilots, entity("character")),
    group("Systems", r.systems, entity("system")),
  ].filter(Boolean);
  main().append(...(found.length ? found : [el("p", { class: "dim" }, "Nothing found.")]));
}
