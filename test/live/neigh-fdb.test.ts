// Neighbours (ARP/NDP) and the bridge forwarding database against the real
// kernel: a VXLAN device's flood list toward several VTEPs, and a bridge
// port's static entry, each read back and removed.
import t from 'tap';
import { withScene } from '../helpers/scene';
import { NetlinkError } from '../../lib';
import type { Neighbour } from '../../lib';

const ZERO = '00:00:00:00:00:00';
const byMac = (list: Neighbour[], mac: string) => list.filter((n) => n.lladdr === mac);

t.test('neighbours: permanent entries added, replaced, listed, deleted', (t) =>
  withScene(t, async ({ host }) => {
    const va = await host.link.add({ kind: 'veth', name: 'va', up: true, peer: { name: 'vb', up: true } });
    await host.addr.add('va', '10.1.0.1/24');
    await host.addr.add('va', '2001:db8:1::1/64');

    await host.neigh.add({ dev: 'va', address: '10.1.0.2', lladdr: '02:00:00:00:00:02' });
    await host.neigh.add({ dev: va.index, address: '2001:db8:1::2', lladdr: '02:00:00:00:00:62' });
    const v4 = await host.neigh.list({ dev: 'va', family: 4 });
    t.match(v4, [{ family: 4, index: va.index, address: '10.1.0.2', lladdr: '02:00:00:00:00:02', state: ['permanent'] }], 'IPv4 entry read back');
    const v6 = (await host.neigh.list({ dev: 'va', family: 6 })).filter((n) => n.address === '2001:db8:1::2');
    t.match(v6, [{ family: 6, index: va.index, lladdr: '02:00:00:00:00:62', state: ['permanent'] }], 'IPv6 entry read back');

    const dup = await host.neigh.add({ dev: 'va', address: '10.1.0.2', lladdr: '02:00:00:00:00:03' }).catch((e: unknown) => e);
    t.ok(dup instanceof NetlinkError);
    t.equal((dup as NetlinkError).code, 'EEXIST', 'duplicate neighbour');
    t.equal((dup as NetlinkError).op, 'neigh.add');

    await host.neigh.replace({ dev: 'va', address: '10.1.0.2', lladdr: '02:00:00:00:00:03' });
    await host.neigh.replace({ dev: 'va', address: '10.1.0.3', lladdr: '02:00:00:00:00:04', state: 'stale' });
    const replaced = await host.neigh.list({ dev: 'va', family: 4 });
    t.match(replaced.find((n) => n.address === '10.1.0.2'), { lladdr: '02:00:00:00:00:03', state: ['permanent'] }, 'replace changed the lladdr');
    t.match(replaced.find((n) => n.address === '10.1.0.3'), { lladdr: '02:00:00:00:00:04', state: ['stale'] }, 'replace of a new one adds it with its state');

    await host.neigh.del({ dev: 'va', address: '10.1.0.2' });
    await host.neigh.del({ dev: 'va', address: '10.1.0.3' });
    await host.neigh.del({ dev: 'va', address: '2001:db8:1::2' });
    t.same((await host.neigh.list({ dev: 'va', family: 4 })).map((n) => n.address), [], 'IPv4 entries gone');
    t.same((await host.neigh.list({ dev: 'va', family: 6 })).filter((n) => n.address === '2001:db8:1::2'), [], 'IPv6 entry gone');
    const gone = await host.neigh.del({ dev: 'va', address: '10.1.0.2' }).catch((e: unknown) => e);
    t.equal((gone as NetlinkError).code, 'ENOENT', 'deleting an absent neighbour');
  }),
);

