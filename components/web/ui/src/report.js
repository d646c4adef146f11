// The battle report (GET /api/bff/battle/{id}): sides with their pilots, kills, losses, ISK
// and efficiency, ship groups fielded and lost, the timeline per side, the pilots with their
// ships, the killmails, zKillboard's related pages and battles nearby; redrawn while the
// battle is open and something is pushed about it.

import { el, show, main, isk, time, someNames, getJson, missingNotice, showError } from "./dom.js";
import { follow, pushedVersion } from "./live.js";
import { timelineCharts, sideColour } from "./chart.js";
import { addressMoves, toAddress } from "./moves.js";
import { moveControl, arrangementBar, reportPath } from "./arrange.js";

/**
 * A side's alliances (or, without any, its corporations), most pilots first, each with its
 * pilot count: players recognise a side by its biggest groups.
 */
function members(side, participants) {
  const byAlliance = side.alliances.length > 0;
  const list = byAlliance ? side.alliances : side.corporations;
  const pilots = new Map();
  for (const p of participants || []) {
    const id = byAlliance ? p.allianceId : p.corporationId;
    if (p.side === side.side && id) pilots.set(id, (pilots.get(id) || 0) + 1);
  }
  const kind = byAlliance ? "alliance" : "corporation";
  return list.map((u) => ({ ...u, kind, pilots: pilots.get(u.id) || 0 })).sort((a, b) => b.pilots - a.pilots);
}

const sideLabel = (list) => someNames(list, 2) || "unaffiliated";
const membersLine = (list) => {
  const shown = list.slice(0, 20).map((u) => `${u.name || u.id} (${u.pilots})`).join(", ");
  return list.length > 20 ? `${shown} +${list.length - 20} more` : shown || "unaffiliated";
};

function efficiency(eff) {
  if (eff === null || eff === undefined) return el("b", {}, "–");
  return el("b", { class: eff >= 0.5 ? "eff-good" : "eff-bad" }, `${Math.round(eff * 100)}%`);
}

/** Ship groups a side fielded (distinct pilots) and lost (ships), most fielded first. */
function shipGroups(stats, groupNames) {
  const fielded = stats.groupsFielded || {};
  const lost = stats.groupsLost || {};
  const ids = [...new Set([...Object.keys(fielded), ...Object.keys(lost)])]
    .sort((a, b) => (fielded[b] || 0) - (fielded[a] || 0) || (lost[b] || 0) - (lost[a] || 0));
  if (!ids.length) return null;
  const FEW = 10;
  const table = el("table", { class: "groups" },
    el("thead", {}, el("tr", {}, el("th", {}, "Ship group"), el("th", { class: "num" }, "fielded"), el("th", { class: "num" }, "lost"))),
    el("tbody", {}, ids.map((id, i) => el("tr", { class: i >= FEW ? "more" : null },
      el("td", {}, groupNames[id] || `group ${id}`),
      el("td", { class: "num" }, fielded[id] || 0),
      el("td", { class: "num" + (lost[id] ? " loss" : "") }, lost[id] || 0)))));
  if (ids.length <= FEW) return table;
  const all = el("button", { type: "button", class: "link", onclick: () => { table.classList.add("all"); all.remove(); } }, `all ${ids.length} ship groups`);
  return [table, all];
}

function sideCard(side, list, stats, groupNames, control) {
  const s = stats || {};
  return el("section", { class: "side", "data-side": side.side, style: `border-top-color:${sideColour(side.side)}` },
    el("h3", {}, `Side ${side.side + 1}`),
    el("p", { class: "members" }, membersLine(list)),
    el("div", { class: "stats" },
      el("div", {}, el("b", {}, side.pilots), "pilots"),
      el("div", {}, el("b", {}, side.kills), "kills"),
      el("div", {}, el("b", {}, side.losses), "losses"),
      el("div", {}, el("b", {}, isk(side.iskDestroyed)), "ISK killed"),
      el("div", {}, el("b", {}, isk(side.iskLost)), "ISK lost"),
      el("div", {}, efficiency(s.iskEfficiency), "efficiency")),
    shipGroups(s, groupNames),
    control);
}

function pilots(b) {
  const bySide = new Map(b.sides.map((s) => [s.side, []]));
  for (const p of b.participants || []) if (bySide.has(p.side)) bySide.get(p.side).push(p);
  return b.sides.map((side) => {
    const list = bySide.get(side.side).sort((x, y) => (x.characterName || "").localeCompare(y.characterName || ""));
    return el("details", { class: "pilots" },
      el("summary", {}, `Side ${side.side + 1}: ${list.length} pilots`),
      el("table", {}, el("tbody", {}, list.map((p) => el("tr", {},
        el("td", {}, p.characterName || p.characterId),
        el("td", { class: "dim" }, p.allianceName || p.corporationName || ""),
        el("td", {}, (p.ships || []).map((ship) => ship.name || ship.id).join(", ")))))));
  });
}

