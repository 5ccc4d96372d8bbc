// Finding and loading the addon: the prebuilt for this system is found, and
// every way of not having one is one typed error naming the cause and the fix.
import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findAddon, installerOf, loadAddonFile } from '../../lib/core/addon-load';
import { PipewrightError } from '../../lib/core/errors';

const base = mkdtempSync(join(tmpdir(), 'pw-addon-load-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));

/** A package directory as installed: package.json, and the files given. */
function pkg(dir: string, files: Record<string, string> = {}): string {
  const root = join(base, dir);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'pipewright', version: '0.0.0' }));
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), data);
  }
  return root;
}

function caught(fn: () => unknown): PipewrightError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PipewrightError) return e;
    throw e;
  }
  throw new Error('expected a PipewrightError');
}

const isGlibc = Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

t.test('the prebuilt for this platform and architecture is found', async (t) => {
  if (!isGlibc) return t.plan(0, 'not a glibc system');
  const root = pkg('with-prebuild', { [`prebuilds/linux-${process.arch}/pipewright.glibc.node`]: '', 'prebuilds/linux-sparc/pipewright.glibc.node': '' });
  t.equal(findAddon(root), join(root, 'prebuilds', `linux-${process.arch}`, 'pipewright.glibc.node'));
});

t.test('a compiled build/Release wins over the prebuilt (a checkout, or the install fallback)', async (t) => {
  const root = pkg('with-build', { [`prebuilds/linux-${process.arch}/pipewright.glibc.node`]: '', 'build/Release/pipewright.node': '' });
  t.equal(findAddon(root), join(root, 'build', 'Release', 'pipewright.node'));
});

t.test('none for this system (npm): the cause, npm rebuild, and the missing toolchain', async (t) => {
  const root = pkg('none', { 'prebuilds/linux-sparc/pipewright.glibc.node': '' });
  const saved = process.env.PATH;
  process.env.PATH = join(base, 'empty-path');
  t.teardown(() => void (process.env.PATH = saved));
  const e = caught(() => findAddon(root));
  t.equal(e.code, 'ERR_PW_ADDON_LOAD');
  t.match(e.message, new RegExp(`not built for this system \\(linux-${process.arch}, `));
  t.match(e.message, /`npm rebuild pipewright`/);
  t.notMatch(e.message, /pnpm/);
  t.match(e.message, /compiling needs python3, make, a C\+\+ compiler \(g\+\+\), not found on PATH/);
  t.ok(e.cause, "node-gyp-build's own error is kept as the cause");
});

t.test('none for this system under pnpm: pnpm approve-builds', async (t) => {
  const root = pkg('node_modules/.pnpm/pipewright@0.1.0/node_modules/pipewright');
  t.equal(installerOf(root), 'pnpm');
  t.equal(installerOf(pkg('node_modules/pipewright')), 'npm');
  const e = caught(() => findAddon(root));
  t.equal(e.code, 'ERR_PW_ADDON_LOAD');
  t.match(e.message, /`pnpm approve-builds`.*`pnpm rebuild pipewright`/);
});

t.test('with a toolchain on PATH, no toolchain advice', async (t) => {
  const bin = join(base, 'toolchain');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['python3', 'make', 'g++']) writeFileSync(join(bin, tool), '');
  const saved = process.env.PATH;
  process.env.PATH = bin;
  t.teardown(() => void (process.env.PATH = saved));
  const e = caught(() => findAddon(pkg('none-but-tools')));
  t.notMatch(e.message, /compiling needs/);
});

t.test('a file that is not a loadable addon: named, with the loader\'s reason', async (t) => {
  const root = pkg('broken', { 'build/Release/pipewright.node': 'not an ELF file' });
  const file = findAddon(root);
  const e = caught(() => loadAddonFile(file, root));
  t.equal(e.code, 'ERR_PW_ADDON_LOAD');
  t.equal(e.value, file);
  t.ok(e.message.startsWith(`the native addon ${file} cannot be loaded on this system: `), e.message);
  t.match(e.message, /invalid ELF header|file too short/);
  t.match(e.message, /npm rebuild pipewright/);
});

t.test('PIPEWRIGHT_PREBUILD decides what code runs: as root, only a directory that is root\'s alone', async (t) => {
  const uidMap = readFileSync('/proc/self/uid_map', 'utf8');
  if (process.geteuid?.() !== 0 || !/^\s*0\s+0\s+4294967295\s*$/.test(uidMap)) return t.plan(0, 'not root in the initial user namespace: nothing is checked');
  const dir = join(base, 'shared-prebuilds');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  process.env.PIPEWRIGHT_PREBUILD = dir;
  t.teardown(() => void delete process.env.PIPEWRIGHT_PREBUILD);
  const e = caught(() => findAddon(pkg('with-override', { [`prebuilds/linux-${process.arch}/pipewright.glibc.node`]: '' })));
  t.equal(e.code, 'ERR_PW_UNTRUSTED_ENV');
  t.match(e.message, /PIPEWRIGHT_PREBUILD/);
});
