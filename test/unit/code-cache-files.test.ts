// The installed command's code caches (lib/cli/launch.ts, code-cache-files.ts):
// a cache that no bundle will match again (its bundle is gone or was
// rebuilt; an old-format one after 30 days; a dead writer's temporary file
// after an hour) is removed when the command writes a cache; everything
// else in the directory survives: live caches, the file being written,
// other files, symbolic links (and what they point to), directories.
// And the commands run from their bundles: the lean ones from their own.
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheHeader, judge, pruneDeadCaches } from '../../lib/cli/code-cache-files';
import { bundleFor, LEAN_BUNDLES, WHOLE_CLI } from '../../lib/cli/bundles';
import { COMMANDS } from '../../lib/cli/registry';

const ROOT = join(__dirname, '..', '..');
const LAUNCH = join(ROOT, 'dist', 'lib', 'cli', 'launch.js');
const DAY = 24 * 3600 * 1000;

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-cache-prune-'));
  mkdirSync(join(dir, 'pipewright'), { mode: 0o700 });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A cache file's bytes as launch.ts writes them. */
const cacheBytes = (header: string) => Buffer.concat([Buffer.from(`${header}ran ok\n`), Buffer.alloc(64, 7)]);

t.test('judge: what a header says about its cache', async (t) => {
  const dir = scratch(t);
  const bundle = join(dir, 'bundle.js');
  writeFileSync(bundle, 'x'.repeat(100));
  const st = statSync(bundle);
  const now = Date.now();
  const line = (size: number, mtime: number, path: string) => cacheHeader('v20.0.0', 'x64', size, mtime, path).trimEnd();
  t.equal(judge(line(st.size, st.mtimeMs, bundle), now, now), 'live', 'its bundle, as it was');
  t.equal(judge(line(st.size + 1, st.mtimeMs, bundle), now, now), 'dead', 'its bundle has another size (rebuilt)');
  t.equal(judge(line(st.size, st.mtimeMs - 1000, bundle), now, now), 'dead', 'its bundle has another mtime (rebuilt)');
  t.equal(judge(line(st.size, st.mtimeMs, join(dir, 'gone.js')), now, now), 'dead', 'its bundle is gone (the install was removed)');
  t.equal(judge(line(st.size, st.mtimeMs, join(bundle, 'below')), now, now), 'dead', 'its path runs through a file');
  t.equal(judge(line(1, 2, 'with "quotes" and spaces/b.js'), now, now), 'dead', 'a path with spaces and quotes is read whole');
  t.equal(judge('pipewright-code-cache 2 v20.0.0 x64 1 2', now - 29 * DAY, now), 'live', 'the old format, 29 days old');
  t.equal(judge('pipewright-code-cache 2 v20.0.0 x64 1 2', now - 31 * DAY, now), 'dead', 'the old format, 31 days old');
  t.equal(judge('pipewright-code-cache 3 v20 x64 1 2 not-json', now, now), 'foreign', 'a header it cannot read');
  t.equal(judge('something else entirely', now - 90 * DAY, now), 'foreign', 'not a cache');
});

t.test('pruneDeadCaches removes dead caches only, and leaves everything else alone', async (t) => {
  const home = scratch(t);
  const dir = join(home, 'pipewright');
  const bundle = join(home, 'bundle.js');
  writeFileSync(bundle, 'y'.repeat(10));
  const st = statSync(bundle);
  const now = Date.now();
  const live = cacheHeader(process.version, process.arch, st.size, st.mtimeMs, bundle);
  const dead = cacheHeader(process.version, process.arch, st.size, st.mtimeMs, join(home, 'uninstalled', 'bundle.js'));
  const put = (name: string, bytes: Buffer | string, ageMs = 0) => {
    writeFileSync(join(dir, name), bytes);
    if (ageMs) utimesSync(join(dir, name), (now - ageMs) / 1000, (now - ageMs) / 1000);
  };
  put('aaaa0001-pipework.cache', cacheBytes(live));
  put('aaaa0002-pipework.cache', cacheBytes(dead));
  put('aaaa0002-detach.cache', cacheBytes(dead));
  put('aaaa0003-attach.cache', cacheBytes(cacheHeader(process.version, process.arch, st.size + 5, st.mtimeMs, bundle)));
  put('aaaa0004-keep.cache', cacheBytes(dead));
  put('old-fresh.cache', cacheBytes('pipewright-code-cache 2 v20.0.0 x64 1 2\n'), 2 * DAY);
  put('old-stale.cache', cacheBytes('pipewright-code-cache 2 v20.0.0 x64 1 2\n'), 40 * DAY);
  put('aaaa0001-pipework.cache.4242', cacheBytes(dead));
  put('aaaa0001-attach.cache.4343', cacheBytes(dead), 2 * 3600 * 1000);
  // Decoys: a file that is not a cache, a cache-like file under another name,
  // a symbolic link to a dead cache elsewhere, a directory.
  put('notes.cache', 'mine, not pipewright\'s\n', 90 * DAY);
  put('aaaa0005-apply.bak', cacheBytes(dead));
  const outside = join(home, 'outside.cache');
  writeFileSync(outside, cacheBytes(dead));
  symlinkSync(outside, join(dir, 'link.cache'));
  mkdirSync(join(dir, 'sub.cache'));

  const removed = pruneDeadCaches(dir, 'aaaa0004-keep.cache', now).sort();
  t.strictSame(removed, ['aaaa0001-attach.cache.4343', 'aaaa0002-detach.cache', 'aaaa0002-pipework.cache', 'aaaa0003-attach.cache', 'old-stale.cache'], 'exactly the dead ones were removed');
  t.strictSame(
    readdirSync(dir).sort(),
    ['aaaa0001-pipework.cache', 'aaaa0001-pipework.cache.4242', 'aaaa0004-keep.cache', 'aaaa0005-apply.bak', 'link.cache', 'notes.cache', 'old-fresh.cache', 'sub.cache'],
    'the live cache, the one to keep, a fresh temporary file and every decoy survive',
  );
  t.ok(lstatSync(join(dir, 'link.cache')).isSymbolicLink(), 'the link is still a link');
  t.ok(existsSync(outside), 'and what it points to, outside, is untouched');
  t.ok(lstatSync(join(dir, 'sub.cache')).isDirectory(), 'the directory is still there');
  t.strictSame(pruneDeadCaches(join(home, 'missing'), 'x', now), [], 'a directory that does not exist: nothing to do');
});

