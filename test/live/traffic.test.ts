// Real traffic: the two topologies of FIELD-NOTES §4 built with pipewright
// calls only, then pinged across (ping runs inside the namespaces, through
// our fds). A negative control shows the pings test what we think they test.
import t from 'tap';
import { ping, withScene } from '../helpers/scene';
import type { Guest, Scene } from '../helpers/scene';

/** Addresses, lo and eth0 up, optional default route: the guest side of an attach. */
async function configure(g: Guest, cidr: string, gateway?: string): Promise<void> {
  await g.handle.addr.add('eth0', cidr);
  await g.handle.link.set('eth0', { up: true });
  if (gateway) await g.handle.route.add({ dst: 'default', gateway });
}

t.test('one host: a bridge and two guests whose eth0 is born inside them', (t) =>
  withScene(t, async (s) => {
    const br = await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    await s.host.addr.add('br0', '172.16.1.1/16');
    const g1 = await s.guest({ named: true });
    const g2 = await s.guest({ named: true });
    // One request each: host end UP and enslaved, peer created in the guest as eth0.
    const vh1 = await s.host.link.add({ kind: 'veth', name: 'vh1', up: true, master: 'br0', peer: { name: 'eth0', netns: g1.ns } });
    const vh2 = await s.host.link.add({ kind: 'veth', name: 'vh2', up: true, master: 'br0', peer: { name: 'eth0', netns: g2.ns } });
    t.equal(vh1.master, br.index, 'vh1 enslaved');
    t.equal(vh2.master, br.index, 'vh2 enslaved');
    await configure(g1, '172.16.1.2/16', '172.16.1.1');
    await configure(g2, '172.16.1.3/16', '172.16.1.1');
    t.match((await g1.handle.route.list({ family: 4 })).filter((r) => r.dst === 'default'), [{ gateway: '172.16.1.1' }], 'g1 default route');

    t.equal(await ping(g1.ns, '172.16.1.3'), true, 'g1 -> g2 across the bridge');
    t.equal(await ping(g2.ns, '172.16.1.1'), true, 'g2 -> the bridge address');
    t.equal(await ping(g2.ns, '172.16.1.2'), true, 'g2 -> g1');

    // Negative control: take vh2 off the bridge and g2 is unreachable.
    await s.host.link.set('vh2', { master: null });
    t.equal((await s.host.link.get('vh2')).master, null, 'vh2 released');
    t.equal(await ping(g1.ns, '172.16.1.3'), false, 'g1 -> g2 fails once vh2 is off the bridge');

    await s.host.link.del('vh1');
    await s.host.link.del('vh2');
    t.equal(await s.host.link.find('vh1'), null, 'vh1 gone');
    t.equal(await g1.handle.link.find('eth0'), null, "g1's eth0 went with it");
    t.equal(await g2.handle.link.find('eth0'), null, "g2's eth0 went with it");
    t.same((await s.host.link.list({ master: 'br0' })).map((l) => l.name), [], 'the bridge has no ports left');
  }),
);

interface VtepHost {
  host: Guest;
  container: Guest;
}

/** One "host" of the overlay: br0, vxlan0 flooding to the other VTEP, and a container on br0. */
async function vtepHost(s: Scene, host: Guest, local: string, remote: string, containerCidr: string): Promise<VtepHost> {
  const h = host.handle;
  await h.addr.add('eth0', `${local}/24`);
  await h.link.set('eth0', { up: true });
  await h.link.add({ kind: 'bridge', name: 'br0', up: true });
  await h.link.add({ kind: 'vxlan', name: 'vxlan0', vni: 42, port: 4789, dev: 'eth0', local, master: 'br0', up: true });
  await h.fdb.append({ dev: 'vxlan0', lladdr: '00:00:00:00:00:00', dst: remote });
  const container = await s.guest();
  await h.link.add({ kind: 'veth', name: 'vc0', up: true, master: 'br0', mtu: 1450, peer: { name: 'eth0', netns: container.ns, mtu: 1450 } });
  await configure(container, containerCidr);
  return { host, container };
}

t.test('two hosts joined by VXLAN over a veth underlay, a container on each', (t) =>
  withScene(t, async (s) => {
    const hostA = await s.guest();
    const hostB = await s.guest();
    // The underlay: one veth whose ends are born in the two hosts, both as eth0.
    await s.host.link.add({ kind: 'veth', name: 'eth0', netns: hostA.ns, peer: { name: 'eth0', netns: hostB.ns } });
    t.equal(await s.host.link.find('eth0'), null, 'the underlay is not in the namespace that made it');

    const a = await vtepHost(s, hostA, '192.0.2.1', '192.0.2.2', '172.16.1.2/24');
    const b = await vtepHost(s, hostB, '192.0.2.2', '192.0.2.1', '172.16.1.3/24');

    const vx = await a.host.handle.link.get('vxlan0');
    const br = await a.host.handle.link.get('br0');
    t.match(vx, { kind: 'vxlan', master: br.index, up: true, vxlan: { vni: 42, port: 4789, local: '192.0.2.1' } }, 'vxlan0 read back');
    t.equal((await a.container.handle.link.get('eth0')).mtu, 1450, 'container end has the overlay MTU');
    t.equal((await a.host.handle.link.get('vc0')).mtu, 1450, 'host end too');
    t.match((await a.host.handle.fdb.list({ dev: 'vxlan0' })).filter((n) => n.lladdr === '00:00:00:00:00:00'), [{ address: '192.0.2.2' }], 'flood entry toward host B');

    t.equal(await ping(hostA.ns, '192.0.2.2'), true, 'the underlay works');
    const txBefore = vx.stats?.txPackets ?? 0;
    t.equal(await ping(a.container.ns, '172.16.1.3', 3), true, 'container A -> container B across the overlay');
    t.equal(await ping(b.container.ns, '172.16.1.2'), true, 'container B -> container A');
    const txAfter = (await a.host.handle.link.get('vxlan0')).stats?.txPackets ?? 0;
    t.ok(txAfter >= txBefore + 3, `vxlan0 on host A sent the frames (tx ${txBefore} -> ${txAfter})`);

    // Negative control: without host B's flood entry, ARP from B never reaches A.
    await b.host.handle.fdb.del({ dev: 'vxlan0', lladdr: '00:00:00:00:00:00', dst: '192.0.2.1' });
    await b.container.handle.neigh.list({ dev: 'eth0', family: 4 }).then((ns) =>
      Promise.all(ns.map((n) => b.container.handle.neigh.del({ dev: 'eth0', address: n.address! }))),
    );
    t.equal(await ping(b.container.ns, '172.16.1.2'), false, 'B -> A fails without the flood entry');

    for (const side of [a, b]) {
      await side.host.handle.link.del('vc0');
      await side.host.handle.link.del('vxlan0');
      t.equal(await side.container.handle.link.find('eth0'), null, "the container's eth0 went with vc0");
      t.same((await side.host.handle.link.list()).map((l) => l.name).sort(), ['br0', 'eth0', 'lo'], 'only br0, the underlay and lo left');
    }
  }),
);
