// BattleScope's pages, drawn in the browser from the BFF (/api/bff/...), search and the live
// WebSocket. Real paths, so a report's link can be shared; the web component answers every
// page path with the same page and this routes it.

import { go, showError } from "./dom.js";
import { connectLive } from "./live.js";
import { battlesPage } from "./battles.js";
import { battlePage } from "./report.js";
import { searchPage } from "./search.js";
import { livePage } from "./feed.js";

function route() {
  const params = new URLSearchParams(location.search);
  const path = location.pathname;
  const page = path.startsWith("/battle/") ? battlePage(decodeURIComponent(path.slice("/battle/".length)))
    : path === "/search" ? searchPage(params)
    : path === "/live" ? livePage()
    : battlesPage(params);
  Promise.resolve(page).catch(showError);
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a");
  if (!a || a.origin !== location.origin || e.ctrlKey || e.metaKey || e.button !== 0) return;
  e.preventDefault();
  go(a.pathname + a.search);
});
window.addEventListener("popstate", route);
document.addEventListener("DOMContentLoaded", () => { connectLive(); route(); });