function killmails(list) {
  const kills = (list || []).slice().sort((x, y) => (y.totalValue || 0) - (x.totalValue || 0));
  return [
    el("h2", {}, `Killmails (${kills.length})`),
    el("table", { class: "killmails" }, el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Victim"), el("th", {}, "Ship"), el("th", { class: "num" }, "ISK"), el("th", { class: "hide-narrow" }, "System"))),
      el("tbody", {}, kills.slice(0, 200).map((k) => el("tr", {},
        el("td", {}, el("a", { href: `https://zkillboard.com/kill/${k.killmailId}/`, rel: "noopener" }, time(k.killmailTime))),
        el("td", {}, k.victim.characterName || "–", el("div", { class: "dim" }, k.victim.allianceName || k.victim.corporationName || "")),
        el("td", {}, k.victim.shipTypeName || k.victim.shipTypeId),
        el("td", { class: "num" }, isk(k.totalValue)),
        el("td", { class: "hide-narrow" }, k.solarSystemName))))),
    kills.length > 200 ? el("p", { class: "dim" }, `The 200 most valuable of ${kills.length} shown.`) : null,
  ];
}

/**
 * The report, from the BFF's cache unless this page knows of a newer version than the cached
 * one (a pushed update): then asked for fresh, which also refreshes the cache for others.
 */
async function fetchReport(id, fresh, moves) {
  const query = moves === null ? "" : `?moves=${encodeURIComponent(toAddress(moves))}`;
  const path = `/api/bff/battle/${encodeURIComponent(id)}${query}`;
  const r = await getJson(path, fresh ? { headers: { "cache-control": "no-cache" } } : {});
  const newer = pushedVersion(r.battle.battleId);
  return !fresh && newer > r.battle.version ? getJson(path, { headers: { "cache-control": "no-cache" } }) : r;
}

export async function battlePage(id, fresh = false) {
  // The server's summary (if it drew one) stays readable until the full report is ready.
  if (!main().querySelector("article.rendered")) show(main(), el("p", { class: "dim" }, "Loading the report…"));
  const moves = addressMoves();
  const r = await fetchReport(id, fresh, moves);
  const b = r.battle;
  const entries = b.statistics || [];
  const whole = entries.find((e) => e.side === -1);
  const perSide = Object.fromEntries(entries.filter((e) => e.side >= 0).map((e) => [e.side, e.statistics]));
  const systems = b.systems.map((s) => s.name || s.id).join(", ");
  document.title = `${b.title || systems}: ${b.kills} kills · BattleScope`;
  const memberLists = Object.fromEntries(b.sides.map((s) => [s.side, members(s, b.participants)]));
  // The unit a move to a side joins: its biggest.
  const biggest = Object.fromEntries(b.sides.map((s) => [s.side, memberLists[s.side][0]]));
  // A first move starts from the moves already saved.
  const shown = moves === null ? (b.sideMoves || []) : moves;
  const saved = () => { history.replaceState(null, "", reportPath(b.battleId, null)); battlePage(id, true).catch(showError); };
  const chartSides = b.sides.map((s) => ({ label: sideLabel(memberLists[s.side]), timeline: perSide[s.side] && perSide[s.side].timeline }));
  const width = Math.min(main().clientWidth - 16, 1168);
  show(main(),
    el("h1", {}, b.title || systems),
    el("p", { class: "dim headline" }, `${time(b.startTime)} – ${time(b.endTime)} UTC · ${b.kills} kills · ${b.pilots} pilots · ${isk(b.iskDestroyed)} ISK · ${b.status}`),
    missingNotice(r.missing),
    arrangementBar(b, moves, saved),
    el("div", { class: "sides" }, b.sides.map((s) => sideCard(s, memberLists[s.side], perSide[s.side], b.groupNames || {},
      moveControl(b, s, biggest, shown)))),
    el("h2", {}, "Timeline"), timelineCharts(chartSides, whole && whole.statistics.timeline, width),
    el("h2", {}, "Pilots"), pilots(b),
    killmails(r.killmails),
    el("h2", {}, "On zKillboard"),
    el("ul", { class: "plain" }, (r.zkillboard || []).map((url) => el("li", {}, el("a", { href: url, rel: "noopener" }, url.replace("https://zkillboard.com", ""))))),
    r.near && r.near.length ? el("div", {}, el("h2", {}, "Battles nearby"), el("ul", { class: "plain" },
      r.near.map((n) => el("li", {}, el("a", { href: `/battle/${n.battleId}` }, `${(n.systems || []).join(", ")} · ${n.kills} kills · ${time(n.startTime)}`))))) : null);
  follow(b.status === "open" ? [`battle:${b.battleId}`] : [], (push) => {
    if (push.type === "battle.updated" || push.type === "battle.ended") battlePage(id, true).catch(showError);
  });
}
