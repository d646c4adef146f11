// The report's timeline: kills and ISK per minute for each side, drawn with uPlot.

import uPlot from "uplot";
import { el, isk } from "./dom.js";

export const SIDE_COLOURS = ["#4fa3ff", "#e05d5d", "#46c37b", "#e0b84f", "#b07cff", "#4fd1c5"];
export const sideColour = (i) => SIDE_COLOURS[i % SIDE_COLOURS.length];

/**
 * Minute-aligned columns for uPlot from per-series timelines ([{minute, kills, isk}]):
 * every minute from the first to the last, zero where a series had nothing.
 */
export function columns(timelines, field) {
  const minutes = timelines.flatMap((t) => t.map((m) => m.minute));
  if (!minutes.length) return null;
  const first = Math.min(...minutes);
  const last = Math.max(...minutes);
  const xs = [];
  for (let m = first; m <= last; m += 60) xs.push(m);
  const ys = timelines.map((t) => {
    const byMinute = new Map(t.map((m) => [m.minute, m[field]]));
    return xs.map((x) => byMinute.get(x) || 0);
  });
  return [xs, ...ys];
}

function plot(title, labels, data, format, width) {
  const holder = el("figure", { class: "chart" }, el("figcaption", {}, title));
  const series = [{}, ...labels.map((label, i) => ({
    label,
    stroke: sideColour(i),
    fill: `${sideColour(i)}22`,
    width: 1.5,
    paths: uPlot.paths.stepped({ align: 1 }),
    value: (_, v) => (v === null ? "–" : format(v)),
  }))];
  const axis = { stroke: "#8c96a3", grid: { stroke: "#2a313b" }, ticks: { stroke: "#2a313b" } };
  const options = {
    width, height: 180, series,
    scales: { x: { time: true } },
    // EVE runs on UTC, and so do killmail times.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    axes: [axis, { ...axis, values: (_, ticks) => ticks.map(format), size: 60 }],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
  // uPlot measures the holder, so it draws once the holder is in the page.
  requestAnimationFrame(() => new uPlot(options, data, holder));
  return holder;
}

/**
 * Two charts, kills and ISK per minute, one series per side; the whole battle's timeline as a
 * single series when the sides' are not there (battles stored before sides had timelines).
 */
export function timelineCharts(sides, wholeTimeline, width) {
  const perSide = sides.every((s) => Array.isArray(s.timeline));
  const timelines = perSide ? sides.map((s) => s.timeline) : [wholeTimeline || []];
  const labels = perSide ? sides.map((s) => s.label) : ["all sides"];
  const kills = columns(timelines, "kills");
  if (!kills) return null;
  return el("div", { class: "charts", "data-series": labels.length },
    plot("Kills per minute", labels, kills, (v) => String(Math.round(v)), width),
    plot("ISK destroyed per minute", labels, columns(timelines, "isk"), isk, width));
}