t.test('the installed command prunes when it writes a cache', { skip: existsSync(LAUNCH) ? false : `${LAUNCH} is not built (npm run build:ts)` }, async (t) => {
  const home = scratch(t);
  const dir = join(home, 'pipewright');
  const gone = cacheBytes(cacheHeader(process.version, process.arch, 1, 2, join(home, 'removed-install', 'dist', 'cli', 'pipewright.js')));
  writeFileSync(join(dir, '0badcafe-pipework.cache'), gone, { mode: 0o600 });
  writeFileSync(join(dir, 'decoy.cache'), 'not a cache\n', { mode: 0o600 });
  const version = () => spawnSync(process.execPath, [LAUNCH, '--version'], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: home } });
  const first = version();
  t.equal(first.status, 0, first.stderr);
  const names = readdirSync(dir).sort();
  t.notOk(names.includes('0badcafe-pipework.cache'), 'the cache of a removed install is gone');
  t.ok(names.includes('decoy.cache'), 'the decoy is still there');
  const own = names.filter((n) => n.endsWith('-version.cache'));
  t.equal(own.length, 1, `its own cache was written (${names.join(', ')})`);
  // launch.ts writes the header that code-cache-files.ts reads: the two agree.
  // Node runs its main script by its real path (the rootless suite's tree is reached through a link).
  const bundle = realpathSync(join(ROOT, 'dist', 'cli', 'per-guest.js'));
  const st = statSync(bundle);
  const header = readFileSync(join(dir, own[0]!), 'latin1').split('\n', 1)[0]!;
  t.equal(`${header}\n`, cacheHeader(process.version, process.arch, st.size, st.mtimeMs, bundle), 'its header is the one code-cache-files.ts reads');
  t.equal(judge(header, Date.now(), Date.now()), 'live', 'and is judged live');
});

t.test('the command table the bundler writes: every word of the registry, to its bundle', { skip: existsSync(join(ROOT, 'dist', 'cli', 'commands.json')) ? false : 'not built (npm run build:ts)' }, async (t) => {
  const table = JSON.parse(readFileSync(join(ROOT, 'dist', 'cli', 'commands.json'), 'utf8')) as { words: Record<string, [string, string]> };
  const expected: Record<string, [string, string]> = { '': ['pipework', bundleFor('pipework').file] };
  for (const c of COMMANDS) for (const w of [c.name, ...(c.aliases ?? [])]) expected[w] = [c.name, bundleFor(c.name).file];
  t.strictSame(table.words, expected);
});

t.test('every command has one bundle, and the lean ones name commands of the registry', async (t) => {
  const names = new Set(COMMANDS.map((c) => c.name).concat('pipework'));
  for (const b of LEAN_BUNDLES) for (const c of b.commands) t.ok(names.has(c), `${b.file}: '${c}' is a command`);
  const seen = new Map<string, string>();
  for (const b of LEAN_BUNDLES) for (const c of b.commands) {
    t.notOk(seen.has(c), `'${c}' is in one lean bundle only (${seen.get(c) ?? b.file})`);
    seen.set(c, b.file);
  }
  t.equal(bundleFor('pipework').file, 'per-guest.js', "pipework's line runs from the per-guest bundle");
  t.equal(bundleFor('cni').file, 'cni.js');
  t.equal(bundleFor('apply'), WHOLE_CLI, 'apply (it needs yaml) runs from the whole CLI');
  for (const b of [WHOLE_CLI, ...LEAN_BUNDLES]) {
    const file = join(ROOT, 'dist', 'cli', b.file);
    t.ok(!existsSync(join(ROOT, 'dist')) || existsSync(file), `${b.file} is built`);
  }
});
