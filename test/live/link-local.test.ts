// A guest interface given IPv4 addresses only makes no IPv6 link-local
// address (lib/ops/attach/link-local.ts), through the library and through
// the CNI plugin; one given an IPv6 address, or told to keep it, makes one.
// The address is made as the interface comes up, so reading the interface
// right after the attach shows it (as tentative) or its absence.
import t from 'tap';
import { attach } from '../../lib';
import type { Handle } from '../../lib/core/handle';
import { withScene } from '../helpers/scene';
import { cniSkipReason, hostLocalConf, netnsPath, pluginDir, runCni } from '../helpers/cni';

/** The interface's IPv6 addresses and its address generation mode, as the kernel reports them. */
async function ipv6Of(h: Handle, dev: string) {
  const link = await h.link.get(dev);
  const addrs = await h.addr.list({ dev, family: 6 });
  return { mode: link.ipv6AddrGenMode, addresses: addrs.map((a) => `${a.address}/${a.prefixLen}`) };
}

const linkLocal = (addresses: string[]) => addresses.filter((a) => a.startsWith('fe80:'));

t.test('attach: IPv4 only makes no link-local address; kept when asked, and with an IPv6 address', (t) =>
  withScene(t, async (s) => {
    const [g1, g2, g3] = await Promise.all([s.guest({ named: true }), s.guest({ named: true }), s.guest({ named: true })]);
    await attach({ host: s.host, hostIf: 'br0', guest: g1.ns.name!, address: '10.0.0.3/24', gateway: '10.0.0.1' });
    const off = await ipv6Of(g1.handle, 'eth1');
    t.equal(off.mode, 'none', 'IPv4 only: the kernel is told to make none');
    t.same(off.addresses, [], 'and the interface, up, has no IPv6 address at all');
    const again = await attach({ host: s.host, hostIf: 'br0', guest: g1.ns.name!, address: '10.0.0.3/24', gateway: '10.0.0.1' });
    t.equal(again.status, 'already-attached', 'the same attach again: already in place');
    await t.rejects(
      attach({ host: s.host, hostIf: 'br0', guest: g1.ns.name!, address: '10.0.0.3/24', gateway: '10.0.0.1', ipv6LinkLocal: true }),
      { code: 'ERR_PW_CONFLICT', field: 'ipv6LinkLocal', message: /making no IPv6 link-local address; this attach keeps it/ },
      'asked to keep the link-local address: a conflict naming the field',
    );

    await attach({ host: s.host, hostIf: 'br0', guest: g2.ns.name!, address: '10.0.0.4/24', ipv6LinkLocal: true });
    const kept = await ipv6Of(g2.handle, 'eth1');
    t.not(kept.mode, 'none', `ipv6LinkLocal: true: the kernel's own mode (${String(kept.mode)})`);
    t.equal(linkLocal(kept.addresses).length, 1, 'and its link-local address');
    await t.rejects(
      attach({ host: s.host, hostIf: 'br0', guest: g2.ns.name!, address: '10.0.0.4/24' }),
      { code: 'ERR_PW_CONFLICT', field: 'ipv6LinkLocal', message: /with an IPv6 link-local address; this attach makes none/ },
      'the other way round too',
    );

    await attach({ host: s.host, hostIf: 'br0', guest: g3.ns.name!, address: 'fd00:9::3/64' });
    const v6 = await ipv6Of(g3.handle, 'eth1');
    t.not(v6.mode, 'none', 'an IPv6 address: the link-local address is kept');
    t.same(v6.addresses.filter((a) => !a.startsWith('fe80:')), ['fd00:9::3/64']);
    t.equal(linkLocal(v6.addresses).length, 1);
  }),
);

const skip = cniSkipReason();
t.test('CNI ADD: IPAM gives IPv4 only, so no link-local address; kept with "ipv6LinkLocal": true or an IPv6 range', { skip: skip ?? false }, (t) =>
  withScene(t, async (s) => {
    const p = pluginDir();
    s.defer(async () => p.remove());
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, boolean]> = [
      ['host-local, an IPv4 subnet', {}, {}, false],
      ['the same, "ipv6LinkLocal": true', { ipv6LinkLocal: true }, {}, true],
      ['host-local, IPv4 and IPv6 ranges', {}, { subnet: undefined, ranges: [[{ subnet: '10.88.7.0/24' }], [{ subnet: 'fd00:88:7::/64' }]] }, true],
    ];
    for (const [i, [name, over, ipam, kept]] of cases.entries()) {
      const g = await s.guest();
      const add = await runCni(s.hostNs, p.dir, { command: 'ADD', containerId: `ll${i}`, netns: netnsPath(g.ns), ifname: 'eth0' }, hostLocalConf(p, over, ipam));
      t.equal(add.code, 0, `${name}: ADD succeeds: ${add.stdout}${add.stderr}`);
      const got = await ipv6Of(g.handle, 'eth0');
      if (kept) {
        t.not(got.mode, 'none', `${name}: the kernel's own mode (${String(got.mode)})`);
        t.equal(linkLocal(got.addresses).length, 1, `${name}: a link-local address`);
      } else {
        t.equal(got.mode, 'none', `${name}: told to make none`);
        t.same(got.addresses, [], `${name}: no IPv6 address`);
      }
    }
  }),
);
