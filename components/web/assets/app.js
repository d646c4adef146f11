// BattleScope's pages, drawn in the browser from the BFF (/api/bff/...), search and the live
// WebSocket (/ws/live). No framework and no build step: every text goes in through
// textContent, never as HTML.
"use strict";

const main = () => document.getElementById("main");

/** An element with attributes (on* are listeners) and children (strings become text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

const isk = (v) => {
  if (v === null || v === undefined) return "–";
  const units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
  for (const [n, s] of units) if (Math.abs(v) >= n) return (v / n).toFixed(1) + s;
  return Math.round(v).toString();
};
const time = (t) => (t ? t.replace("T", " ").replace(/:\d\dZ$/, "") : "–");
const named = (x) => (x ? x.name || x.id : null);
const names = (list) => (list || []).map(named).join(", ");
/** The first few names, and how many more. */
const someNames = (list, few = 3) => {
  const all = (list || []).map(named);
  return all.length > few ? `${all.slice(0, few).join(", ")} +${all.length - few}` : all.join(", ");
};
/** Replace a container's children, leaving out the parts a page did not have. */
const show = (node, ...children) => node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));

async function getJson(url) {
  const r = await fetch(url, { headers: { accept: "application/json" } });
  const body = await r.json().catch(() => ({ error: `answered ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `answered ${r.status}`);
  return body;
}

function missingNotice(missing) {
  if (!missing || missing.length === 0) return null;
  return el("p", { class: "notice" }, `Unavailable right now: ${missing.join(", ")}. The rest of the page is current.`);
}

// ---- Live updates: one socket, pages subscribe to the channels they show.

const live = { socket: null, handlers: new Set(), channels: new Set() };

function connectLive() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${proto}//${location.host}/ws/live`);
  live.socket = socket;
  const state = document.getElementById("live-state");
  socket.addEventListener("open", () => {
    state.textContent = "live";
    state.classList.add("on");
    if (live.channels.size) socket.send(JSON.stringify({ action: "sub", channels: [...live.channels] }));
  });
  socket.addEventListener("close", () => {
    state.textContent = "offline";
    state.classList.remove("on");
    setTimeout(connectLive, 3000);
  });
  socket.addEventListener("message", (m) => {
    let push;
    try { push = JSON.parse(m.data); } catch { return; }
    for (const h of live.handlers) h(push);
  });
}

function follow(channels, handler) {
  live.handlers.clear();
  const old = [...live.channels];
  live.channels = new Set(channels);
  const open = live.socket && live.socket.readyState === WebSocket.OPEN;
  if (open && old.length) live.socket.send(JSON.stringify({ action: "unsub", channels: old }));
  if (open && channels.length) live.socket.send(JSON.stringify({ action: "sub", channels }));
  live.handlers.add(handler);
}

// ---- Battles: newest first, filters, new and growing battles appear live.

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

function allianceInput(initial) {
  const input = el("input", { name: "allianceName", placeholder: "alliance", autocomplete: "off", value: initial.name || "" });
  const hidden = el("input", { type: "hidden", name: "alliance", value: initial.id || "" });
  const list = el("ul", { hidden: true });
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    hidden.value = "";
    const q = input.value.trim();
    if (q.length < 2) { list.hidden = true; return; }
    timer = setTimeout(async () => {
      const found = await getJson(`/api/search/entities?type=alliance&limit=6&q=${encodeURIComponent(q)}`).catch(() => ({ entities: [] }));
      list.replaceChildren(...found.entities.map((e) => el("li", {
        onclick: () => { input.value = e.name; hidden.value = e.id; list.hidden = true; },
      }, e.name, el("span", { class: "dim" }, ` · ${e.activity} kills`))));
      list.hidden = found.entities.length === 0;
    }, 150);
  });
  return el("span", { class: "suggest" }, input, hidden, list);
}

