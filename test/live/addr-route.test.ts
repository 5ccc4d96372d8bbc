// Addresses, routes and rules against the real kernel: every field read back,
// errors by code, and the pipework case of a gateway outside the subnet.
import t from 'tap';
import { withScene } from '../helpers/scene';
import { Handle, NetlinkError } from '../../lib';
import type { Address, Route } from '../../lib';

/** Polls until check() is truthy (DAD and friends are asynchronous in the kernel). */
async function until<T>(check: () => Promise<T | undefined | null | false>, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A veth pair va/vb in `h`, both ends up (so it has carrier), va's index returned. */
async function vethPair(h: Handle): Promise<number> {
  const va = await h.link.add({ kind: 'veth', name: 'va', up: true, peer: { name: 'vb', up: true } });
  return va.index;
}

const find = (list: Address[], address: string) => list.find((a) => a.address === address);
const routeTo = (list: Route[], dst: string) => list.filter((r) => r.dst === dst);

t.test('IPv4 addresses: add, read back, duplicate, replace, delete', (t) =>
  withScene(t, async ({ host }) => {
    const va = await vethPair(host);
    await host.addr.add('va', '10.1.0.1/24', { broadcast: '10.1.0.255', label: 'va:one' });
    await host.addr.add(va, '10.2.0.1/16', { scope: 'link' });

    const list = await host.addr.list({ dev: 'va', family: 4 });
    t.same(list.map((a) => a.address).sort(), ['10.1.0.1', '10.2.0.1'], 'only the addresses of va, IPv4 only');
    const a1 = find(list, '10.1.0.1')!;
    t.match(a1, { index: va, family: 4, prefixLen: 24, broadcast: '10.1.0.255', scope: 'universe', label: 'va:one', permanent: true });
    const a2 = find(list, '10.2.0.1')!;
    t.match(a2, { index: va, family: 4, prefixLen: 16, scope: 'link', label: 'va' });
    t.equal(a2.broadcast, undefined, 'no broadcast unless asked for');
    t.notOk(a1.validLifetime, 'permanent: no lifetime');

    const prefix = routeTo(await host.route.list({ family: 4 }), '10.1.0.0');
    t.match(prefix, [{ dstLen: 24, dev: va, proto: 'kernel', scope: 'link', table: 254 }], 'the kernel added the prefix route');

    const dup = await host.addr.add('va', '10.1.0.1/24').catch((e: unknown) => e);
    t.ok(dup instanceof NetlinkError, 'a NetlinkError');
    t.equal((dup as NetlinkError).code, 'EEXIST');
    t.equal((dup as NetlinkError).op, 'addr.add');

    await host.addr.replace('va', '10.1.0.1/24', { broadcast: '10.1.0.255', label: 'va:one' });
    await host.addr.replace('va', '10.3.0.1/24');
    const after = await host.addr.list({ dev: va, family: 4 });
    t.equal(after.filter((a) => a.address === '10.1.0.1').length, 1, 'replace of an existing address is idempotent');
    t.match(find(after, '10.3.0.1'), { prefixLen: 24, scope: 'universe' }, 'replace of a new one adds it');

    await host.addr.del('va', '10.1.0.1/24');
    await host.addr.del('va', '10.3.0.1/24');
    t.same((await host.addr.list({ dev: 'va', family: 4 })).map((a) => a.address), ['10.2.0.1'], 'deleted');
    t.same(routeTo(await host.route.list({ family: 4 }), '10.1.0.0'), [], 'and its prefix route with it');
    const gone = await host.addr.del('va', '10.1.0.1/24').catch((e: unknown) => e);
    t.equal((gone as NetlinkError).code, 'EADDRNOTAVAIL', 'deleting an absent address');
  }),
);

t.test('IPv6 addresses: tentative until DAD completes, then valid', (t) =>
  withScene(t, async ({ host }) => {
    const va = await vethPair(host);
    await host.addr.add('va', '2001:db8:1::1/64');
    const first = find(await host.addr.list({ dev: 'va', family: 6 }), '2001:db8:1::1');
    t.match(first, { index: va, family: 6, prefixLen: 64, scope: 'universe', permanent: true, dadFailed: false });
    t.type(first?.tentative, 'boolean', 'IPv6 addresses report DAD state');

    const settled = await until(async () => {
      const a = find(await host.addr.list({ dev: 'va', family: 6 }), '2001:db8:1::1');
      return a && !a.tentative ? a : undefined;
    }, 8000);
    t.ok(settled, 'DAD completed: no longer tentative');
    t.equal(settled?.dadFailed, false);
    t.equal(settled?.broadcast, undefined, 'IPv6 has no broadcast');

    const dup = await host.addr.add('va', '2001:db8:1::1/64').catch((e: unknown) => e);
    t.equal((dup as NetlinkError).code, 'EEXIST');
    await host.addr.replace('va', '2001:db8:1::1/64');
    t.equal((await host.addr.list({ dev: 'va', family: 6 })).filter((a) => a.address === '2001:db8:1::1').length, 1, 'replace is idempotent');

    const linkLocal = (await host.addr.list({ dev: 'va', family: 6 })).filter((a) => a.address.startsWith('fe80:'));
    t.match(linkLocal, [{ scope: 'link', prefixLen: 64 }], 'the kernel made a link-local address, scope link');

    await host.addr.del('va', '2001:db8:1::1/64');
    t.equal(find(await host.addr.list({ dev: 'va', family: 6 }), '2001:db8:1::1'), undefined, 'deleted');
  }),
);

t.test('IPv4 routes: dev, via a gateway, default, replace, table and metric', (t) =>
  withScene(t, async ({ host }) => {
    const va = await vethPair(host);
    await host.addr.add('va', '10.1.0.1/24');

    await host.route.add({ dst: '10.50.0.0/16', dev: 'va' });
    await host.route.add({ dst: '10.60.0.0/16', gateway: '10.1.0.254' });
    await host.route.add({ dst: 'default', gateway: '10.1.0.254' });
    const main = await host.route.list({ family: 4 });
    t.match(routeTo(main, '10.50.0.0'), [{ family: 4, dstLen: 16, dev: va, scope: 'link', proto: 'boot', type: 'unicast', table: 254 }], 'dev route: scope link');
    t.equal(routeTo(main, '10.50.0.0')[0]?.gateway, undefined);
    t.match(routeTo(main, '10.60.0.0'), [{ dstLen: 16, gateway: '10.1.0.254', dev: va, scope: 'universe', onlink: false }], 'prefix via gateway: dev resolved');
    t.match(routeTo(main, 'default'), [{ dstLen: 0, gateway: '10.1.0.254', dev: va, scope: 'universe' }], 'default route');

    const dup = await host.route.add({ dst: 'default', gateway: '10.1.0.254' }).catch((e: unknown) => e);
    t.equal((dup as NetlinkError).code, 'EEXIST', 'duplicate route');

    await host.route.replace({ dst: 'default', gateway: '10.1.0.253' });
    t.match(routeTo(await host.route.list({ family: 4 }), 'default'), [{ gateway: '10.1.0.253' }], 'replaced, not added: one default');

    await host.route.add({ dst: '10.70.0.0/16', gateway: '10.1.0.254', table: 100, metric: 50 });
    await host.route.add({ dst: '10.70.0.0/16', dev: 'va', table: 100, metric: 60 });
    const t100 = await host.route.list({ table: 100 });
    t.match(routeTo(t100, '10.70.0.0').sort((a, b) => a.metric! - b.metric!), [
      { table: 100, metric: 50, gateway: '10.1.0.254', dev: va },
      { table: 100, metric: 60, dev: va, scope: 'link' },
    ], 'table 100, two metrics');
    t.ok(t100.every((r) => r.table === 100), 'list({table}) returns only that table');
    t.same(routeTo(await host.route.list(), '10.70.0.0'), [], 'not in the main table');

    await host.route.del({ dst: '10.70.0.0/16', gateway: '10.1.0.254', table: 100, metric: 50 });
    t.match(routeTo(await host.route.list({ table: 100 }), '10.70.0.0'), [{ metric: 60 }], 'deleted by metric');
    await host.route.del({ dst: '10.50.0.0/16', dev: 'va' });
    await host.route.del({ dst: '10.60.0.0/16', gateway: '10.1.0.254' });
    await host.route.del({ dst: 'default', gateway: '10.1.0.253' });
    const left = await host.route.list({ family: 4 });
    t.same(left.filter((r) => r.proto !== 'kernel').map((r) => r.dst), [], 'only kernel routes left in main');
    const again = await host.route.del({ dst: 'default', gateway: '10.1.0.253' }).catch((e: unknown) => e);
    t.equal((again as NetlinkError).code, 'ESRCH', 'deleting an absent route');
  }),
);

t.test('a gateway outside the guest subnet (the pipework case)', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    await s.host.link.add({ kind: 'veth', name: 'vh1', up: true, peer: { name: 'eth0', netns: g.ns } });
    const eth0 = await g.handle.link.get('eth0');
    await g.handle.link.set('eth0', { up: true });
    await g.handle.addr.add('eth0', '10.2.0.5/24');

    const plain = await g.handle.route.add({ dst: 'default', gateway: '10.9.9.1' }).catch((e: unknown) => e);
    t.equal((plain as NetlinkError).code, 'ENETUNREACH', 'refused: the gateway is not on any connected subnet');

    // pipework's way: a /32 to the gateway on the link, then the default via it.
    await g.handle.route.add({ dst: '10.9.9.1/32', dev: 'eth0', scope: 'link' });
    await g.handle.route.add({ dst: 'default', gateway: '10.9.9.1' });
    let routes = await g.handle.route.list({ family: 4 });
    t.match(routeTo(routes, '10.9.9.1'), [{ dstLen: 32, dev: eth0.index, scope: 'link' }], 'host route to the gateway');
    t.match(routeTo(routes, 'default'), [{ gateway: '10.9.9.1', dev: eth0.index, onlink: false }], 'default via it');
    await g.handle.route.del({ dst: 'default', gateway: '10.9.9.1' });
    await g.handle.route.del({ dst: '10.9.9.1/32', dev: 'eth0' });

    // Or onlink: the kernel takes the gateway as directly reachable on eth0.
    await g.handle.route.add({ dst: 'default', gateway: '10.9.9.1', dev: 'eth0', onlink: true });
    routes = await g.handle.route.list({ family: 4 });
    t.match(routeTo(routes, 'default'), [{ gateway: '10.9.9.1', dev: eth0.index, onlink: true }], 'onlink default route');
    t.same(routeTo(routes, '10.9.9.1'), [], 'no helper route needed');
  }),
);

