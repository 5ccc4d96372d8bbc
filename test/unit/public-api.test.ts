// lib/index.ts exports the documented API and nothing more (issue 13): a
// name added or dropped is a deliberate change to this list and the README.
// Helpers for examples and benchmarks live behind their own subpath.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '../../lib';
import * as sandbox from '../../lib/ops/sandbox';

const ROOT = join(__dirname, '..', '..');

t.test('the runtime exports are the documented ones', async (t) => {
  t.strictSame(Object.keys(api).sort(), [
    'AttachError', 'Engine', 'EngineRefusal', 'Handle', 'NetlinkError', 'Netns', 'PIPEWRIGHT_GROUP', 'PipewrightError', 'Watcher', 'attach', 'detach', 'isNetlinkError', 'planAttach',
  ]);
  t.equal(api.PIPEWRIGHT_GROUP, 0x7077);
});

t.test("the sandbox helpers are 'pipewright/sandbox', not the library", async (t) => {
  t.notOk('ensureSandbox' in api || 'inSandbox' in api, 'not exported by the library');
  t.equal(typeof sandbox.ensureSandbox, 'function');
  t.equal(typeof sandbox.inSandbox, 'function');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  t.strictSame(pkg.exports['./sandbox'], { types: './dist/lib/ops/sandbox.d.ts', default: './dist/lib/ops/sandbox.js' });
});

t.test("the declarative operations are 'pipewright/overlay' (README: Topologies and overlays), not the library's root", async (t) => {
  // Deliberate: the README documents require('pipewright/overlay'), as forensics and repro have their own subpaths.
  const overlay = await import('../../lib/ops/overlay');
  t.strictSame(Object.keys(overlay).sort(), [
    'ApplyError', 'DEFAULT_VXLAN_PORT', 'FLOOD_MAC', 'applyTopology', 'bridge', 'floodDiff', 'floodPeers', 'normalizeBridge', 'normalizeOverlay', 'normalizeTopology', 'overlay',
  ]);
  t.strictSame(Object.keys(overlay.bridge), ['ensure']);
  t.strictSame(Object.keys(overlay.overlay).sort(), ['apply', 'delete', 'show']);
  t.notOk('applyTopology' in api || 'overlay' in api || 'bridge' in api, 'not exported by the library root');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  t.strictSame(pkg.exports['./overlay'], { types: './dist/lib/ops/overlay/index.d.ts', default: './dist/lib/ops/overlay/index.js' });
});
