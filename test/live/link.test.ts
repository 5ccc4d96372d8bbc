// Links against the real kernel: every kind this kernel has, attributes read
// back, errors with their codes, and the veth-into-namespace in one request.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { withScene } from '../helpers/scene';
import { NetlinkError, PipewrightError } from '../../lib';

t.test('bridge and veth: add, read back, set, delete', (t) =>
  withScene(t, async ({ host }) => {
    const br = await host.link.add({ kind: 'bridge', name: 'br0', up: true, mtu: 1400 });
    t.equal(br.kind, 'bridge');
    t.equal(br.name, 'br0');
    t.ok(br.index > 0, 'the echo carries the new index');
    t.equal(br.up, true);
    t.equal(br.mtu, 1400);

    const vh = await host.link.add({ kind: 'veth', name: 'vh1', up: true, master: 'br0', address: '02:00:00:00:00:01', peer: { name: 'vg1' } });
    t.equal(vh.master, br.index, 'created enslaved in the same request');
    t.equal(vh.up, true, 'created up');
    t.equal(vh.address, '02:00:00:00:00:01');
    const peer = await host.link.get('vg1');
    t.equal(vh.link, peer.index, "the veth reports its peer's index");
    t.equal(peer.kind, 'veth');
    // The answer is the kernel's echo, completed with what it applies after it: the same as a read now, but for what the
    // kernel's link watch decides later (operstate, RUNNING) and the port's state.
    const va = await host.link.add({ kind: 'veth', name: 'vh2', up: true, master: br.index, alias: 'port two', group: 9, mtu: 1300, peer: { name: 'vg2' } });
    const vr = await host.link.get('vh2');
    const sameNow = (l: typeof va) => ({ index: l.index, name: l.name, kind: l.kind, up: l.up, master: l.master, alias: l.alias, group: l.group, mtu: l.mtu, address: l.address, link: l.link });
    t.same(sameNow(va), sameNow(vr), 'master, alias, group, mtu, MAC and peer as a read after it says');
    t.same(sameNow(va).alias, 'port two');
    t.equal(va.port, undefined, "the port's state is not in the answer");
    t.equal(vr.port?.state, 'disabled', 'a read has it (no carrier: its peer is down)');
    await host.link.del('vh2');

    await host.link.set('vg1', { name: 'vg1-renamed', mtu: 1300, alias: 'guest end', group: 7 });
    const renamed = await host.link.get(peer.index);
    t.equal(renamed.name, 'vg1-renamed');
    t.equal(renamed.mtu, 1300);
    t.equal(renamed.alias, 'guest end');
    t.equal(renamed.group, 7);

    await host.link.set('vh1', { master: null });
    t.equal((await host.link.get('vh1')).master, null, 'master: null releases the port');
    await host.link.set('vh1', { master: 'br0' });
    const ports = await host.link.list({ master: 'br0' });
    t.same(ports.map((l) => l.name), ['vh1'], 'list filtered by master');
    t.equal(ports[0]!.port?.kind, 'bridge', 'bridge port info decoded');

    await host.link.del('vh1');
    t.equal(await host.link.find('vh1'), null, 'deleted');
    t.equal(await host.link.find('vg1-renamed'), null, 'the peer went with it');
  }),
);

t.test("a link's queues: the kernel's choice unless given, for each end of a veth apart", (t) =>
  withScene(t, async ({ host }) => {
    const plain = await host.link.add({ kind: 'veth', name: 'vq0', peer: { name: 'vq0p' } });
    const chosen = await host.link.get(plain.index);
    t.ok((chosen.txQueues ?? 0) >= 1 && (chosen.rxQueues ?? 0) >= 1, `decoded: ${chosen.txQueues} tx, ${chosen.rxQueues} rx`);
    const one = await host.link.add({ kind: 'veth', name: 'vq1', txQueues: 1, rxQueues: 1, peer: { name: 'vq1p', txQueues: 2, rxQueues: 3 } });
    t.same([one.txQueues, one.rxQueues], [1, 1], 'as asked, in the answer');
    const p = await host.link.get('vq1p');
    t.same([p.txQueues, p.rxQueues], [2, 3], "the peer's own");
    const bad = await host.link.add({ kind: 'veth', name: 'vq2', txQueues: 0 }).catch((e: unknown) => e);
    t.ok(bad instanceof PipewrightError && bad.code === 'ERR_PW_INVALID_ARGUMENT' && bad.field === 'txQueues', String(bad));
    const badPeer = await host.link.add({ kind: 'veth', name: 'vq2', peer: { rxQueues: 5000 } }).catch((e: unknown) => e);
    t.ok(badPeer instanceof PipewrightError && badPeer.field === 'peer.rxQueues', String(badPeer));
    t.equal(await host.link.find('vq2'), null, 'nothing made of a refused spec');
  }),
);

