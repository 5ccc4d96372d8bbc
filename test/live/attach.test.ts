// attach() and detach() against the real kernel, one test per mode this
// kernel supports, each checking real effects (traffic, read-back state)
// and the absence of leftovers.
import t from 'tap';
import { spawn } from 'node:child_process';
import { attach, detach, planAttach, NetlinkError, PIPEWRIGHT_GROUP } from '../../lib';
import { withScene, ping, Scene } from '../helpers/scene';
import { snapshot } from '../helpers/snapshot';

/** A real process in its own network namespace, as pipework's guests are. */
async function processGuest(s: Scene): Promise<number> {
  const child = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  s.defer(async () => void child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 50)); // unshare execs sleep once the namespace exists
  return child.pid!;
}

t.test('bridge mode: the pipework command, read back and pinged', (t) =>
  withScene(t, async (s) => {
    const g1 = await s.guest({ named: true });
    const pid = await processGuest(s);
    const r1 = await attach({ host: s.host, hostIf: 'br0', guest: g1.ns.name!, address: '10.0.0.3/24', gateway: '10.0.0.1' });
    t.equal(r1.status, 'attached');
    t.equal(r1.mode, 'bridge');
    t.equal(r1.hostIf.created, true, 'a missing br* interface is created as a bridge');
    const br = await s.host.link.get('br0');
    t.equal(br.up, true, 'and brought up');
    const he = await s.host.link.get(r1.hostEnd!.index);
    t.equal(he.master, br.index, 'host end enslaved');
    t.equal(he.up, true, 'host end up');
    t.equal(he.group, PIPEWRIGHT_GROUP, 'host end in the ownership group');
    t.match(he.alias ?? '', /^pipewright owner=pipewright guest=\d+:\d+ if=eth1$/, 'host end carries the ownership mark');
    const eth1 = await g1.handle.link.get('eth1');
    t.equal(eth1.up, true);
    t.same([he.txQueues, he.rxQueues, eth1.txQueues, eth1.rxQueues], [1, 1, 1, 1], 'both ends made with one queue each way');
    t.same((await g1.handle.addr.list({ dev: 'eth1', family: 4 })).map((a) => `${a.address}/${a.prefixLen} brd ${a.broadcast}`), ['10.0.0.3/24 brd 10.0.0.255']);
    const routes = await g1.handle.route.list({ family: 4 });
    t.ok(routes.some((r) => r.dst === 'default' && r.gateway === '10.0.0.1'), 'default route via the gateway');

    // A process guest by PID: the host end is named v<guestIf>pl<pid>, as pipework names it.
    await s.host.addr.add('br0', '10.0.0.1/24');
    const r2 = await attach({ host: s.host, hostIf: 'br0', guest: String(pid), address: '10.0.0.4/24', gateway: '10.0.0.1', mac: 'U:guest-4' });
    t.equal(r2.hostEnd!.name, `veth1pl${pid}`);
    t.equal(r2.guest.pid, pid);
    t.equal(r2.guest.mac, '02:4b:96:4d:4f:14', 'U:SEED gives the MAC pipework derives from md5("SEED\\n")');
    t.equal(await ping(g1.ns, '10.0.0.4'), true, 'guest to guest across the bridge');
    t.equal(await ping(g1.ns, '10.0.0.1'), true, 'guest to the bridge address');

    const again = await attach({ host: s.host, hostIf: 'br0', guest: g1.ns.name!, address: '10.0.0.3/24', gateway: '10.0.0.1' });
    t.equal(again.status, 'already-attached', 're-running the same attach is safe');
    t.same(again.steps, [], 'and changes nothing');
    const before = await snapshot(s.host);
    const clash = await attach({ host: s.host, hostIf: 'br0', guest: g1.ns.name!, address: '10.0.0.9/24' }).catch((e: unknown) => e);
    t.equal((clash as { code: string }).code, 'ERR_PW_CONFLICT', 'a different address on the same interface is a conflict');
    t.match((clash as Error).message, /10\.0\.0\.9\/24/);
    t.same(await snapshot(s.host), before, 'nothing changed by the conflicting attach');

    const d = await detach({ host: s.host, guest: g1.ns.name! });
    // Only the links: detach may also clear DHCP files another test left
    // under this namespace's id (the kernel reuses namespace inodes).
    t.same(d.removed.filter((l) => !/DHCP/.test(l)).length, 2, 'guest end and host end removed');
    t.equal(await g1.handle.link.find('eth1'), null);
    t.equal(await s.host.link.find(r1.hostEnd!.index), null);
    t.equal(d.hostEnd, r1.hostEnd!.name, 'the host end that went with it is named');
  }),
);