t.test('VXLAN FDB: a flood entry toward each remote VTEP, appended and deleted', (t) =>
  withScene(t, async ({ host }) => {
    await host.link.add({ kind: 'veth', name: 'under0', up: true, peer: { name: 'under1', up: true } });
    await host.addr.add('under0', '192.0.2.1/24');
    const vx = await host.link.add({ kind: 'vxlan', name: 'vx0', vni: 42, port: 4789, dev: 'under0', local: '192.0.2.1', learning: false, up: true });
    t.equal(vx.vxlan?.vni, 42);

    await host.fdb.append({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.2' });
    await host.fdb.append({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.3' });
    let flood = byMac(await host.fdb.list({ dev: 'vx0' }), ZERO);
    t.same(flood.map((n) => n.address).sort(), ['192.0.2.2', '192.0.2.3'], 'two flood entries, one per VTEP');
    t.match(flood, [
      { family: 'bridge', index: vx.index, state: ['noarp', 'permanent'] },
      { family: 'bridge', index: vx.index, state: ['noarp', 'permanent'] },
    ]);
    t.ok(flood.every((n) => (n.flags & 0x02) !== 0), 'entries of the device itself (NTF_SELF)');

    // A unicast entry toward a VTEP on another port and VNI reads those back.
    await host.fdb.append({ dev: 'vx0', lladdr: '02:00:00:00:00:bb', dst: '192.0.2.9', port: 4790, vni: 43 });
    t.match(byMac(await host.fdb.list({ dev: 'vx0' }), '02:00:00:00:00:bb'), [{ address: '192.0.2.9', port: 4790, vni: 43 }]);

    const dup = await host.fdb.add({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.2' }).catch((e: unknown) => e);
    t.equal((dup as NetlinkError).code, 'EEXIST', 'add (not append) of an existing MAC');

    await host.fdb.del({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.2' });
    flood = byMac(await host.fdb.list({ dev: 'vx0' }), ZERO);
    t.same(flood.map((n) => n.address), ['192.0.2.3'], 'deleting one destination keeps the other');
    await host.fdb.del({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.3' });
    // The kernel matches a remote by dst, port and VNI; a del naming only the
    // dst matches nothing and still returns 0. So: the same three.
    await host.fdb.del({ dev: 'vx0', lladdr: '02:00:00:00:00:bb', dst: '192.0.2.9' });
    t.equal(byMac(await host.fdb.list({ dev: 'vx0' }), '02:00:00:00:00:bb').length, 1, 'a del without port and VNI leaves it');
    await host.fdb.del({ dev: 'vx0', lladdr: '02:00:00:00:00:bb', dst: '192.0.2.9', port: 4790, vni: 43 });
    t.same(await host.fdb.list({ dev: 'vx0' }), [], 'the VXLAN FDB is empty');
    const gone = await host.fdb.del({ dev: 'vx0', lladdr: ZERO, dst: '192.0.2.3' }).catch((e: unknown) => e);
    t.equal((gone as NetlinkError).code, 'ENOENT', 'deleting an absent entry');
  }),
);

t.test("a bridge port's static FDB entry (master)", (t) =>
  withScene(t, async ({ host }) => {
    const br = await host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const vp = await host.link.add({ kind: 'veth', name: 'vp', up: true, master: 'br0', peer: { name: 'vq', up: true } });
    const mac = '02:00:00:00:00:aa';
    await host.fdb.add({ dev: 'vp', lladdr: mac, master: true });

    const onPort = byMac(await host.fdb.list({ dev: 'vp' }), mac);
    t.match(onPort, [{ family: 'bridge', index: vp.index, master: br.index, state: ['permanent'] }], 'an entry of the bridge, on the port');
    t.equal(onPort[0]!.flags & 0x02, 0, 'not a device (self) entry');
    const onBridge = byMac(await host.fdb.list({ master: 'br0' }), mac);
    t.same(onBridge.map((n) => n.index), [vp.index], 'listed among the bridge FDB too');
    const own = byMac(await host.fdb.list({ master: 'br0' }), vp.address!);
    t.ok(own.some((n) => n.index === vp.index && n.master === br.index), "the port's own MAC is in the bridge FDB as well");

    const dup = await host.fdb.add({ dev: 'vp', lladdr: mac, master: true }).catch((e: unknown) => e);
    t.equal((dup as NetlinkError).code, 'EEXIST', 'duplicate entry');

    await host.fdb.del({ dev: 'vp', lladdr: mac, master: true });
    t.same(byMac(await host.fdb.list({ master: 'br0' }), mac), [], 'deleted');
    await host.link.del('vp');
    t.same((await host.fdb.list({ master: 'br0' })).filter((n) => n.index === vp.index), [], "no entry outlives the port");
  }),
);
