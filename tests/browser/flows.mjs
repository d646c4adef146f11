// Browser flows over a running BattleScope, called by the Rust tests that start it:
//
//   node flows.mjs players   BASE_URL OUT_DIR BATTLE_ID API_TOKEN
//   node flows.mjs degraded  BASE_URL OUT_DIR BATTLE_ID MISSING_SERVICE
//   node flows.mjs page-load BASE_URL OUT_DIR BATTLE_ID RUNS
//
// `players` is what a player does on a replayed 2021-11-28 (BATTLE_ID: the Jorund fight);
// `degraded` opens a report while a service is down; `page-load` times a report's first
// render and counts the bytes of script and style shipped (make bench). Any console error or
// uncaught exception fails a flow; the exit code says whether it passed.
import { launch, watchedPage, step, check, screenshot, fitsWidth } from "./lib.mjs";

const [flow, base, out, battleId, extra] = process.argv.slice(2);
const url = (path) => new URL(path, base).toString();

/** The side card whose members (not its move control) name `name`. */
const sideWith = (page, name) => page.locator("section.side").filter({ has: page.locator("p.members", { hasText: name }) });

/** The report is drawn: its sides and both timeline charts. */
async function reportDrawn(page) {
  await page.waitForSelector("section.side", { timeout: 20000 });
  await page.waitForSelector(".charts .uplot canvas >> nth=1", { timeout: 20000 });
}

async function players(browser, problems) {
  const page = await watchedPage(browser, problems);
  await step("battles page lists battles", async () => {
    await page.goto(url("/"));
    await page.waitForSelector("table.battles tbody tr");
    await screenshot(browser, page, out, "battles");
  });
  await step("filters: Goonswarm by autocomplete, big fights only", async () => {
    await page.fill("input[name=allianceName]", "Goonswa");
    await page.click(".suggestions li:has-text('Goonswarm Federation')", { timeout: 10000 });
    check((await page.inputValue("input[name=alliance]")) === "1354830081", "picking the suggestion sets Goonswarm's id");
    await page.fill("input[name=minKills]", "500");
    await page.click("form.filters button[type=submit]");
    await page.waitForURL(/alliance=1354830081/);
    await page.waitForSelector(`tr[data-id="${battleId}"]`, { timeout: 15000 });
    const kills = await page.locator("table.battles tbody tr td:nth-child(4)").allInnerTexts();
    check(kills.every((k) => Number(k) >= 500), `only battles of 500 kills or more: ${kills}`);
    await screenshot(browser, page, out, "battles-goonswarm");
  });
  await step("open the Jorund battle from the list", async () => {
    await page.click(`tr[data-id="${battleId}"] a`);
    await page.waitForURL(new RegExp(`/battle/${battleId}$`));
    await reportDrawn(page);
  });
  await step("the report: named sides, ship groups, timeline per side", async () => {
    const sides = page.locator("section.side");
    check((await sides.count()) >= 2, "at least two sides");
    const text = (await page.locator(".sides p.members").allInnerTexts()).join(" | ");
    for (const name of ["Goonswarm Federation", "The Initiative.", "Pandemic Horde"]) check(text.includes(name), `the sides name ${name}: ${text.slice(0, 400)}`);
    const goons = sideWith(page, "Goonswarm Federation");
    const horde = sideWith(page, "Pandemic Horde");
    check((await goons.getAttribute("data-side")) !== (await horde.getAttribute("data-side")), "Goonswarm and Horde on different sides");
    check((await goons.locator("table.groups tbody tr").count()) >= 5, "Goonswarm's side lists ship groups");
    check((await goons.locator("table.groups").innerText()).includes("Heavy Assault Cruiser"), "ship groups are named");
    const series = Number(await page.getAttribute(".charts", "data-series"));
    check(series === (await sides.count()), `one timeline series per side (${series})`);
    check((await page.locator("table.killmails tbody tr").count()) > 100, "the killmails are listed");
    const zkill = await page.locator("a[href^='https://zkillboard.com/related/']").count();
    check(zkill >= 1, "links to zKillboard's related pages");
    await screenshot(browser, page, out, "report");
  });
  await step("the report at phone width", async () => {
    const phone = await watchedPage(browser, problems, { width: 390, height: 844 });
    await phone.goto(url(`/battle/${battleId}`));
    await reportDrawn(phone);
    await fitsWidth(phone);
    await screenshot(browser, phone, out, "report-phone");
    await phone.close();
  });
  await step("the report without script: drawn by the server, with Open Graph tags", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const bare = await context.newPage();
    const response = await bare.goto(url(`/battle/${battleId}`));
    check(response.status() === 200, `answered ${response.status()}`);
    const summary = await bare.innerText("article.rendered");
    for (const name of ["Goonswarm Federation", "Pandemic Horde"]) check(summary.includes(name), `the summary names ${name}: ${summary.slice(0, 300)}`);
    const og = await bare.getAttribute("meta[property='og:title']", "content");
    check(og && og.includes("Jorund"), `og:title names the system: ${og}`);
    const description = await bare.getAttribute("meta[property='og:description']", "content");
    check(/\d+ kills/.test(description || ""), `og:description says how big: ${description}`);
    await screenshot(browser, bare, out, "report-without-script");
    await context.close();
  });
  await step("search groups what it finds", async () => {
    await page.goto(url("/search?q=Jor"));
    await page.waitForSelector("h2:has-text('Systems')");
    check((await page.locator("main").innerText()).includes("Jorund"), "Jorund is found");
    await screenshot(browser, page, out, "search");
  });
  await step("move Pandemic Horde to Goonswarm's side: redrawn, kept in the address", async () => {
    await page.goto(url(`/battle/${battleId}`));
    await reportDrawn(page);
    const goonsSide = await sideWith(page, "Goonswarm Federation").getAttribute("data-side");
    const horde = sideWith(page, "Pandemic Horde");
    await horde.locator("select[name=unit]").selectOption("alliance:99005338");
    await horde.locator("select[name=target]").selectOption(`side-${goonsSide}`);
    await horde.locator("form.move button").click();
    await page.waitForURL(/moves=alliance%3A99005338%3Ealliance%3A/);
    await page.waitForSelector("form.arrangement");
    await reportDrawn(page);
    const together = await sideWith(page, "Goonswarm Federation").locator("p.members").innerText();
    check(together.includes("Pandemic Horde"), `Horde is drawn on Goonswarm's side: ${together}`);
    await screenshot(browser, page, out, "report-arranged");
  });
  await step("save it with the token: the live page is pushed the update, a reload keeps it", async () => {
    const feed = await watchedPage(browser, problems);
    await feed.goto(url("/live"));
    await feed.waitForSelector("#live-state.on");
    // The socket subscribes once it is open; give the subscription a moment to be answered.
    await feed.waitForTimeout(500);
    await page.fill("form.arrangement input[name=token]", extra);
    await page.click("form.arrangement button[type=submit]");
    await page.waitForURL(new RegExp(`/battle/${battleId}$`));
    await feed.waitForSelector(`.feed li[data-battle="${battleId}"][data-type="battle.updated"]`, { timeout: 30000 });
    await screenshot(browser, feed, out, "live");
    await page.reload();
    await reportDrawn(page);
    const together = await sideWith(page, "Goonswarm Federation").locator("p.members").innerText();
    check(together.includes("Pandemic Horde"), `after a reload Horde is still on Goonswarm's side: ${together}`);
    check((await page.innerText("main")).includes("Sides corrected by an operator"), "the report says the sides were corrected");
    // Opened from the live feed too (the page knows of a newer version than the BFF may keep).
    await feed.click(`.feed li[data-battle="${battleId}"] a`);
    await reportDrawn(feed);
    check((await sideWith(feed, "Goonswarm Federation").locator("p.members").innerText()).includes("Pandemic Horde"), "opened from the feed");
    await feed.close();
  });
}