t.test('MTU is inherited from the bridge; IPv6 addresses and gateways', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br6', up: true, mtu: 1400 });
    await s.host.addr.add('br6', '2001:db8::1/64');
    const g = await s.guest();
    const r = await attach({ host: s.host, hostIf: 'br6', guest: g.ns, guestIf: 'eth0', address: '2001:db8::3/64', gateway: '2001:db8::1' });
    t.equal(r.guest.mtu, 1400, 'guest MTU = bridge MTU');
    t.equal((await s.host.link.get(r.hostEnd!.index)).mtu, 1400, 'host end MTU = bridge MTU');
    t.ok(r.guest.addresses.includes('2001:db8::3/64'));
    const routes = await g.handle.route.list({ family: 6 });
    t.ok(routes.some((x) => x.dst === 'default' && x.gateway === '2001:db8::1'), 'IPv6 default route');
  }),
);

t.test('a gateway outside the subnet gets an on-link host route first', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.1.0.5/32', gateway: '10.1.0.1' });
    const routes = await g.handle.route.list({ family: 4 });
    t.ok(routes.some((r) => r.dst === '10.1.0.1' && r.dstLen === 32 && r.scope === 'link'), 'on-link route to the gateway');
    t.ok(routes.some((r) => r.dst === 'default' && r.gateway === '10.1.0.1'), 'default route via it');
  }),
);

t.test('0/0 attaches without an address', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const r = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '0/0' });
    t.equal(r.status, 'attached');
    t.same((await g.handle.addr.list({ dev: 'eth1', family: 4 })), [], 'no IPv4 address');
    t.equal((await g.handle.link.get('eth1')).up, true, 'but the interface is up');
  }),
);

t.test("guestHandle: the caller's handle in the guest is used and left open; one for another namespace is refused", (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const other = await s.guest();
    await t.rejects(attach({ host: s.host, hostIf: 'br0', guest: g.ns, guestHandle: other.handle, address: '10.0.0.5/24' }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'guestHandle' }, "a handle of another namespace: refused, naming the field");
    await t.rejects(attach({ host: s.host, hostIf: 'br0', guest: 'someone', guestHandle: g.handle, address: '10.0.0.5/24' }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'guestHandle' }, 'a guest given other than as the Netns: refused');
    t.equal(await s.host.link.find('br0'), null, 'nothing was made');
    const r = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, guestHandle: g.handle, address: '10.0.0.5/24' });
    t.equal(r.status, 'attached');
    t.equal(g.handle.closed, false, "the caller's handle is still open");
    t.equal((await g.handle.link.get('eth1')).up, true, 'and works: the interface is there, up');
    await t.rejects(attach({ host: s.host, hostIf: 'br0', guest: g.ns, guestHandle: g.handle, guestIf: 'eth1', address: '10.0.0.6/24' }), { code: 'ERR_PW_CONFLICT' });
    t.equal(g.handle.closed, false, 'also after a refused attach');
  }),
);

t.test('hostIfLink: the bridge as the caller read it is used; one gone since fails the attach and leaves nothing', (t) =>
  withScene(t, async (s) => {
    const br = await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const g = await s.guest();
    const r = await attach({ host: s.host, hostIf: 'br0', hostIfLink: br, guest: g.ns, address: '10.0.0.5/24' });
    t.equal(r.status, 'attached');
    t.equal((await s.host.link.get(r.hostEnd!.index)).master, br.index, 'the host end is a port of that bridge');
    // The same name, another link: the one read before is gone.
    await s.host.link.del(br.index);
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const g2 = await s.guest();
    const before = (await s.host.link.list()).map((l) => l.name).sort();
    await t.rejects(attach({ host: s.host, hostIf: 'br0', hostIfLink: br, guest: g2.ns, address: '10.0.0.6/24' }), { code: 'ERR_PW_ATTACH_FAILED' }, 'a stale link read: the attach fails');
    t.same((await s.host.link.list()).map((l) => l.name).sort(), before, 'nothing of it is left on the host');
    t.same((await g2.handle.link.list()).map((l) => l.name), ['lo'], 'nor in the guest');
  }),
);

