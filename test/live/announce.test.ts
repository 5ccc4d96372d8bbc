// The gratuitous ARP an attach sends, judged where it matters: in the ARP
// caches of the neighbours. Every cached entry here is made fresh (inside
// the kernel's 1 s locktime), so only a packet Linux counts as gratuitous
// can change it; a negative control shows an attach without the
// announcement leaves such an entry alone.
import t from 'tap';
import { attach, NetlinkError } from '../../lib';
import { addon } from '../../lib/core/native';
import type { Handle } from '../../lib';
import { withScene } from '../helpers/scene';

const OLD_MAC = '02:00:00:00:00:99';

/** The MAC `h` has cached for `address` on `dev`, or null. */
async function cached(h: Handle, dev: string, address: string): Promise<string | null> {
  const n = (await h.neigh.list({ dev, family: 4 })).find((x) => x.address === address);
  return n?.lladdr ?? null;
}

/** Polls for up to `ms` until `h` caches `address` as `mac`; returns what it had last. */
async function waitCached(h: Handle, dev: string, address: string, mac: string, ms = 1000): Promise<string | null> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await cached(h, dev, address);
    if (got === mac || Date.now() > end) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('attach announces the address: neighbours drop a fresh stale MAC at once, and the guest keeps no entry for itself', (t) =>
  withScene(t, async (s) => {
    const peer = await s.guest({ named: true });
    await attach({ host: s.host, hostIf: 'br0', guest: peer.ns, guestIf: 'eth0', address: '10.5.0.2/24', arp: false });
    await s.host.addr.add('br0', '10.5.0.1/24');
    // A bridge whose MAC follows its ports would change it (and flush its
    // neighbours) as ports join: give it its own.
    await s.host.link.set('br0', { address: '02:00:00:00:b0:01' });
    for (const ip of ['10.5.0.9', '10.5.0.10']) {
      await s.host.neigh.replace({ dev: 'br0', address: ip, lladdr: OLD_MAC, state: 'stale' });
      await peer.handle.neigh.replace({ dev: 'eth0', address: ip, lladdr: OLD_MAC, state: 'stale' });
    }

    const g = await s.guest({ named: true });
    await attach({ host: s.host, hostIf: 'br0', guest: g.ns, guestIf: 'eth0', address: '10.5.0.9/24' });
    const mac = (await g.handle.link.get('eth0')).address!;
    t.equal(await waitCached(s.host, 'br0', '10.5.0.9', mac), mac, 'the bridge (the gateway) caches the new MAC');
    t.equal(await waitCached(peer.handle, 'eth0', '10.5.0.9', mac), mac, 'the other guest caches the new MAC');
    t.same(await g.handle.neigh.list({ dev: 'eth0', family: 4 }), [], 'the guest has no neighbour entry left (the announcement used none it keeps)');

    // Negative control: the same without the announcement changes nothing.
    const quiet = await s.guest({ named: true });
    await attach({ host: s.host, hostIf: 'br0', guest: quiet.ns, guestIf: 'eth0', address: '10.5.0.10/24', arp: false });
    await new Promise((r) => setTimeout(r, 300));
    t.equal(await cached(s.host, 'br0', '10.5.0.10'), OLD_MAC, 'without arp the bridge keeps the old MAC');
    t.equal(await cached(peer.handle, 'eth0', '10.5.0.10'), OLD_MAC, 'without arp the other guest keeps the old MAC');
  }),
);

t.test("neigh.announce leaves an entry the guest has for its own address alone (EEXIST); the packet way still counts as gratuitous", (t) =>
  withScene(t, async (s) => {
    const peer = await s.guest({ named: true });
    await attach({ host: s.host, hostIf: 'br0', guest: peer.ns, guestIf: 'eth0', address: '10.6.0.2/24', arp: false });
    const g = await s.guest({ named: true });
    await attach({ host: s.host, hostIf: 'br0', guest: g.ns, guestIf: 'eth0', address: '10.6.0.9/24', arp: false });
    await g.handle.neigh.add({ dev: 'eth0', address: '10.6.0.9', lladdr: '02:00:00:00:00:42' });
    const err = await g.handle.neigh.announce('eth0', '10.6.0.9').catch((e: unknown) => e);
    t.type(err, NetlinkError);
    t.equal((err as NetlinkError).code, 'EEXIST');
    t.equal(await cached(g.handle, 'eth0', '10.6.0.9'), '02:00:00:00:00:42', "the guest's own entry is untouched");

    const bad = await g.handle.neigh.announce('eth0', '2001:db8::9').catch((e: unknown) => e);
    t.match(bad, { code: 'ERR_PW_INVALID_ARGUMENT', field: 'address' }, 'IPv6 is refused with the field named');

    // The fallback attach uses then: a gratuitous reply from a packet socket,
    // with our MAC as target too, so a fresh entry is overridden as well.
    await peer.handle.neigh.replace({ dev: 'eth0', address: '10.6.0.9', lladdr: OLD_MAC, state: 'stale' });
    const link = await g.handle.link.get('eth0');
    await addon().sendGratuitousArp(g.ns.fd, link.index, '10.6.0.9', link.address!, 1);
    t.equal(await waitCached(peer.handle, 'eth0', '10.6.0.9', link.address!), link.address, 'the other guest caches the new MAC');
  }),
);

t.test('on an STP bridge the port is still listening: attach says the announcement cannot pass yet, and does not wait for it', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'brstp', up: true, stp: true, forwardDelay: 1500 });
    const g = await s.guest({ named: true });
    const r = await attach({ host: s.host, hostIf: 'brstp', guest: g.ns, guestIf: 'eth0', address: '10.7.0.9/24' });
    t.equal(r.status, 'attached');
    const port = (await s.host.link.get(r.hostEnd!.index)).port;
    t.not(port?.state, 'forwarding', `the port is not forwarding yet (${port?.state})`);
    t.match(r.warnings.join('\n'), /is (listening|learning|blocking) on brstp \(STP: it forwards after the bridge's forward delay\)/, 'the warning names the STP state');
  }),
);

t.test('a bridge that is down: the warning says so at once, from what the kernel reports', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'brdown', up: false });
    const g = await s.guest();
    const r = await attach({ host: s.host, hostIf: 'brdown', guest: g.ns, address: '10.6.0.2/24' });
    t.equal(r.status, 'attached', 'the attach itself succeeds');
    t.equal(r.warnings.length, 1, `one warning: ${JSON.stringify(r.warnings)}`);
    t.match(r.warnings[0], /bridge brdown is down/, 'names the reason: the bridge is down');
    t.match(r.warnings[0], /ip link set brdown up/, 'and the fix');
    t.notMatch(r.warnings[0], /after \d+ ms/, 'not a timeout');
  }),
);