async function degraded(browser, problems) {
  const page = await watchedPage(browser, problems);
  await step(`a report while ${extra} is down`, async () => {
    await page.goto(url(`/battle/${battleId}`));
    await page.waitForSelector("section.side", { timeout: 20000 });
    const notice = await page.innerText(".notice");
    check(notice.includes(extra), `the page says ${extra} is unavailable: ${notice}`);
    check((await page.locator("section.side").count()) >= 1, "the sides are still drawn");
    await screenshot(browser, page, out, `report-without-${extra}`);
  });
}

async function pageLoad(browser, problems) {
  const runs = Number(extra || 5);
  const page = await watchedPage(browser, problems);
  const times = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    let shipped = 0;
    const counting = async (response) => {
      const type = response.request().resourceType();
      if (type === "script" || type === "stylesheet") {
        const sizes = await response.request().sizes().catch(() => null);
        shipped += sizes ? sizes.responseBodySize : 0;
      }
    };
    page.on("response", counting);
    // Every run cold: nothing cached by the browser.
    await page.context().clearCookies();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.clearBrowserCache");
    const started = Date.now();
    await page.goto(url(`/battle/${battleId}`));
    await reportDrawn(page);
    times.push(Date.now() - started);
    await page.waitForLoadState("networkidle");
    page.off("response", counting);
    bytes = shipped;
    await page.goto("about:blank");
  }
  await screenshot(browser, await (async () => { await page.goto(url(`/battle/${battleId}`)); await reportDrawn(page); return page; })(), out, "page-load");
  console.log(JSON.stringify({ runs: times, scriptAndStyleBytes: bytes }));
}

const flows = { players, degraded, "page-load": pageLoad };
if (!flows[flow] || !base || !out || !battleId) {
  console.error("usage: node flows.mjs players|degraded|page-load BASE_URL OUT_DIR BATTLE_ID [TOKEN|SERVICE|RUNS]");
  process.exit(2);
}
const browser = await launch();
const problems = [];
let failed = null;
try {
  await flows[flow](browser, problems);
} catch (e) {
  failed = e;
} finally {
  await browser.close();
}
for (const p of problems) console.error(p);
if (failed) console.error(failed.message);
process.exit(failed || problems.length ? 1 : 0);
