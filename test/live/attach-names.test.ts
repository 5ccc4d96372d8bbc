// Names already taken, and attaches racing for the same names: the error
// names the object that is in the way (issue 12, item 5), and a race lost to
// another attach of the same guest interface is a conflict or, once the
// winner is done and identical, "already attached" (item 6).
import t from 'tap';
import { attach, NetlinkError, type AttachSpec } from '../../lib';
import { withScene } from '../helpers/scene';
import { snapshot } from '../helpers/snapshot';
import { cli } from '../helpers/cli';

t.test("a veth whose peer name is taken in the other namespace: the error is about peer.name, there", (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    await g.handle.link.add({ kind: 'bridge', name: 'eth0' });
    const before = await snapshot(s.host);
    const e = (await s.host.link.add({ kind: 'veth', name: 'q0', peer: { name: 'eth0', netns: g.ns } }).catch((x: unknown) => x)) as NetlinkError;
    t.ok(e instanceof NetlinkError, 'a NetlinkError');
    t.equal(e.code, 'EEXIST');
    t.equal(e.field, 'peer.name', 'names the peer field');
    t.equal(e.object, 'eth0', 'and the object in the way');
    t.match(e.message, /'eth0'/, 'the message names the peer');
    t.notMatch(e.message, /^link\.add q0: File exists$/, 'not the bare errno about the host end');
    t.strictSame(await snapshot(s.host), before, 'nothing was created');

    // The host end's own name taken: that field, this namespace.
    await s.host.link.add({ kind: 'bridge', name: 'q1' });
    const e2 = (await s.host.link.add({ kind: 'veth', name: 'q1', peer: { name: 'eth9', netns: g.ns } }).catch((x: unknown) => x)) as NetlinkError;
    t.equal(e2.code, 'EEXIST');
    t.equal(e2.field, 'name');
    t.equal(e2.object, 'q1');
  }),
);

t.test("-l naming a link: deletion is suggested only for what carries pipewright's mark", (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    // Someone else's link under the name asked for.
    await s.host.link.add({ kind: 'veth', name: 'taken0', peer: { name: 'other0' } });
    const foreign = await cli(s.hostNs, 'br0', '-l', 'taken0', g.ns.name!, '10.0.0.3/24');
    t.equal(foreign.code, 6, foreign.stderr);
    t.match(foreign.stderr, /'taken0' is taken by an existing veth that pipewright did not create/);
    t.notMatch(foreign.stderr, /ip link del|pipewright gc/, 'no deletion suggested for a link that is not ours');

    // A leftover of ours: a host end with pipewright's mark whose guest has no eth1.
    await s.host.link.add({ kind: 'veth', name: 'mine0', group: 0x7077, peer: { name: 'gone0' } });
    await s.host.link.set('mine0', { alias: `pipewright owner=ci guest=${g.ns.id} if=eth1` });
    const leftover = await cli(s.hostNs, 'br0', '-l', 'mine0', g.ns.name!, '10.0.0.4/24', '--owner', 'ci');
    t.equal(leftover.code, 6, leftover.stderr);
    t.match(leftover.stderr, /'mine0' already exists \(made by pipewright, owner ci\)/);
    t.match(leftover.stderr, /pipewright gc --owner ci|ip link del mine0/, 'ours: how to remove it is suggested');
  }),
);

t.test('20 parallel attaches of the same guest interface: one attaches, the others conflict or find it in place', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const spec: AttachSpec = { host: s.host, hostIf: 'br0', guest: g.ns, address: '10.0.0.2/24', gateway: '10.0.0.1' };
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => attach(spec)));
    const attached = results.filter((r) => r.status === 'fulfilled' && r.value.status === 'attached');
    const inPlace = results.filter((r) => r.status === 'fulfilled' && r.value.status === 'already-attached');
    const conflicts = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_PW_CONFLICT');
    const other = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code !== 'ERR_PW_CONFLICT');
    t.equal(attached.length, 1, 'exactly one attaches');
    t.strictSame(other.map((r) => `${(r as PromiseRejectedResult).reason.code}: ${(r as PromiseRejectedResult).reason.message}`), [], 'no loser gets anything but a conflict');
    t.equal(attached.length + inPlace.length + conflicts.length, 20, `the rest: ${inPlace.length} already attached, ${conflicts.length} conflicts`);
    for (const c of conflicts) t.notMatch((c as PromiseRejectedResult).reason.message, /^attach failed at step/, 'a conflict, not a failed step');
    const ports = await s.host.link.list({ master: 'br0' });
    t.equal(ports.length, 1, 'one port on the bridge: nothing leaked');
    t.equal((await g.handle.link.list()).filter((l) => l.kind === 'veth').length, 1, 'one veth in the guest');
    t.equal((await attach(spec)).status, 'already-attached', 'and a re-run afterwards finds it in place');
  }),
);
