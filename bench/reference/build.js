// Builds the C reference with gcc into a scratch directory (the binary is
// never written into the tree). Returns the binary's path.
'use strict';

const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

function buildReference(outDir) {
  const out = join(outDir, 'provision');
  const src = ['provision.c', 'nl.c'].map((f) => join(__dirname, f));
  try {
    execFileSync('gcc', ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-o', out, ...src, '-lpthread'], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`building the C reference failed (gcc is required):\n${e.stderr || e.message}`);
  }
  return out;
}

module.exports = { buildReference };
