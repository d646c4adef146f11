// What every browser flow needs: Debian's chromium through playwright-core, pages that fail
// the run on any console error or uncaught exception, screenshots checked to show something,
// and steps that say what they were doing when they failed.
import { chromium } from "playwright-core";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const CHROMIUM = process.env.BATTLESCOPE_CHROMIUM || "/usr/bin/chromium";

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
}

/** A page whose console errors and uncaught exceptions are collected in `problems`. */
export async function watchedPage(browser, problems, viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport });
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`uncaught exception on ${page.url()}: ${e.message}`));
  return page;
}

/** Run `body`, naming the step in the error it may throw. */
export async function step(name, body) {
  const started = Date.now();
  try {
    const out = await body();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
    return out;
  } catch (e) {
    throw new Error(`step "${name}" failed: ${e.message}`);
  }
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Save a screenshot of `page` as `dir/name.png` and make sure it shows something: the
 * browser itself decodes it and counts distinct colours (a blank or single-colour page has
 * very few).
 */
export async function screenshot(browser, page, dir, name) {
  await mkdir(dir, { recursive: true });
  const png = await page.screenshot();
  const path = join(dir, `${name}.png`);
  await writeFile(path, png);
  const probe = await browser.newPage();
  const colours = await probe.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width;
    canvas.height = img.height;
    const cx = canvas.getContext("2d");
    cx.drawImage(img, 0, 0);
    const data = cx.getImageData(0, 0, img.width, img.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return seen.size;
  }, png.toString("base64"));
  await probe.close();
  check(colours >= 16, `screenshot ${path} looks blank (${colours} colours)`);
  console.log(`     screenshot ${path} (${png.length} bytes, ${colours} colours)`);
  return path;
}

/** The page is no wider than the screen (readable at phone width without sideways scrolling). */
export async function fitsWidth(page) {
  const [content, screen] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(content <= screen + 1, `the page is ${content} px wide on a ${screen} px screen`);
}
