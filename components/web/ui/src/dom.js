// Small helpers every page uses: building elements (text always through textContent, never
// as HTML), formatting ISK and times, fetching JSON with the API's error message.

/** An element with attributes (on* are listeners) and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
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

/** Replace a container's children, leaving out the parts a page did not have. */
export const show = (node, ...children) => node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));

export const main = () => document.getElementById("main");

export function isk(v) {
  if (v === null || v === undefined) return "–";
  const units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
  for (const [n, s] of units) if (Math.abs(v) >= n) return (v / n).toFixed(1) + s;
  return Math.round(v).toString();
}

export const time = (t) => (t ? t.replace("T", " ").replace(/:\d\dZ$/, "") : "–");
export const named = (x) => (x ? x.name || x.id : null);
export const names = (list) => (list || []).map(named).join(", ");

/** The first few names, and how many more. */
export function someNames(list, few = 3) {
  const all = (list || []).map(named);
  return all.length > few ? `${all.slice(0, few).join(", ")} +${all.length - few}` : all.join(", ");
}

export async function getJson(url, init = {}) {
  const r = await fetch(url, { ...init, headers: { accept: "application/json", ...(init.headers || {}) } });
  const body = await r.json().catch(() => ({ error: `answered ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `answered ${r.status}`);
  return body;
}

export function missingNotice(missing) {
  if (!missing || missing.length === 0) return null;
  return el("p", { class: "notice", role: "status" }, `Unavailable right now: ${missing.join(", ")}. The rest of the page is current.`);
}

export function showError(e) {
  show(main(), el("p", { class: "error" }, `Could not load this page: ${e.message}`));
}

/** Go to a page of this site without reloading (main.js routes on popstate). */
export function go(url) {
  history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate"));
}
