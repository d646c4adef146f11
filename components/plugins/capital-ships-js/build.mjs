// Builds the plugin: `node build.mjs OUTPUT.wasm`. StarlingMonkey's optional host features
// (stdio, clocks, randomness, HTTP) are left out, so the component imports nothing but what
// the ruleset-filter world offers.
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const output = process.argv[2];
if (!output) {
  console.error('usage: node build.mjs OUTPUT.wasm');
  process.exit(2);
}
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { component } = await componentize({
  sourcePath: here('capital-ships.js'),
  witPath: here('../../../wit/ruleset-filter'),
  worldName: 'ruleset-filter',
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await writeFile(output, component);
