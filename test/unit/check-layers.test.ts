// scripts/check-layers.js (issue 13, "layers that only look down"): on small
// trees written here, it finds an import from a layer above, a cycle (and
// names its path), a cycle made through import() or require(), parts of ops
// importing each other's types, and a read of the native boundary from
// outside core; it passes a tree that only looks down, and passes this
// repository's lib/.
import t, { type Test } from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const { check } = require('../../scripts/check-layers.js') as { check: (lib?: string, allowed?: Map<string, string>) => { problems: string[]; files: number } };

function tree(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-layers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const none = new Map<string, string>();

t.test("this repository's lib/ passes", async (t) => {
  const r = check();
  t.strictSame(r.problems, []);
  t.ok(r.files > 100, `${r.files} files read`);
});

t.test('a tree that only looks down passes', async (t) => {
  const lib = tree(t, {
    'core/errors.ts': 'export class E {}\n',
    'core/native.ts': "import { E } from './errors';\n",
    'core/handle.ts': "import { E } from './errors';\nimport { addon } from './native';\n",
    'ops/attach/index.ts': "import { Handle } from '../../core/handle';\n// import { x } from '../../cli/main';\n",
    'cli/main.ts': "import { attach } from '../ops/attach';\nconst a = () => import('../core/handle');\n",
    'index.ts': "export { attach } from './ops/attach';\nexport { Handle } from './core/handle';\n",
  });
  t.strictSame(check(lib, none).problems, []);
});

t.test('each broken rule is reported', async (t) => {
  const lib = tree(t, {
    'core/a.ts': "import { b } from './b';\nexport const a = 1;\n",
    'core/b.ts': "export const b = async () => (await import('./c')).c;\n",
    'core/c.ts': "const { a } = require('./a');\n",
    'core/native.ts': 'export const addon = 1;\n',
    'core/up.ts': "import type { X } from '../ops/x';\n",
    'ops/x.ts': "import { addon } from '../core/native';\nexport type X = 1;\n",
    'ops/attach/spec.ts': "import type { D } from '../dhcp/types';\nexport type S = 1;\n",
    'ops/dhcp/types.ts': "import type { S } from '../attach/spec';\nexport type D = 1;\n",
    'ops/run.ts': "import { main } from '../cli/main';\n",
    'cli/main.ts': 'export const main = 1;\n',
  });
  const p = check(lib, none).problems;
  t.match(p, [/./], 'problems found');
  const has = (re: RegExp, what: string) => t.ok(p.some((x) => re.test(x)), what);
  has(/^core\/up\.ts:1: core imports from ops above it/, 'a type import from a layer above');
  has(/^ops\/run\.ts:1: ops imports from cli above it/, 'a runtime import from a layer above');
  has(/^ops\/x\.ts:1: only core reads the native boundary/, 'native.ts read from ops');
  has(/^import cycle: core\/a\.ts -> core\/b\.ts -> core\/c\.ts -> core\/a\.ts$/, 'a cycle through import() and require(), with its path');
  has(/^parts of ops import each other .*: ops\/attach -> ops\/dhcp -> ops\/attach$/, 'two parts of ops reading each other\'s types');
  t.notOk(p.some((x) => /cycle: .*ops\/attach\/spec/.test(x)), 'type-only imports make no runtime cycle');

  const allowed = new Map([['ops/x.ts -> core/native.ts', 'being removed'], ['ops/y.ts -> core/native.ts', 'gone']]);
  const q = check(lib, allowed).problems;
  t.notOk(q.some((x) => /^ops\/x\.ts:1: only core/.test(x)), 'an allow-listed import passes');
  t.ok(q.some((x) => /allow-list entry 'ops\/y\.ts -> core\/native\.ts' no longer matches/.test(x)), 'a stale allow-list entry is reported');
});

t.test('the command exits 1 on problems, 0 on a clean tree', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const script = join(__dirname, '..', '..', 'scripts', 'check-layers.js');
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /layers look down, no cycles/);
  const bad = tree(t, { 'core/a.ts': "import { m } from '../cli/m';\n", 'cli/m.ts': 'export const m = 1;\n' });
  const b = spawnSync(process.execPath, [script, bad], { encoding: 'utf8' });
  t.equal(b.status, 1);
  t.match(b.stderr, /check-layers: core\/a\.ts:1: core imports from cli above it/);
});
