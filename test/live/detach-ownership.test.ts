// detach touches only what pipewright made: an interface without our mark
// (a veth made with `ip`) is a conflict (exit 6) naming the link and why it
// is not ours, and survives; --force removes it. Like CNI's DEL, detaching
// what is already gone succeeds ("nothing attached"), while a guest that
// does not exist is still exit 3; detaches racing for the same interface
// all succeed, exactly one of them removing it.
import t from 'tap';
import { attach, detach, PIPEWRIGHT_GROUP } from '../../lib';
import { AttachmentRecord, identityPrefix, netnsCookie, readEntries, removeEntry } from '../../lib/ops/ownership';
import { withScene, inNetns } from '../helpers/scene';
import { cli } from '../helpers/cli';

t.test('an interface pipewright did not make: exit 6 naming it, it survives; --force removes it; again: exit 0, nothing attached', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const name = g.ns.name!;
    // (Keeps the guest's indexes apart from the host's: a veth whose ends
    // have equal indexes reads back without its peer, issue 12.)
    await g.handle.link.add({ kind: 'veth', name: 'pad0', peer: { name: 'pad1' } });
    // Made with ip, as an operator would: no mark, no journal entry.
    await inNetns(s.hostNs, 'ip', ['link', 'add', 'vforeign0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', `/proc/${process.pid}/fd/${g.ns.fd}`]);
    // And a look-alike in pipewright's group whose alias is someone else's.
    await s.host.link.add({ kind: 'veth', name: 'vforeign1', group: PIPEWRIGHT_GROUP, alias: 'owned by the ops team', peer: { name: 'eth5', netns: g.ns } });

    const r = await cli(s.hostNs, 'detach', name, '-i', 'eth0');
    t.equal(r.code, 6, `exit 6 (conflict): ${r.stderr}`);
    t.match(r.stderr, /'eth0' in guest .* is not pipewright's: its host end vforeign0 carries no pipewright mark/, 'names the link and why it is not ours');
    t.match(r.stderr, /--force/, 'and how to override');
    t.ok(await g.handle.link.find('eth0'), 'the guest end survives');
    t.ok(await s.host.link.find('vforeign0'), 'the host end survives');

    const lib = await detach({ host: s.host, guest: g.ns, guestIf: 'eth5' }).catch((e: unknown) => e);
    t.match(lib, { code: 'ERR_PW_CONFLICT', field: 'guestIf', value: 'eth5' }, 'the library says the same');
    t.match((lib as Error).message, /carries the alias 'owned by the ops team'/);
    t.ok(await s.host.link.find('vforeign1'), 'the look-alike in our group survives');

    const forced = await cli(s.hostNs, 'detach', name, '-i', 'eth0', '--force', '--json');
    t.equal(forced.code, 0, forced.stderr);
    t.match(JSON.parse(forced.stdout), { status: 'detached', guestIf: 'eth0', forced: /no pipewright mark/ });
    t.equal(await s.host.link.find('vforeign0'), null, '--force removed it');
    const forcedLib = await detach({ host: s.host, guest: g.ns, guestIf: 'eth5', force: true });
    t.equal(forcedLib.status, 'detached', 'force: true in the library');

    const again = await cli(s.hostNs, 'detach', name, '-i', 'eth0', '--json');
    t.equal(again.code, 0, `a second detach succeeds: ${again.stderr}`);
    t.match(JSON.parse(again.stdout), { status: 'nothing-attached', removed: [] });
    const text = await cli(s.hostNs, 'detach', name, '-i', 'eth0', '-v');
    t.match(text.stdout, /^nothing attached: guest .* has no interface 'eth0'/);

    const missing = await cli(s.hostNs, 'detach', 'netns:no-such-guest-ns', '-i', 'eth0');
    t.equal(missing.code, 3, 'a guest that does not exist is still exit 3');
  }),
);

