// The battles page: newest first, filters (alliance, corporation and region by name with
// autocomplete, security band, time, size, ISK), the search
// index's facets, and new or growing battles moving to the top as they are pushed.

import { el, show, main, isk, time, names, someNames, getJson, missingNotice, go } from "./dom.js";
import { follow } from "./live.js";

function battleRow(b) {
  const bands = [...new Set((b.systems || []).map((s) => s.securityBand))].join(", ");
  return el("tr", { "data-id": b.battleId },
    el("td", {}, el("a", { href: `/battle/${b.battleId}` }, (b.systems || []).map((s) => s.name || s.id).join(", "))),
    el("td", { class: "hide-narrow" }, names(b.regions), el("div", { class: "dim" }, bands)),
    el("td", { class: "when" }, time(b.startTime), el("div", { class: "dim" }, b.status)),
    el("td", { class: "num" }, b.kills),
    el("td", { class: "num hide-narrow" }, b.pilots),
    el("td", { class: "num" }, isk(b.iskDestroyed)),
    el("td", { class: "hide-narrow" }, (b.sides || []).map((s) => someNames(s.alliances.length ? s.alliances : s.corporations)).filter(Boolean).join(" vs ")));
}

/** Filters chosen by name: the battle API's parameter, which the search API also names as a type. */
export const NAMED = ["alliance", "corporation", "region"];
const nameParam = (param) => `${param}Name`;

/**
 * A box for an alliance, corporation or region by name: typing asks search for names,
 * picking one fills the hidden id the filter sends.
 */
function entityInput(param, initial) {
  const input = el("input", { name: nameParam(param), placeholder: param, autocomplete: "off", value: initial.name || "" });
  const hidden = el("input", { type: "hidden", name: param, value: initial.id || "" });
  const list = el("ul", { hidden: true, class: "suggestions" });
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    hidden.value = "";
    const q = input.value.trim();
    if (q.length < 2) { list.hidden = true; return; }
    timer = setTimeout(async () => {
      const found = await getJson(`/api/search/entities?type=${param}&limit=6&q=${encodeURIComponent(q)}`).catch(() => ({ entities: [] }));
      list.replaceChildren(...found.entities.map((e) => el("li", {
        onclick: () => { input.value = e.name; hidden.value = e.id; list.hidden = true; },
      }, e.name, el("span", { class: "dim" }, ` · ${e.activity} kills`))));
      list.hidden = found.entities.length === 0;
    }, 150);
  });
  return el("span", { class: "suggest" }, input, hidden, list);
}

function filters(params) {
  const form = el("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v && !NAMED.map(nameParam).includes(k)) q.set(k, v);
    // The names ride along in the address, for the boxes to show them again.
    for (const param of NAMED) if (q.get(param)) q.set(nameParam(param), form.elements[nameParam(param)].value);
    go(`/?${q}`);
  } },
  el("label", {}, "security", el("select", { name: "securityBand" }, ["", "highsec", "lowsec", "nullsec", "wormhole", "pochven"].map((b) =>
    el("option", { value: b, selected: params.get("securityBand") === b }, b || "any")))),
  NAMED.map((param) => el("label", {}, param, entityInput(param, { id: params.get(param), name: params.get(nameParam(param)) }))),
  el("label", {}, "min kills", el("input", { name: "minKills", type: "number", min: 0, value: params.get("minKills") || "" })),
  el("label", {}, "min ISK", el("input", { name: "minIsk", type: "number", min: 0, value: params.get("minIsk") || "" })),
  el("label", {}, "from", el("input", { name: "from", placeholder: "2021-11-28T00:00:00Z", value: params.get("from") || "" })),
  el("label", {}, "to", el("input", { name: "to", placeholder: "2021-11-29T00:00:00Z", value: params.get("to") || "" })),
  el("button", { type: "submit" }, "Filter"));
  return form;
}

export async function battlesPage(params) {
  const form = filters(params);
  const query = new URLSearchParams(params);
  for (const param of NAMED) query.delete(nameParam(param));
  if (!query.get("limit")) query.set("limit", "50");
  show(main(), el("h1", {}, "Battles"), form, el("p", { class: "dim" }, "Loading…"));
  const data = await getJson(`/api/bff/battles?${query}`);
  const facets = data.facets ? Object.entries(data.facets).flatMap(([, counts]) =>
    counts.slice(0, 6).map((c) => el("span", { class: "chip" }, `${c.value} · ${c.count}`))) : [];
  const body = el("tbody", {}, data.battles.map(battleRow));
  const more = data.nextCursor ? el("p", {}, el("a", { href: `/?${new URLSearchParams({ ...Object.fromEntries(params), cursor: data.nextCursor })}` }, "Older battles →")) : null;
  show(main(), el("h1", {}, "Battles"), form, missingNotice(data.missing), el("div", { class: "facets" }, facets),
    el("table", { class: "battles" }, el("thead", {}, el("tr", {}, el("th", {}, "Systems"), el("th", { class: "hide-narrow" }, "Region"), el("th", {}, "Start"),
      el("th", { class: "num" }, "Kills"), el("th", { class: "num hide-narrow" }, "Pilots"), el("th", { class: "num" }, "ISK"), el("th", { class: "hide-narrow" }, "Sides"))), body),
    data.battles.length ? more : el("p", { class: "dim" }, "No battles match."));
  // A battle created or grown moves to the top (on the first page only).
  follow(params.get("cursor") ? [] : ["all:*"], (push) => {
    if (!push.type || !push.type.startsWith("battle.") || push.type === "battle.removed") return;
    const old = body.querySelector(`tr[data-id="${push.data.battleId}"]`);
    const row = battleRow(push.data);
    row.classList.add("fresh");
    if (old) old.replaceWith(row); else body.prepend(row);
  });
}
