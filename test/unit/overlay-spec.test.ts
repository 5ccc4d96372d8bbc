// The pure parts of the declarative overlay: the flood-list diff, the MTU
// trap check, and the validation of bridges, overlays and topologies (each
// refusal names the field and the value).
import t from 'tap';
import { floodDiff, floodPeers, FLOOD_MAC } from '../../lib/ops/overlay/flood';
import { trapped } from '../../lib/ops/overlay/mtu';
import { normalizeBridge, normalizeOverlay, type OverlaySpec } from '../../lib/ops/overlay/spec';
import { normalizeTopology } from '../../lib/ops/overlay/topology/spec';
import { declaredAlias, parseDeclaredAlias } from '../../lib/ops/ownership/marks';
import type { Neighbour } from '../../lib/core/types';

const base: OverlaySpec = { name: 'vxlan0', vni: 42, port: 4789, dev: 'eth0', local: '192.0.2.1', peers: ['192.0.2.2'] };

t.test('floodDiff: adds the missing, removes the stale, keeps the rest; nothing for equal sets', async (t) => {
  t.same(floodDiff(['192.0.2.2', '192.0.2.3'], ['192.0.2.3', '192.0.2.4']), { add: ['192.0.2.4'], remove: ['192.0.2.2'], keep: ['192.0.2.3'] });
  t.same(floodDiff(['192.0.2.2', '192.0.2.3'], ['192.0.2.3', '192.0.2.2']), { add: [], remove: [], keep: ['192.0.2.2', '192.0.2.3'] });
  t.same(floodDiff([], []), { add: [], remove: [], keep: [] });
  t.same(floodDiff(['192.0.2.2'], []), { add: [], remove: ['192.0.2.2'], keep: [] });
});

t.test('floodPeers: only the device\'s own all-zeros entries with a destination', async (t) => {
  const n = (index: number, lladdr: string, address?: string): Neighbour => ({ family: 'bridge', index, lladdr, state: ['permanent'], flags: 0, ...(address ? { address } : {}) });
  const entries = [n(4, FLOOD_MAC, '192.0.2.2'), n(4, '02:00:00:00:00:01', '192.0.2.9'), n(4, 'c2:89:10:ba:be:65'), n(7, FLOOD_MAC, '192.0.2.8'), n(4, FLOOD_MAC, '192.0.2.3')];
  t.same(floodPeers(entries, 4), ['192.0.2.2', '192.0.2.3']);
});

t.test('trapped: ports larger than the overlay', async (t) => {
  t.same(trapped([{ name: 'veth1', mtu: 1500 }, { name: 'veth2', mtu: 1450 }], 1450), [{ name: 'veth1', mtu: 1500 }]);
  t.same(trapped([{ name: 'veth2', mtu: 1400 }], 1450), []);
});

t.test('declared marks round-trip; other marks are not declared ones', async (t) => {
  const m = { owner: 'pipewright', kind: 'bridge' as const, topology: 'hostA', address: '172.16.1.1/16' };
  t.same(parseDeclaredAlias(declaredAlias(m)), m);
  t.same(parseDeclaredAlias(declaredAlias({ owner: 'o', kind: 'overlay' })), { owner: 'o', kind: 'overlay' });
  t.equal(parseDeclaredAlias('pipewright owner=o bridge'), null);
  t.equal(parseDeclaredAlias('pipewright owner=o guest=4:5 if=eth0'), null);
  t.equal(parseDeclaredAlias(undefined), null);
});

t.test('normalizeOverlay: defaults and normalization', async (t) => {
  const s = normalizeOverlay({ ...base, port: undefined, peers: ['192.0.2.2', '192.0.2.3'] });
  t.equal(s.port, 4789, 'the port is always explicit: IANA 4789 by default');
  t.equal(s.owner, 'pipewright');
  t.same(s.peers, ['192.0.2.2', '192.0.2.3']);
  t.ok(Object.isFrozen(s));
  t.same(normalizeOverlay({ ...base, local: '2001:db8::1', peers: ['2001:DB8:0::2'] }).peers, ['2001:db8::2'], 'IPv6 normalized');
});