t.test('IPv6 routes: default via a gateway, a prefix with a metric', (t) =>
  withScene(t, async ({ host }) => {
    const va = await vethPair(host);
    await host.addr.add('va', '2001:db8:1::1/64');
    await host.route.add({ dst: 'default', gateway: '2001:db8:1::fe' });
    await host.route.add({ dst: '2001:db8:99::/48', gateway: '2001:db8:1::fe', metric: 300 });
    const v6 = await host.route.list({ family: 6 });
    t.match(routeTo(v6, 'default'), [{ family: 6, dstLen: 0, gateway: '2001:db8:1::fe', dev: va, table: 254, scope: 'universe' }]);
    t.type(routeTo(v6, 'default')[0]?.metric, 'number', 'the kernel gives IPv6 routes a metric');
    t.match(routeTo(v6, '2001:db8:99::'), [{ dstLen: 48, gateway: '2001:db8:1::fe', metric: 300 }]);
    t.ok(v6.every((r) => r.family === 6), 'family filter');
    const dup = await host.route.add({ dst: 'default', gateway: '2001:db8:1::fe' }).catch((e: unknown) => e);
    t.equal((dup as NetlinkError).code, 'EEXIST');
    await host.route.del({ dst: 'default', gateway: '2001:db8:1::fe' });
    await host.route.del({ dst: '2001:db8:99::/48', gateway: '2001:db8:1::fe', metric: 300 });
    const left = await host.route.list({ family: 6 });
    t.same([...routeTo(left, 'default'), ...routeTo(left, '2001:db8:99::')], [], 'both gone');
  }),
);