t.test('a link named by a name too long for SIOCGIFINDEX (an altname) is still found, by RTM_GETLINK with IFLA_ALT_IFNAME', (t) =>
  withScene(t, async (s) => {
    const br = await s.host.link.add({ kind: 'bridge', name: 'bra' });
    const alt = 'bridge-with-a-long-altname';
    execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, 'ip', 'link', 'property', 'add', 'dev', 'bra', 'altname', alt]);
    // The typed API takes interface names only (15 bytes); the raw op takes any name.
    await s.host.runBatch([{ op: 'link.set', args: { index: alt, up: true } }]);
    t.equal((await s.host.link.get(br.index)).up, true, 'the altname named the bridge');
    const missing = await s.host.runBatch([{ op: 'link.set', args: { index: `${alt}-no`, up: true } }]).catch((e: unknown) => e);
    t.match(missing, { code: 'ERR_PW_LINK_NOT_FOUND', field: 'index', object: `${alt}-no` }, String(missing));
    const short = await s.host.runBatch([{ op: 'link.set', args: { index: 'nosuch0', up: true } }]).catch((e: unknown) => e);
    t.match(short, { code: 'ERR_PW_LINK_NOT_FOUND', field: 'index', object: 'nosuch0', syscall: 'ioctl(SIOCGIFINDEX)' }, `and a short one: ${String(short)}`);
  }),
);

t.test('a veth whose peer is born inside a namespace under its final name', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    await s.host.link.add({ kind: 'veth', name: 'vh1', up: true, master: 'br0', peer: { name: 'eth0', netns: g.ns, mtu: 1450 } });
    t.equal(await s.host.link.find('eth0'), null, 'the peer never existed in the host namespace');
    const eth0 = await g.handle.link.get('eth0');
    t.equal(eth0.kind, 'veth');
    t.equal(eth0.mtu, 1450);
    t.ok(eth0.linkNetnsId !== undefined, 'its peer is reported as being in another namespace');
    const vh = await s.host.link.get('vh1');
    t.equal(vh.link !== undefined, true);
  }),
);

t.test('a peer born UP in another namespace (the kernel refuses that in one request)', (t) =>
  withScene(t, async (s) => {
    const a = await s.guest();
    const b = await s.guest();
    await s.host.link.add({ kind: 'veth', name: 'eth0', netns: a.ns, up: true, peer: { name: 'eth0', netns: b.ns, up: true } });
    t.equal((await a.handle.link.get('eth0')).up, true, 'this end up, in namespace a');
    t.equal((await b.handle.link.get('eth0')).up, true, 'the peer up, in namespace b');
    t.equal(await s.host.link.find('eth0'), null, 'nothing in the namespace that made it');
  }),
);

t.test('move a link into a namespace and back out by fd', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    await s.host.link.add({ kind: 'veth', name: 'va', peer: { name: 'vb' } });
    await s.host.link.set('vb', { netns: g.ns });
    t.ok(await g.handle.link.find('vb'), 'moved');
    await g.handle.link.set('vb', { netns: s.hostNs, name: 'vb-back' });
    t.ok(await s.host.link.find('vb-back'), 'moved back and renamed in one request');
  }),
);

t.test('one failed request leaves nothing: a veth with a non-bridge master', (t) =>
  withScene(t, async ({ host }) => {
    await host.link.add({ kind: 'veth', name: 'notabridge', peer: { name: 'nab-peer' } });
    const before = (await host.link.list()).length;
    const err = await host.link
      .add({ kind: 'veth', name: 'vx1', up: true, master: 'notabridge', peer: { name: 'vx1p' } })
      .catch((e: unknown) => e);
    t.ok(err instanceof NetlinkError, 'a NetlinkError');
    t.equal((err as NetlinkError).code, 'EOPNOTSUPP');
    t.equal((err as NetlinkError).op, 'link.add');
    t.equal((await host.link.list()).length, before, 'no link left behind');
  }),
);

