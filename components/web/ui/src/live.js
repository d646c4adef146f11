// The live WebSocket (/ws/live, docs/notifications.md): one socket for the whole site; the
// page on screen says which channels it wants and what to do with each push.

const live = { socket: null, handler: () => {}, channels: new Set() };

/** The newest version of each battle pushed since the page loaded. */
const pushedVersions = new Map();

/** The newest version of a battle this page was told of, if any. */
export const pushedVersion = (battleId) => pushedVersions.get(battleId);

function remember(push) {
  const d = push.data;
  if (!push.type || !push.type.startsWith("battle.") || !d || !d.battleId) return;
  if (!(pushedVersions.get(d.battleId) >= d.version)) pushedVersions.set(d.battleId, d.version);
}

export function connectLive() {
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