async function battlesPage(params) {
  const form = el("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v && k !== "allianceName") q.set(k, v);
    if (q.get("alliance")) q.set("allianceName", form.elements.allianceName.value);
    go(`/?${q}`);
  } },
  el("label", {}, "security", el("select", { name: "securityBand" }, ["", "highsec", "lowsec", "nullsec", "wormhole", "pochven"].map((b) =>
    el("option", { value: b, selected: params.get("securityBand") === b }, b || "any")))),
  el("label", {}, "alliance", allianceInput({ id: params.get("alliance"), name: params.get("allianceName") })),
  el("label", {}, "min kills", el("input", { name: "minKills", type: "number", min: 0, value: params.get("minKills") || "", style: null })),
  el("label", {}, "min ISK", el("input", { name: "minIsk", type: "number", min: 0, value: params.get("minIsk") || "" })),
  el("label", {}, "from", el("input", { name: "from", placeholder: "2021-11-28T00:00:00Z", value: params.get("from") || "" })),
  el("button", { type: "submit" }, "Filter"));
  const query = new URLSearchParams(params);
  query.delete("allianceName");
  if (!query.get("limit")) query.set("limit", "50");
  show(main(), el("h1", {}, "Battles"), form, el("p", { class: "dim" }, "Loading…"));
  const data = await getJson(`/api/bff/battles?${query}`);
  const facets = data.facets ? Object.entries(data.facets).flatMap(([field, counts]) =>
    counts.slice(0, 6).map((c) => el("span", { class: "chip" }, `${c.value} · ${c.count}`))) : [];
  const body = el("tbody", {}, data.battles.map(battleRow));
  const more = data.nextCursor ? el("p", {}, el("a", { href: `/?${new URLSearchParams({ ...Object.fromEntries(params), cursor: data.nextCursor })}` }, "Older battles →")) : null;
  show(main(), el("h1", {}, "Battles"), form, missingNotice(data.missing), el("div", { class: "facets" }, facets),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Systems"), el("th", { class: "hide-narrow" }, "Region"), el("th", {}, "Start"),
      el("th", { class: "num" }, "Kills"), el("th", { class: "num hide-narrow" }, "Pilots"), el("th", { class: "num" }, "ISK"), el("th", { class: "hide-narrow" }, "Sides"))), body),
    data.battles.length ? more : el("p", { class: "dim" }, "No battles match."));
  // Live: a battle created or grown moves to the top (only on the first page, unfiltered by cursor).
  follow(params.get("cursor") ? [] : ["all:*"], (push) => {
    if (!push.type || !push.type.startsWith("battle.") || push.type === "battle.removed") return;
    const old = body.querySelector(`tr[data-id="${push.data.battleId}"]`);
    const row = battleRow(push.data);
    row.classList.add("fresh");
    if (old) old.replaceWith(row); else body.prepend(row);
  });
}

// ---- The battle report.

function sideCard(side, stats) {
  const s = stats || {};
  const eff = s.iskEfficiency;
  const lost = Object.entries(s.shipsLost || {}).sort((a, b) => b[1] - a[1]).slice(0, 8);
  return el("section", { class: "side" },
    el("h3", {}, `Side ${side.side + 1}: `, someNames(side.alliances.length ? side.alliances : side.corporations, 4) || "unaffiliated"),
    el("div", { class: "stats" },
      el("div", {}, el("b", {}, side.pilots), "pilots"),
      el("div", {}, el("b", {}, side.kills), "kills"),
      el("div", {}, el("b", {}, side.losses), "losses"),
      el("div", {}, el("b", {}, isk(side.iskDestroyed)), "ISK killed"),
      el("div", {}, el("b", {}, isk(side.iskLost)), "ISK lost"),
      el("div", {}, el("b", { class: eff === null || eff === undefined ? "" : eff >= 0.5 ? "eff-good" : "eff-bad" },
        eff === null || eff === undefined ? "–" : `${Math.round(eff * 100)}%`), "efficiency")),
    lost.length ? el("div", {}, el("div", { class: "dim" }, "Ships lost"), el("ul", { class: "plain" },
      lost.map(([type, n]) => el("li", {}, `${n} × ${shipName(type)}`)))) : null);
}

let shipNames = {};
const shipName = (id) => shipNames[id] || `type ${id}`;

function timeline(minutes) {
  if (!minutes || !minutes.length) return null;
  const top = Math.max(...minutes.map((m) => m.kills));
  return el("div", { class: "timeline", title: "kills per minute" },
    minutes.map((m) => el("span", { style: `height:${Math.max(1, (m.kills / top) * 100)}%`, title: `${time(new Date(m.minute * 1000).toISOString())}: ${m.kills} kills, ${isk(m.isk)} ISK` })));
}

async function battlePage(id) {
  show(main(), el("p", { class: "dim" }, "Loading the report…"));
  const r = await getJson(`/api/bff/battle/${encodeURIComponent(id)}`);
  const b = r.battle;
  shipNames = b.names || {};
  const whole = (b.statistics || []).find((e) => e.side === -1);
  const perSide = Object.fromEntries((b.statistics || []).filter((e) => e.side >= 0).map((e) => [e.side, e.statistics]));
  const systems = b.systems.map((s) => s.name || s.id).join(", ");
  document.title = `${systems}: ${b.kills} kills · BattleScope`;
  const kills = (r.killmails || []).slice().sort((x, y) => (y.totalValue || 0) - (x.totalValue || 0));
  show(main(), 
    el("h1", {}, `${systems}`),
    el("p", { class: "dim" }, `${time(b.startTime)} – ${time(b.endTime)} · ${b.kills} kills · ${b.pilots} pilots · ${isk(b.iskDestroyed)} ISK · ${b.status}`),
    missingNotice(r.missing),
    el("div", { class: "sides" }, b.sides.map((s) => sideCard(s, perSide[s.side]))),
    el("h2", {}, "Timeline"), timeline(whole && whole.statistics.timeline),
    el("h2", {}, `Killmails (${kills.length})`),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Victim"), el("th", {}, "Ship"), el("th", { class: "num" }, "ISK"), el("th", { class: "hide-narrow" }, "System"))),
      el("tbody", {}, kills.slice(0, 200).map((k) => el("tr", {},
        el("td", {}, el("a", { href: `https://zkillboard.com/kill/${k.killmailId}/`, rel: "noopener" }, time(k.killmailTime))),
        el("td", {}, k.victim.characterName || "–", el("div", { class: "dim" }, k.victim.allianceName || k.victim.corporationName || "")),
        el("td", {}, k.victim.shipTypeName || k.victim.shipTypeId),
        el("td", { class: "num" }, isk(k.totalValue)),
        el("td", { class: "hide-narrow" }, k.solarSystemName))))),
    kills.length > 200 ? el("p", { class: "dim" }, `The 200 most valuable of ${kills.length} shown.`) : null,
    el("h2", {}, "On zKillboard"),
    el("ul", { class: "plain" }, (r.zkillboard || []).map((url) => el("li", {}, el("a", { href: url, rel: "noopener" }, url.replace("https://zkillboard.com", ""))))),
    r.near && r.near.length ? el("div", {}, el("h2", {}, "Battles nearby"), el("ul", { class: "plain" },
      r.near.map((n) => el("li", {}, el("a", { href: `/battle/${n.battleId}` }, `${(n.systems || []).join(", ")} · ${n.kills} kills · ${time(n.startTime)}`))))) : null);
  follow(b.status === "open" ? [`battle:${b.battleId}`] : [], (push) => {
    if (push.type === "battle.updated" || push.type === "battle.ended") battlePage(id).catch(showError);
  });
}