t.test('kernel errors carry code, extended ACK and object', (t) =>
  withScene(t, async ({ host }) => {
    await host.link.add({ kind: 'bridge', name: 'br0' });
    const dup = await host.link.add({ kind: 'bridge', name: 'br0' }).catch((e: unknown) => e);
    t.ok(dup instanceof NetlinkError);
    t.equal((dup as NetlinkError).code, 'EEXIST');
    t.equal((dup as NetlinkError).object, 'br0');
    t.match((dup as Error).message, /link\.add br0: File exists \(EEXIST\)/);

    // The kernel's own words (extended ACK) reach the caller.
    const gw = await host.route.add({ dst: '10.9.0.0/16', gateway: '10.0.0.99' }).catch((e: unknown) => e);
    t.ok(gw instanceof NetlinkError);
    t.equal((gw as NetlinkError).code, 'ENETUNREACH');
    t.match((gw as NetlinkError).extack ?? '', /Nexthop has invalid gateway/, 'extended ACK text surfaced');
    t.match((gw as Error).message, /route\.add 10\.9\.0\.0: .*Nexthop has invalid gateway/, 'and is in the message, with the object');

    // Below the validation layer (raw operation), the kernel's policy check
    // points at the offending attribute; its offset is mapped back to our field.
    const raw = await host.run('link.add', { kind: 'veth', name: 'v1', peer: { name: 'y'.repeat(20) } }).catch((e: unknown) => e);
    t.equal((raw as NetlinkError).code, 'ERANGE');
    t.equal((raw as NetlinkError).field, 'peer.name', 'extended-ACK offset mapped to the nested field');
    t.type((raw as NetlinkError).offset, 'number');

    const missing = await host.link.get('nope0').catch((e: unknown) => e);
    t.ok(missing instanceof PipewrightError);
    t.equal((missing as PipewrightError).code, 'ERR_PW_LINK_NOT_FOUND');

    const noMaster = await host.link.add({ kind: 'veth', name: 'v1', master: 'nobr0' }).catch((e: unknown) => e);
    t.equal((noMaster as NetlinkError).code, 'ERR_PW_LINK_NOT_FOUND', 'a missing bridge is named');
    t.equal((noMaster as NetlinkError).field, 'master');
    t.match((noMaster as Error).message, /nobr0/);
    t.equal(await host.link.find('v1'), null, 'nothing created');
  }),
);

t.test('macvlan, macvtap and vxlan on a veth parent', (t) =>
  withScene(t, async ({ host }) => {
    await host.link.add({ kind: 'veth', name: 'p0', up: true, peer: { name: 'p1' } });
    const mv = await host.link.add({ kind: 'macvlan', name: 'mv0', parent: 'p0', mode: 'bridge' });
    t.equal(mv.kind, 'macvlan');
    t.equal(mv.mode, 'bridge');
    const p0 = await host.link.get('p0');
    t.equal(mv.link, p0.index, 'lower device');
    const mt = await host.link.add({ kind: 'macvtap', name: 'mt0', parent: 'p0', mode: 'vepa' });
    t.equal(mt.kind, 'macvtap');
    t.equal(mt.mode, 'vepa');
    const vx = await host.link.add({ kind: 'vxlan', name: 'vx0', vni: 42, port: 4789, dev: 'p0', local: '192.0.2.1', remote: '192.0.2.2', learning: false, ttl: 16 });
    t.equal(vx.kind, 'vxlan');
    t.same(
      { vni: vx.vxlan?.vni, port: vx.vxlan?.port, dev: vx.vxlan?.dev, local: vx.vxlan?.local, remote: vx.vxlan?.remote, learning: vx.vxlan?.learning, ttl: vx.vxlan?.ttl },
      { vni: 42, port: 4789, dev: p0.index, local: '192.0.2.1', remote: '192.0.2.2', learning: false, ttl: 16 },
    );
    const vxg = await host.link.add({ kind: 'vxlan', name: 'vx1', vni: 43, dev: 'p0', multicastGroup: '239.1.1.1' });
    t.equal(vxg.vxlan?.multicastGroup, '239.1.1.1');
  }),
);

t.test('kinds this kernel lacks are reported, not crashed on', (t) =>
  withScene(t, async ({ host }) => {
    await host.link.add({ kind: 'veth', name: 'p0', peer: { name: 'p1' } });
    const err = await host.link.add({ kind: 'vlan', name: 'p0.100', parent: 'p0', vlanId: 100 }).catch((e: unknown) => e);
    if (err === undefined || !(err instanceof NetlinkError)) {
      t.pass('this kernel has 802.1Q: the vlan was created');
      const v = await host.link.get('p0.100');
      t.equal(v.vlanId, 100);
      return;
    }
    t.equal(err.code, 'EOPNOTSUPP', 'no 802.1Q here: EOPNOTSUPP');
    t.match(err.extack ?? err.message, /Unknown device type|not supported/i);
    t.equal(await host.link.find('p0.100'), null);
  }),
);

t.test('bulk delete of a link group removes hundreds in one request', (t) =>
  withScene(t, async ({ host }) => {
    const N = 200;
    await host.link.add({ kind: 'bridge', name: 'keep0' });
    for (let i = 0; i < N; i++) await host.link.add({ kind: 'veth', name: `g${i}`, group: 77, peer: { name: `g${i}p`, group: 77 } });
    t.equal((await host.link.list({ kind: 'veth' })).length, 2 * N);
    await host.link.delGroup(77);
    t.equal((await host.link.list({ kind: 'veth' })).length, 0, 'every veth in the group is gone');
    t.ok(await host.link.find('keep0'), 'links outside the group stay');
  }),
);
