#!/usr/bin/env node
// The installed `pipewright` command (package.json "bin"). It runs the CLI
// from one bundled file of dist/cli/ (made by scripts/bundle-cli.js: the
// command's lean bundle, or the whole CLI's) and keeps V8's compiled code
// for it in a cache file, so a start neither resolves ~40 modules nor
// compiles them again: measured here, that is ~12 ms of the ~35 ms a
// one-guest attach used to add to Node's own start. The cache lives in the
// user's cache directory ($XDG_CACHE_HOME/pipewright or ~/.cache/pipewright),
// never in the package (a read-only or shared install stays untouched); when
// that directory cannot be written, or (as root) is not root's alone, there
// is simply no cache. Without a usable bundle — not built, or older than the
// compiled files — the compiled modules run as they are.
// This file runs before any cache can help, so it loads as little as it
// can: which bundle runs a command comes from a small table the bundler
// writes (dist/cli/commands.json), not from the registry (~1.2 ms a start).
import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';
import { checkTrustedPath } from '../core/trusted-path';

const CLI_DIR = join(__dirname, '..', '..', 'cli');
const COMPILED_CLI = join(__dirname, 'bin.js');

/**
 * Each top-level command word (names and aliases) → [the command's registry
 * name, its bundle's file]; '' is pipework's positional line, the default.
 * Written by scripts/bundle-cli.js after the bundles, from the registry and
 * bundles.ts. Undefined when missing, unreadable or older than the compiled
 * CLI (tsc ran, the bundler did not).
 */
