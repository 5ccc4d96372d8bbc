// Re-running an attach: "already attached" only when everything the attach
// sets is as asked (address and prefix, gateway and its on-link route, MAC,
// MTU, host interface, host end name when given); otherwise ERR_PW_CONFLICT
// naming the first field that differs, and nothing changed. Issue 12,
// items 1 and 2.
import t, { type Test } from 'tap';
import { attach, type AttachSpec } from '../../lib';
import { withScene } from '../helpers/scene';
import { snapshot } from '../helpers/snapshot';
import { cli } from '../helpers/cli';

async function conflictOn(t: Test, spec: AttachSpec, field: string, message: RegExp, label: string): Promise<void> {
  const e = (await attach(spec).catch((x: unknown) => x)) as { code?: string; field?: string; message?: string; status?: string };
  t.equal(e.code, 'ERR_PW_CONFLICT', `${label}: a conflict${e.status ? ` (got ${e.status})` : ''}`);
  t.equal(e.field, field, `${label}: names the field`);
  t.match(e.message ?? '', message, `${label}: says what differs`);
}

t.test('every field the attach sets is compared on a re-run', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    await s.host.link.add({ kind: 'bridge', name: 'br1', up: true });
    const base: AttachSpec = { host: s.host, hostIf: 'br0', guest: g.ns.name!, address: '10.0.0.2/24', gateway: '10.0.0.1', mac: '02:00:00:00:00:02' };
    const first = await attach(base);
    t.equal(first.status, 'attached');
    const before = { host: await snapshot(s.host), guest: await snapshot(g.handle) };

    t.equal((await attach(base)).status, 'already-attached', 'an identical re-run');
    const { mac: _mac, ...noMac } = base;
    t.equal((await attach(noMac)).status, 'already-attached', 'a re-run that does not ask for a MAC takes any');
    t.equal((await attach({ ...base, hostEnd: first.hostEnd!.name })).status, 'already-attached', 'the host end named as it is');

    await conflictOn(t, { ...base, gateway: '10.0.0.9' }, 'gateway', /10\.0\.0\.1.*10\.0\.0\.9|10\.0\.0\.9.*10\.0\.0\.1/, 'a different gateway');
    const { gateway: _gw, ...noGateway } = base;
    await conflictOn(t, noGateway, 'gateway', /default route via 10\.0\.0\.1/, 'no gateway, while the guest routes via one');
    await conflictOn(t, { ...base, address: '10.0.0.2/25' }, 'address', /10\.0\.0\.2\/25/, 'another prefix');
    await conflictOn(t, { ...base, address: '10.0.0.3/24' }, 'address', /10\.0\.0\.3\/24/, 'another address');
    await conflictOn(t, { ...base, mac: '02:00:00:00:00:09' }, 'mac', /02:00:00:00:00:09/, 'another MAC');
    await conflictOn(t, { ...base, mtu: 1400 }, 'mtu', /1400/, 'another MTU');
    await conflictOn(t, { ...base, hostIf: 'br1' }, 'hostIf', /br1/, 'another bridge');
    await conflictOn(t, { ...base, hostEnd: 'vother0' }, 'hostEnd', /vother0/, 'another host end name');
    t.strictSame({ host: await snapshot(s.host), guest: await snapshot(g.handle) }, before, 'no re-run changed anything');

    // The guest's default route is gone (someone removed it): not attached as asked.
    await g.handle.route.del({ dst: 'default', gateway: '10.0.0.1' });
    await conflictOn(t, base, 'gateway', /no default route/, 'the default route is missing');

    // The CLI: the issue's command, exit 6 instead of 0 "already-attached".
    await g.handle.route.add({ dst: 'default', gateway: '10.0.0.1', dev: 'eth1' });
    const again = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.2/24@10.0.0.1', '02:00:00:00:00:02', '--json');
    t.equal(again.code, 0, again.stderr);
    t.equal(JSON.parse(again.stdout).status, 'already-attached');
    const other = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.2/24@10.0.0.9', '--json');
    t.equal(other.code, 6, 'a different gateway: exit 6');
    t.equal(JSON.parse(other.stdout).error.field, 'gateway');
    const none = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.2/24');
    t.equal(none.code, 6, 'no gateway: exit 6');
  }),
);

t.test('a gateway outside the subnet: its on-link route is part of the attachment', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const spec: AttachSpec = { host: s.host, hostIf: 'br0', guest: g.ns, address: '10.1.0.5/32', gateway: '10.1.0.1' };
    await attach(spec);
    t.equal((await attach(spec)).status, 'already-attached');
    await g.handle.route.del({ dst: '10.1.0.1/32', dev: 'eth1' });
    t.ok((await g.handle.route.list({ family: 4 })).some((r) => r.dst === 'default'), 'the default route is still there');
    await conflictOn(t, spec, 'gateway', /on-link route to 10\.1\.0\.1/, 'the on-link route is missing');
  }),
);

t.test('an identical re-run is not a conflict when the host end and its peer have the same index', (t) =>
  withScene(t, async (s) => {
    // Fresh namespaces number links alike: the scene's host has lo (1) and
    // the new bridge (2), so the host end gets 3; a bridge in the guest
    // (2) makes the guest's eth1 index 3 as well.
    const g = await s.guest();
    await g.handle.link.add({ kind: 'bridge', name: 'pad0' });
    const spec: AttachSpec = { host: s.host, hostIf: 'br0', guest: g.ns, address: '10.0.0.2/24', gateway: '10.0.0.1' };
    const r = await attach(spec);
    t.equal(r.hostEnd!.index, r.guest.index, 'the host end and the guest interface have the same index (the case under test)');
    const he = await s.host.link.get(r.hostEnd!.index);
    t.equal(he.link, r.guest.index, "the host end's peer index is decoded even when it equals its own index");
    t.type(he.linkNetnsId, 'number', 'with the namespace id that places it in the guest');
    const again = await attach(spec);
    t.equal(again.status, 'already-attached', 'the identical re-run is recognised');
  }),
);