t.test('macvlan mode: a non-bridge host interface gets a macvlan, born in the guest', (t) =>
  withScene(t, async (s) => {
    // A veth stands in for a physical NIC; its peer is the "wire".
    await s.host.link.add({ kind: 'veth', name: 'phys0', peer: { name: 'wire0', up: true } });
    const a = await s.guest();
    const b = await s.guest();
    const ra = await attach({ host: s.host, hostIf: 'phys0', guest: a.ns, address: '10.2.0.2/24' });
    const rb = await attach({ host: s.host, hostIf: 'phys0', guest: b.ns, address: '10.2.0.3/24', mac: '02:00:00:00:02:03' });
    t.equal(ra.mode, 'macvlan');
    const mv = await b.handle.link.get('eth1');
    t.equal(mv.kind, 'macvlan');
    t.equal(mv.mode, 'bridge');
    t.equal(mv.address, '02:00:00:00:02:03');
    t.equal(rb.hostEnd, undefined, 'no host end: the macvlan lives only in the guest');
    t.equal((await s.host.link.get('phys0')).up, true, 'the lower device was brought up');
    t.equal(await ping(a.ns, '10.2.0.3'), true, 'two macvlans on one parent reach each other');
    await detach({ host: s.host, guest: b.ns });
    t.equal(await b.handle.link.find('eth1'), null);
  }),
);

t.test('--direct-phys moves the device itself, and detach moves it back', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'veth', name: 'nic7', mtu: 1450, peer: { name: 'nic7p' } });
    const g = await s.guest();
    const r = await attach({ host: s.host, hostIf: 'nic7', guest: g.ns, guestIf: 'eth9', directPhys: true, address: '10.3.0.2/24' });
    t.equal(r.mode, 'direct-phys');
    t.equal(await s.host.link.find('nic7'), null, 'gone from the host');
    const moved = await g.handle.link.get('eth9');
    t.equal(moved.mtu, 1450, 'the same device, renamed in the guest');
    await detach({ host: s.host, guest: g.ns, guestIf: 'eth9' });
    t.ok(await s.host.link.find('nic7'), 'back on the host under its own name');
    t.equal(await g.handle.link.find('eth9'), null);
  }),
);

t.test('VLAN sub-interfaces need 802.1Q: refused cleanly where the kernel lacks it', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'veth', name: 'phys0', peer: { name: 'wire0' } });
    const g = await s.guest();
    const before = await snapshot(s.host);
    const err = await attach({ host: s.host, hostIf: 'phys0', guest: g.ns, address: '10.4.0.2/24', vlan: 10 }).catch((e: unknown) => e);
    if (!(err instanceof Error)) {
      t.pass('this kernel has 802.1Q: attached on phys0.10');
      return;
    }
    t.equal((err as unknown as { code: string }).code, 'ERR_PW_ATTACH_FAILED');
    t.match(err.message, /create vlan phys0\.10/, 'names the step');
    t.ok((err as { cause?: unknown }).cause instanceof NetlinkError, 'the kernel refusal is the cause');
    t.same(await snapshot(s.host), before, 'nothing left in the host');
    t.equal(await g.handle.link.find('eth1'), null, 'nothing in the guest');
  }),
);

t.test('--dry-run plans without touching anything', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const before = await snapshot(s.host);
    const p = await planAttach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.0.0.3/24', gateway: '10.0.0.1' });
    t.match(p.steps[0], /^create bridge br0/);
    t.match(p.steps[1], /^create veth v.* \(up, port of br0/);
    t.same(p.undo.slice(-2), [p.undo.at(-2), 'delete bridge br0'], 'undo ends by deleting the bridge it would create');
    t.same(await snapshot(s.host), before, 'host untouched');
    t.same((await g.handle.link.list()).map((l) => l.name), ['lo'], 'guest untouched');
  }),
);