function readCommandTable(): Record<string, [string, string]> | undefined {
  const file = join(CLI_DIR, 'commands.json');
  try {
    if (statSync(file).mtimeMs < statSync(COMPILED_CLI).mtimeMs) return undefined;
    const table = JSON.parse(readFileSync(file, 'utf8')) as { words?: Record<string, [string, string]> };
    // Bundles are plain file names beside the table, nothing else.
    const plain = (entry: unknown) => Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'string' && /^[a-z0-9-]+\.js$/.test(entry[1]);
    return table.words?.[''] && Object.values(table.words).every(plain) ? table.words : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One cache per command: a cache holds what its run compiled, so one made by
 * `--help` would leave an attach compiling most of its code again. Pipework's
 * positional form (any HOSTIF first) is the default.
 */
const first = process.argv[2];
const TABLE = readCommandTable();
const [NAME, FILE] = (TABLE && first !== undefined && Object.hasOwn(TABLE, first) && first !== '' ? TABLE[first] : TABLE?.['']) ?? ['pipework', undefined];
const COMMAND = cacheName(first, NAME);
const BUNDLE = FILE === undefined ? undefined : join(CLI_DIR, FILE);

function cacheName(word: string | undefined, name: string): string {
  if (word === '--help' || word === '-h') return 'help';
  if (word === '--version' || word === '-V') return 'version';
  // The CNI plugin: one cache per verb, for the same reason (an ADD compiles
  // the attach machinery, a VERSION nothing of it).
  const verb = process.env.CNI_COMMAND ?? '';
  return name === 'cni' && /^[A-Z]{1,8}$/.test(verb) ? `cni-${verb}` : name;
}

/** The cache directory, per the XDG base directory spec (a relative XDG_CACHE_HOME is ignored, as it says). */
function cacheDir(): string | undefined {
  const xdg = process.env.XDG_CACHE_HOME;
  let home: string;
  try {
    home = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  } catch {
    return undefined; // no home directory at all
  }
  return join(home, 'pipewright');
}

/** A short stable tag for this install, so two installs (global, local, versions) keep separate caches. */
function installTag(path: string): string {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const DIR = cacheDir();
const CACHE = DIR === undefined || BUNDLE === undefined ? undefined : join(DIR, `${installTag(BUNDLE)}-${COMMAND}.cache`);

/**
 * The cache is compiled code that this process will run, so it must be
 * nobody else's to change: as root, the whole path is root's alone (the
 * trusted-path rule; a sudo that kept a user's XDG_CACHE_HOME gets no
 * cache); otherwise the directory and the file are this user's and not
 * writable by group or others.
 */
function trustworthy(file: string): boolean {
  try {
    checkTrustedPath('XDG_CACHE_HOME', file, 'file', { mayBeMissing: true });
    const euid = process.geteuid?.();
    for (const p of [dirname(file), file]) {
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue; // not made yet
      }
      if (st.isSymbolicLink() || st.uid !== euid || (st.mode & 0o022) !== 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * What a cache must have been made from to be used: this Node (V8 checks its
 * own version and flags too) and this very bundle file. V8's own check on the
 * source is only its length, so the bundle's size and mtime are part of the
 * key; the bundle's path lets a later run tell a cache nothing can use any
 * more (code-cache-files.ts reads this line: keep the two in step).
 */
function cacheKey(bundle: string, size: number, mtimeMs: number): string {
  return `pipewright-code-cache 3 ${process.version} ${process.arch} ${size} ${mtimeMs} ${JSON.stringify(bundle)}\n`;
}

/**
 * After the key, how the run that wrote the cache ended. A run that failed
 * (a misspelt guest, a bridge that is missing) compiled little of its
 * command, and the cache it wrote would leave every later run compiling the
 * rest again (~1.3 ms of a one-guest attach, measured): the next run that
 * succeeds replaces it.
 */
const RAN_OK = 'ran ok\n';
const RAN_FAILED = 'ran failed\n';

interface Cached {
  data: Buffer;
  /** The run that wrote it exited 0. */
  ranOk: boolean;
}

function readCache(key: string): Cached | undefined {
  if (CACHE === undefined || !trustworthy(CACHE)) return undefined;
  try {
    const data = readFileSync(CACHE);
    const header = Buffer.from(key);
    if (data.length <= header.length || !data.subarray(0, header.length).equals(header)) return undefined;
    for (const [line, ranOk] of [[RAN_OK, true], [RAN_FAILED, false]] as const) {
      const end = header.length + line.length;
      if (data.length > end && data.subarray(header.length, end).toString() === line) return { data: data.subarray(end), ranOk };
    }
  } catch {
    // no cache yet
  }
  return undefined;
}

function writeCache(key: string, script: Script, ranOk: boolean): void {
  if (CACHE === undefined) return;
  const tmp = `${CACHE}.${process.pid}`;
  try {
    // Two levels at most (the cache home, then ours), never mkdir -p: Node's
    // recursive mkdir spins forever under /proc, and a cache home whose own
    // parent is missing is no place to create things in anyway.
    for (const dir of [dirname(dirname(CACHE)), dirname(CACHE)]) {
      try {
        mkdirSync(dir, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return;
      }
    }
    if (!trustworthy(CACHE)) return;
    writeFileSync(tmp, Buffer.concat([Buffer.from(key + (ranOk ? RAN_OK : RAN_FAILED)), script.createCachedData()]), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, CACHE); // atomic: concurrent starts read an old cache or a new one, never half of one
    // A write follows a miss, often a new or rebuilt bundle: the time to
    // remove the caches that no bundle will match again (loaded only now).
    (require('./code-cache-files') as typeof import('./code-cache-files')).pruneDeadCaches(dirname(CACHE), basename(CACHE));
  } catch {
    // no writable cache directory: run without a cache
  }
}

function runBundle(): boolean {
  if (BUNDLE === undefined) return false;
  let bundle;
  try {
    bundle = statSync(BUNDLE);
    // A bundle older than the compiled files (tsc ran, the bundler did not) would run stale code.
    if (bundle.mtimeMs < statSync(COMPILED_CLI).mtimeMs) return false;
  } catch {
    return false;
  }
  const key = cacheKey(BUNDLE, bundle.size, bundle.mtimeMs);
  const cached = readCache(key);
  const script = new Script(Module.wrap(readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, ...(cached ? { cachedData: cached.data } : {}) });
  // Written at exit, so the cache holds the functions this run compiled, not
  // just the top level: when there is none (or V8 refused it), whatever
  // this run's outcome; in place of one a failed run wrote, only by a run
  // that succeeds.
  const none = !cached || script.cachedDataRejected;
  if (none || !cached.ranOk) {
    process.once('exit', (code) => {
      if (none || code === 0) writeCache(key, script, code === 0);
    });
  }
  const mod = new Module(BUNDLE, module);
  mod.filename = BUNDLE;
  const req = Module.createRequire(BUNDLE);
  (script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, req, mod, BUNDLE, dirname(BUNDLE));
  return true;
}

if (!runBundle()) require('./bin');