t.test('normalizeOverlay refuses bad input, naming the field and the value', async (t) => {
  const bad: Array<[Partial<OverlaySpec> & Record<string, unknown>, string, unknown]> = [
    [{ vni: 0 }, 'vni', 0],
    [{ vni: 16777216 }, 'vni', 16777216],
    [{ port: 0 }, 'port', 0],
    [{ port: 65536 }, 'port', 65536],
    [{ peers: ['not-an-ip'] }, 'peers[0]', 'not-an-ip'],
    [{ peers: ['192.0.2.2', '192.0.2.2'] }, 'peers[1]', '192.0.2.2'],
    [{ peers: ['192.0.2.1'] }, 'peers[0]', '192.0.2.1'],
    [{ peers: ['224.0.0.1'] }, 'peers[0]', '224.0.0.1'],
    [{ peers: ['2001:db8::2'] }, 'peers[0]', '2001:db8::2'],
    [{ peers: '192.0.2.2' as never }, 'peers', '192.0.2.2'],
    [{ local: 'nowhere' }, 'local', 'nowhere'],
    [{ local: undefined }, 'local', undefined],
    [{ dev: undefined }, 'dev', undefined],
    [{ dev: 'vxlan0' }, 'dev', 'vxlan0'],
    [{ name: 'a-very-long-interface' }, 'name', 'a-very-long-interface'],
    [{ mtu: 10 }, 'mtu', 10],
    [{ learning: true }, 'learning', true],
  ];
  for (const [change, field, value] of bad) {
    const spec = { ...base, ...change } as OverlaySpec;
    t.throws(() => normalizeOverlay(spec), { code: 'ERR_PW_INVALID_ARGUMENT', field, value }, `${JSON.stringify(change)} is refused as ${field}`);
  }
  t.throws(() => normalizeOverlay({ ...base, vni: 0 }), { message: /vni: 0 must be an integer from 1 to 16777215/ });
  t.throws(() => normalizeOverlay({ ...base, peers: ['192.0.2.2', '192.0.2.2'] }), { message: /duplicates peers\[0\]/ });
});

t.test('normalizeBridge', async (t) => {
  t.same(normalizeBridge({ name: 'br0', address: '172.16.1.1/16', stp: false }), { name: 'br0', owner: 'pipewright', address: { family: 4, address: '172.16.1.1', prefixLen: 16, broadcast: '172.16.255.255' }, stp: false });
  t.throws(() => normalizeBridge({ name: 'br0', address: '172.16.1.1' }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'address', value: '172.16.1.1' });
  t.throws(() => normalizeBridge({ name: 'br0', address: '172.16.255.255/16' }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'address' });
  t.throws(() => normalizeBridge({ name: 'br0', stp: 'on' as never }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'stp', value: 'on' });
});

t.test('normalizeTopology: paths in field names, cross-checks', async (t) => {
  const topo = { name: 'hostA', bridges: [{ name: 'br0', address: '172.16.1.1/16' }], overlays: [{ ...base, bridge: 'br0', mtu: 1450 }], guests: [{ hostIf: 'br0', guest: 'ns1', guestIf: 'eth0', address: '172.16.1.2/16' }] };
  const n = normalizeTopology(topo);
  t.equal(n.guestOwner, 'pipewright@hostA', 'the guests carry the topology in their owner tag');
  t.equal(n.guests[0]!.spec.owner, 'pipewright@hostA');
  t.throws(() => normalizeTopology({ ...topo, overlays: [{ ...base, vni: 0 }] }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'overlays[0].vni', value: 0, message: /^overlays\[0\]\.vni: 0 must be/ });
  t.throws(() => normalizeTopology({ ...topo, overlays: [{ ...base, port: 0 }] }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'overlays[0].port', value: 0 });
  t.throws(() => normalizeTopology({ ...topo, bridges: [{ name: 'br0' }, { name: 'br0' }] }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'bridges[1].name', value: 'br0' });
  t.throws(() => normalizeTopology({ ...topo, overlays: [{ ...base }, { ...base, name: 'vxlan1' }] }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'overlays[1].vni' });
  t.throws(() => normalizeTopology({ ...topo, guests: [{ ...topo.guests[0]!, owner: 'me' } as never] }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'guests[0].owner' });
  t.throws(() => normalizeTopology({ ...topo, guests: [{ ...topo.guests[0]!, mtu: 1500 }] }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'guests[0].mtu', value: 1500, message: /MTU trap/ });
  t.throws(() => normalizeTopology({ ...topo, bridges: [{ name: 'br0', mtu: 1500 }] }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'bridges[0].mtu', message: /MTU trap/ });
  t.throws(() => normalizeTopology({ ...topo, guests: [topo.guests[0]!, topo.guests[0]!] }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'guests[1].guestIf' });
  t.throws(() => normalizeTopology({ ...topo, name: '../x' }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'name', value: '../x' });
  t.throws(() => normalizeTopology({ ...topo, extra: 1 } as never), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'extra' });
});