t.test('an attached interface: detach removes it and its journal entry', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const r = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.7.0.2/24' });
    t.equal(r.status, 'attached');
    // (Of this guest: entries of an earlier namespace with its inode are not its own.)
    const cookie = await netnsCookie(g.handle);
    const mine = async () => (await readEntries(identityPrefix(g.ns.id, 'eth1'))).filter((e) => e.entry.guestCookie === cookie);
    const entries = await mine();
    t.equal(entries.length, 1, 'the attach left one journal entry');
    t.equal(entries[0]!.entry.state, 'complete');
    t.equal(entries[0]!.entry.hostEndIndex, r.hostEnd!.index, 'with the host end it created');
    const d = await cli(s.hostNs, 'detach', g.ns.name!, '--json');
    t.equal(d.code, 0, d.stderr);
    t.equal(JSON.parse(d.stdout).status, 'detached');
    t.same(await mine(), [], 'its journal entry is gone');
    t.equal(await s.host.link.find(r.hostEnd!.name), null);
  }),
);

t.test('20 detaches of the same interface at once: all exit 0, exactly one removes it, no raw ENODEV', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.7.1.2/24' });
    const runs = await Promise.all(Array.from({ length: 20 }, () => cli(s.hostNs, 'detach', g.ns.name!, '--json')));
    t.same(runs.map((r) => r.code), Array(20).fill(0), `every one exits 0 ${runs.filter((r) => r.code).map((r) => r.stderr).join(' | ')}`);
    const statuses = runs.map((r) => JSON.parse(r.stdout).status as string);
    t.equal(statuses.filter((x) => x === 'detached').length, 1, 'exactly one detached it');
    t.equal(statuses.filter((x) => x === 'nothing-attached').length, 19, 'the others found it already detached');
    t.notOk(runs.some((r) => /ENODEV/.test(r.stderr + r.stdout)), 'no raw ENODEV anywhere');
    t.equal(await g.handle.link.find('eth1'), null);

    // The same through the library, in one process.
    await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.7.1.2/24' });
    const lib = await Promise.allSettled(Array.from({ length: 20 }, () => detach({ host: s.host, guest: g.ns })));
    t.same(lib.filter((x) => x.status === 'rejected').map((x) => ((x as PromiseRejectedResult).reason as Error).message), [], 'no library detach fails');
    t.equal(lib.filter((x) => x.status === 'fulfilled' && x.value.status === 'detached').length, 1, 'exactly one detached it');
  }),
);

t.test('a host end of ours whose guest side was renamed away: detach removes it', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const r = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.7.2.2/24' });
    await g.handle.link.set('eth1', { name: 'renamed0' });
    const d = await detach({ host: s.host, guest: g.ns });
    t.equal(d.status, 'nothing-attached', 'the guest has no eth1');
    t.match(d.removed, [new RegExp(`deleted ${r.hostEnd!.name}, a host end of ours`)], 'but the host end marked for it went');
    t.equal(await s.host.link.find(r.hostEnd!.name), null);
  }),
);

t.test("a journal entry of an earlier namespace that had this guest's inode does not make its interface ours", (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    await g.handle.link.add({ kind: 'veth', name: 'pad0', peer: { name: 'pad1' } });
    await s.host.link.add({ kind: 'veth', name: 'vforeign2', peer: { name: 'eth1', netns: g.ns } });
    const eth1 = await g.handle.link.get('eth1');
    const hostEnd = await s.host.link.get('vforeign2');
    // What a guest that died without a detach leaves: a complete entry under
    // its dev:ino, which the kernel has since given to this guest.
    const rec = await AttachmentRecord.begin({
      owner: 'pipewright', hostNetns: s.hostNs.id, guestNetns: g.ns.id, guestCookie: '1', guestIf: 'eth1', mode: 'bridge', hostIf: 'br0', createsBridge: false,
      hostEnd: 'vforeign2', group: PIPEWRIGHT_GROUP, alias: 'x', guest: { kind: 'netns', label: 'gone' },
      spec: { hostIf: 'br0', guestIf: 'eth1', directPhys: false, arp: true, owner: 'pipewright', group: PIPEWRIGHT_GROUP },
    });
    await rec.settled({ guestIndex: eth1.index, hostEndIndex: hostEnd.index });
    const err = await detach({ host: s.host, guest: g.ns }).catch((e: unknown) => e);
    t.match(err, { code: 'ERR_PW_CONFLICT' }, "the old entry's indexes match, but it was written for another namespace");
    t.ok(await s.host.link.find('vforeign2'), 'the interface survives');
    await removeEntry(rec.file);
  }),
);
