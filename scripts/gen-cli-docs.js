#!/usr/bin/env node
// Writes the manual page and the shell completions from the CLI's command
// registry (compiled: run after tsc; `npm run build:ts` does both):
//   man/pipewright.1            package.json "man"
//   completions/pipewright.bash (also: pipewright completion bash)
//   completions/_pipewright     (also: pipewright completion zsh)
// With --check, writes nothing and exits 1 when a file is not what the
// registry makes (a command added without regenerating them).
'use strict';

const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

const root = join(__dirname, '..');
const cli = join(root, 'dist', 'lib', 'cli');
const { manPage } = require(join(cli, 'man.js'));
const { bashCompletion, zshCompletion } = require(join(cli, 'completion.js'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const files = {
  'man/pipewright.1': manPage(version),
  'completions/pipewright.bash': bashCompletion(),
  'completions/_pipewright': zshCompletion(),
};

const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, text] of Object.entries(files)) {
  const path = join(root, rel);
  if (check) {
    let old = null;
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      // missing: stale
    }
    if (old !== text) {
      process.stderr.write(`${rel} is not what the command registry makes: run node scripts/gen-cli-docs.js\n`);
      stale++;
    }
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
process.exit(stale ? 1 : 0);