// ---- Search and the live feed.

async function searchPage(params) {
  const q = params.get("q") || "";
  const box = el("input", { name: "q", value: q, placeholder: "alliance, pilot, system…", autofocus: true });
  const form = el("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); go(`/search?q=${encodeURIComponent(box.value)}`); } }, box, el("button", {}, "Search"));
  show(main(), el("h1", {}, "Search"), form);
  follow([], () => {});
  if (!q) return;
  const r = await getJson(`/api/search?q=${encodeURIComponent(q)}`);
  const group = (title, items, line) => items && items.length ? el("section", {}, el("h2", {}, title), el("ul", { class: "plain" }, items.map(line))) : null;
  main().append(...[
    group("Battles", r.battles, (b) => el("li", {}, el("a", { href: `/battle/${b.battleId}` }, `${(b.systems || []).join(", ")} · ${b.kills} kills · ${time(b.startTime)}`))),
    group("Alliances", r.alliances, (e) => el("li", {}, el("a", { href: `/?alliance=${e.id}&allianceName=${encodeURIComponent(e.name)}` }, e.name), el("span", { class: "dim" }, ` · ${e.activity}`))),
    group("Corporations", r.corporations, (e) => el("li", {}, e.name, el("span", { class: "dim" }, ` · ${e.activity}`))),
    group("Pilots", r.pilots, (e) => el("li", {}, e.name, el("span", { class: "dim" }, ` · ${e.activity}`))),
    group("Systems", r.systems, (e) => el("li", {}, el("a", { href: `/?system=${e.id}` }, e.name), el("span", { class: "dim" }, ` · ${e.activity}`))),
  ].filter(Boolean));
}

function livePage() {
  const list = el("ul", { class: "feed plain" });
  show(main(), el("h1", {}, "Live"), el("p", { class: "dim" }, "Every battle change and killmail as it happens."), list);
  follow(["all:*"], (push) => {
    if (!push.type) return;
    const d = push.data || {};
    const line = push.type === "killmail"
      ? el("li", {}, el("a", { href: `https://zkillboard.com/kill/${d.killmailId}/`, rel: "noopener" }, `${named(d.victim && d.victim.ship) || "a ship"} lost`),
          ` by ${named(d.victim && (d.victim.alliance || d.victim.corporation)) || "someone"} in ${named(d.system)} · ${isk(d.totalValue)} ISK`)
      : el("li", {}, el("a", { href: `/battle/${d.battleId}` }, `${push.type}: ${(d.systems || []).map((s) => s.name || s.id).join(", ")}`), ` · ${d.kills || 0} kills`);
    list.prepend(line);
    while (list.children.length > 200) list.lastChild.remove();
  });
}

// ---- Routing: real paths, so a report's link can be shared.

function showError(e) {
  show(main(), el("p", { class: "error" }, `Could not load this page: ${e.message}`));
}

function route() {
  const params = new URLSearchParams(location.search);
  const path = location.pathname;
  const page = path.startsWith("/battle/") ? battlePage(decodeURIComponent(path.slice(8)))
    : path === "/search" ? searchPage(params)
    : path === "/live" ? livePage()
    : battlesPage(params);
  Promise.resolve(page).catch(showError);
}

function go(url) {
  history.pushState(null, "", url);
  route();
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a");
  if (!a || a.origin !== location.origin || e.ctrlKey || e.metaKey || e.button !== 0) return;
  e.preventDefault();
  go(a.pathname + a.search);
});
window.addEventListener("popstate", route);
document.addEventListener("DOMContentLoaded", () => { connectLive(); route(); });
