#!/usr/bin/env node
// Bundles the compiled CLI (dist/lib/cli/bin.js and everything it loads)
// into one file, dist/cli/pipewright.js, which dist/lib/cli/launch.js runs
// with a V8 code cache. Run after tsc (`npm run build:ts` does both).
// Kept outside the bundle: the addon (a .node file), `node-gyp-build` (it probes
// paths at run time), and @viz-js/viz (Graphviz as WebAssembly, ~1.5 MB,
// loaded only by `show --format svg`).
'use strict';

const { buildSync } = require('esbuild');
const { mkdirSync, readdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const outdir = join(root, 'dist', 'cli');
mkdirSync(outdir, { recursive: true });
// Code caches an older launch.js kept beside the bundle (it now uses the user's cache directory).
for (const name of readdirSync(outdir)) if (name.endsWith('.cache')) rmSync(join(outdir, name));
buildSync({
  entryPoints: [join(root, 'dist', 'lib', 'cli', 'bin.js')],
  outfile: join(outdir, 'pipewright.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['*.node', 'node-gyp-build', '@viz-js/viz'],
  // Less to read at every start (~570 KB → ~330 KB); names stay readable in
  // stack traces, and the source map leads back to dist/lib's files.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  // `--no-sourcemap` (npm pack's build): the package ships no maps, since it
  // ships no TypeScript sources for them to lead to.
  sourcemap: process.argv.includes('--no-sourcemap') ? false : 'linked',
  logLevel: 'warning',
});
