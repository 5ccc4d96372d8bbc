// The op table (lib/core/op-table.json) is the one description of the
// native boundary: the generated TS and C++ must match it, the addon must
// offer exactly its operations, and refuse every key it does not list.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addon } from '../../lib/core/native';
import { NetlinkError } from '../../lib/core/errors';
import { LINK_KIND_NAMES, MACVLAN_MODE_NAMES, OP_NAMES, type OpArgs } from '../../lib/core/op-types';

const root = join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const gen = require(join(root, 'scripts', 'gen-op-table.js')) as {
  load(): unknown;
  genTs(m: unknown): string;
  genH(m: unknown): string;
  genCc(m: unknown): string;
};

t.test('the generated files are what the table says (run node scripts/gen-op-table.js)', async (t) => {
  const model = gen.load();
  t.equal(readFileSync(join(root, 'lib/core/op-types.ts'), 'utf8'), gen.genTs(model), 'lib/core/op-types.ts');
  t.equal(readFileSync(join(root, 'native/op_table_gen.h'), 'utf8'), gen.genH(model), 'native/op_table_gen.h');
  t.equal(readFileSync(join(root, 'native/op_table_gen.cc'), 'utf8'), gen.genCc(model), 'native/op_table_gen.cc');
});

t.test('the addon runs exactly the operations of the table', async (t) => {
  t.same([...addon().opNames()].sort(), [...OP_NAMES].sort());
});

function refusal(fn: () => unknown): NetlinkError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NetlinkError) return e;
    throw e;
  }
  throw new Error('accepted');
}

t.test('an unknown argument key is refused with the op and the key named', async (t) => {
  // @ts-expect-error: a misspelled key is a compile error too
  const e = refusal(() => addon().encode('link.add', { kind: 'bridge', name: 'br0', mtuu: 1500 }));
  t.equal(e.code, 'ERR_PW_INVALID_ARGUMENT');
  t.equal(e.field, 'mtuu');
  t.match(e.message, /link\.add/);
  t.match(e.message, /mtuu: is not an argument of link\.add/);

  // @ts-expect-error: likewise inside a nested object
  const peer = refusal(() => addon().encode('link.add', { kind: 'veth', name: 've0', peer: { nmae: 've1' } }));
  t.equal(peer.field, 'peer.nmae', 'a veth peer key');

  // @ts-expect-error: and in a set of flags
  const flag = refusal(() => addon().encode('neigh.add', { family: 'bridge', index: 3, lladdr: '02:00:00:00:00:01', flags: { slef: true } }));
  t.equal(flag.field, 'flags.slef', 'a neighbour flag');

  // A key another op takes is still refused here.
  const other = refusal(() => addon().encode('link.del', { index: 3, kind: 'veth' } as OpArgs['link.del']));
  t.equal(other.field, 'kind');
  t.match(other.message, /is not an argument of link\.del/);
});

t.test('an unknown operation is a compile error and a run-time refusal', async (t) => {
  // @ts-expect-error: not an op of the table
  t.throws(() => addon().encode('link.nosuch', {}), { name: 'TypeError', message: /unknown operation 'link\.nosuch'/ });
});

t.test('keys the table declares exclusive are refused together', async (t) => {
  const e = refusal(() => addon().encode('link.add', { kind: 'vxlan', name: 'vx0', vni: 1, remote: '192.0.2.1', multicastGroup: '239.1.1.1' }));
  t.equal(e.field, 'remote');
  t.match(e.message, /multicastGroup/);
});

t.test('every link kind and macvlan mode of the table has a native codec', async (t) => {
  const required: Partial<Record<(typeof LINK_KIND_NAMES)[number], Partial<OpArgs['link.add']>>> = { vxlan: { vni: 1 }, vlan: { parent: 2, vlanId: 5 }, macvlan: { parent: 2 }, macvtap: { parent: 2 } };
  for (const kind of LINK_KIND_NAMES) {
    const bytes = addon().encode('link.add', { kind, name: 'x0', ...required[kind] });
    t.ok(bytes.includes(Buffer.from(kind)), `${kind}: encoded with its IFLA_INFO_KIND`);
  }
  for (const mode of MACVLAN_MODE_NAMES) t.ok(addon().encode('link.add', { kind: 'macvlan', name: 'mv0', parent: 2, mode }).length > 0, `macvlan mode ${mode}`);
  const bad = refusal(() => addon().encode('link.add', { kind: 'macvlan', name: 'mv0', parent: 2, mode: 'nope' as 'bridge' }));
  t.equal(bad.field, 'mode');
  t.match(bad.message, /private, vepa, bridge, passthru, source/, 'the error lists the modes from the table');
});
