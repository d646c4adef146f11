// Bundles the pages into dist/ for the web component to embed (components/web/build.rs):
// app.js (the pages and uPlot), app.css (ours and uPlot's) and index.html. Run by `make web-ui`.
import * as esbuild from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

await mkdir("dist", { recursive: true });
await esbuild.build({
  entryPoints: { app: "src/main.js" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: "dist",
  logLevel: "warning",
});
await esbuild.build({
  entryPoints: { app: "src/app.css" },
  bundle: true,
  minify: true,
  outdir: "dist",
  logLevel: "warning",
});
await copyFile("static/index.html", "dist/index.html");
