#!/usr/bin/env node
// The installed `pipewright` command (package.json "bin"). It runs the CLI
// from one bundled file (dist/cli/pipewright.js, made by
// scripts/bundle-cli.js) and keeps V8's compiled code for it in a cache file
// beside it, so a start neither resolves ~40 modules nor compiles them again:
// measured here, that is ~12 ms of the ~35 ms a one-guest attach used to add
// to Node's own start. The cache is only ever written next to the bundle,
// inside the package (whoever can write there can change the code anyway),
// never in a shared directory. Without a usable bundle — not built, or older
// than the compiled files — the compiled modules run as they are.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { findCommand } from './registry';

const BUNDLE = join(__dirname, '..', '..', 'cli', 'pipewright.js');

/**
 * One cache per command: a cache holds what its run compiled, so one made by
 * `--help` would leave an attach compiling most of its code again. Pipework's
 * positional form (any HOSTIF first) is the default. The command's name
 * comes from the registry, a file of plain data that loads nothing else.
 */
const first = process.argv[2];
const CACHE = `${BUNDLE}.${cacheName(first)}.cache`;

function cacheName(word: string | undefined): string {
  if (word === '--help' || word === '-h') return 'help';
  if (word === '--version' || word === '-V') return 'version';
  const name = findCommand(word)?.name ?? 'pipework';
  // The CNI plugin: one cache per verb, for the same reason (an ADD compiles
  // the attach machinery, a VERSION nothing of it).
  const verb = process.env.CNI_COMMAND ?? '';
  return name === 'cni' && /^[A-Z]{1,8}$/.test(verb) ? `cni-${verb}` : name;
}

/**
 * What a cache must have been made from to be used: this Node (V8 checks its
 * own version and flags too) and this very bundle file. V8's own check on the
 * source is only its length, so the bundle's size and mtime are part of the key.
 */
function cacheKey(size: number, mtimeMs: number): string {
  return `pipewright-code-cache 1 ${process.version} ${process.arch} ${size} ${mtimeMs}\n`;
}

function readCache(key: string): Buffer | undefined {
  try {
    const data = readFileSync(CACHE);
    const header = Buffer.from(key);
    if (data.length > header.length && data.subarray(0, header.length).equals(header)) return data.subarray(header.length);
  } catch {
    // no cache yet
  }
  return undefined;
}

function writeCache(key: string, script: Script): void {
  const tmp = `${CACHE}.${process.pid}`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(key), script.createCachedData()]));
    renameSync(tmp, CACHE); // atomic: concurrent starts read an old cache or a new one, never half of one
  } catch {
    // read-only install: run without a cache
  }
}

function runBundle(): boolean {
  let bundle;
  try {
    bundle = statSync(BUNDLE);
    // A bundle older than the compiled files (tsc ran, the bundler did not) would run stale code.
    if (bundle.mtimeMs < statSync(join(__dirname, 'bin.js')).mtimeMs) return false;
  } catch {
    return false;
  }
  const key = cacheKey(bundle.size, bundle.mtimeMs);
  const cachedData = readCache(key);
  const script = new Script(Module.wrap(readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) });
  // Written at exit, so the cache holds the functions this run compiled, not just the top level.
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => writeCache(key, script));
  const mod = new Module(BUNDLE, module);
  mod.filename = BUNDLE;
  const req = Module.createRequire(BUNDLE);
  (script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, req, mod, BUNDLE, dirname(BUNDLE));
  return true;
}

if (!runBundle()) require('./bin');