t.test('policy rules: add, list with fields, duplicate, delete', (t) =>
  withScene(t, async ({ host }) => {
    const before = await host.rule.list({ family: 4 });
    t.same(before.map((r) => r.priority).sort((a, b) => a! - b!), [0, 32766, 32767], 'a fresh namespace has the three default rules');

    await host.rule.add({ from: '10.0.0.0/24', table: 100, priority: 1000 });
    const mine = (await host.rule.list({ family: 4 })).filter((r) => r.priority === 1000);
    t.match(mine, [{ family: 4, priority: 1000, from: '10.0.0.0', fromLen: 24, toLen: 0, table: 100, action: 'lookup' }], 'listed with its fields');
    t.equal(mine[0]?.to, undefined);
    t.same((await host.rule.list({ family: 6 })).filter((r) => r.priority === 1000), [], 'not an IPv6 rule');

    const dup = await host.rule.add({ from: '10.0.0.0/24', table: 100, priority: 1000 }).catch((e: unknown) => e);
    t.equal((dup as NetlinkError).code, 'EEXIST', 'duplicate rule');

    await host.rule.del({ from: '10.0.0.0/24', table: 100, priority: 1000 });
    t.same((await host.rule.list({ family: 4 })).filter((r) => r.priority === 1000), [], 'deleted');
    const gone = await host.rule.del({ from: '10.0.0.0/24', table: 100, priority: 1000 }).catch((e: unknown) => e);
    t.equal((gone as NetlinkError).code, 'ENOENT', 'deleting an absent rule');
  }),
);
