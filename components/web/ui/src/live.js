// The live WebSocket (/ws/live, docs/notifications.md): one socket for the whole site; the
// page on screen says which channels it wants and what to do with each push.

const live = { socket: null, handler: () => {}, channels: new Set(), lastId: null };

/** The newest version of each battle pushed since the page loaded. */
const pushedVersions = new Map();

/** The newest version of a battle this page was told of, if any. */
export const pushedVersion = (battleId) => pushedVersions.get(battleId);

function remember(push) {
  if (push.id) live.lastId = push.id;
  const d = push.data;
  if (!push.type || !push.type.startsWith("battle.") || !d || !d.battleId) return;
  if (!(pushedVersions.get(d.battleId) >= d.version)) pushedVersions.set(d.battleId, d.version);
}

// A socket the server closed (a full send queue during a flood of killmails, a restart) comes
// back with the last event id it got, so what was pushed meanwhile still arrives, in order.
export function connectLive() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const since = live.lastId;
  const query = since ? `?since=${encodeURIComponent(since)}` : "";
  const socket = new WebSocket(`${proto}//${location.host}/ws/live${query}`);
  live.socket = socket;
  const state = document.getElementById("live-state");
  socket.addEventListener("open", () => {
    state.textContent = "live";
    state.classList.add("on");
    if (live.channels.size) socket.send(JSON.stringify({ action: "sub", channels: [...live.channels] }));
    if (since) socket.send(JSON.stringify({ action: "resume", since }));
  });
  socket.addEventListener("close", () => {
    state.textContent = "offline";
    state.classList.remove("on");
    setTimeout(connectLive, 3000);
  });
  socket.addEventListener("message", (m) => {
    let push;
    try { push = JSON.parse(m.data); } catch { return; }
    remember(push);
    live.handler(push);
  });
}

/** Follow `channels` (and only those) from now on, handing each push to `handler`. */
export function follow(channels, handler) {
  const old = [...live.channels];
  live.channels = new Set(channels);
  live.handler = handler;
  const open = live.socket && live.socket.readyState === WebSocket.OPEN;
  if (open && old.length) live.socket.send(JSON.stringify({ action: "unsub", channels: old }));
  if (open && channels.length) live.socket.send(JSON.stringify({ action: "sub", channels }));
}
