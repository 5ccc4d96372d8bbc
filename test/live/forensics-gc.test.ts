// gc() removes exactly the leaked pipewright objects of one owner, in one
// batched request, and deleteNamedNetns() never reports a namespace gone
// while something still holds it. Every gc here is scoped to this test's own
// scene namespace and an owner tag unique to this process.
import t from 'tap';
import { existsSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Handle, Netns, PIPEWRIGHT_GROUP } from '../../lib';
import { deleteNamedNetns, gc, holderLines, holders, NetnsBusyError, waitReleased } from '../../lib/ops/forensics';
import { uniqueName, withScene } from '../helpers/scene';
import { foreignNameOf, processInNewNetns } from '../helpers/forensics';

const alias = (owner: string, guest: string) => `pipewright owner=${owner} guest=${guest} if=eth1`;


t.test('gc removes exactly the leaked links and the orphaned guest namespace', (t) =>
  withScene(t, async (s) => {
    const owner = `gc${process.pid}`;
    const host = s.host;
    const live = await s.guest();
    const gone = `${s.hostNs.dev}:12345`; // no namespace ever has an inode this small

    // Leaked: the guest namespace recorded in the mark does not exist.
    await host.link.add({ kind: 'veth', name: 'vgc0', group: PIPEWRIGHT_GROUP, alias: alias(owner, gone), peer: { name: 'p0', netns: live.ns } });
    // Leaked, FIELD-NOTES §3: the guest's process is gone, its name in another mount namespace keeps it.
    const guest = await processInNewNetns();
    await host.link.add({ kind: 'veth', name: 'vgc1', group: PIPEWRIGHT_GROUP, alias: alias(owner, guest.id), peer: { name: 'eth1', netns: { pid: guest.pid } } });
    const mount = await foreignNameOf(guest.pid, uniqueName('gcname'));
    s.defer(() => mount.cleanup());
    await guest.kill();
    // Kept: a live guest; another owner; an owner that merely starts with ours; not in pipewright's group.
    await host.link.add({ kind: 'veth', name: 'vgc2', group: PIPEWRIGHT_GROUP, alias: alias(owner, live.ns.id), peer: { name: 'eth1', netns: live.ns } });
    await host.link.add({ kind: 'veth', name: 'vgc3', group: PIPEWRIGHT_GROUP, alias: alias(`other${process.pid}`, gone), peer: { name: 'p3', netns: live.ns } });
    await host.link.add({ kind: 'veth', name: 'vgc4', group: PIPEWRIGHT_GROUP, alias: alias(`${owner}x`, gone), peer: { name: 'p4', netns: live.ns } });
    await host.link.add({ kind: 'veth', name: 'vgc5', alias: alias(owner, gone), peer: { name: 'p5', netns: live.ns } });

    const dry = await gc({ host, owner, dryRun: true });
    t.same(dry.links.map((l) => [l.name, l.reason]).sort(), [['vgc0', 'guest-gone'], ['vgc1', 'guest-orphaned']], 'dry run lists exactly the leaked links');
    t.same(dry.namespaces.map((n) => n.id), [guest.id], 'and the orphaned guest namespace');
    t.match(dry.namespaces[0]?.mounts, [new RegExp(`^${mount.mountPoint} in mnt:\\[\\d+\\]$`)], 'with the mount that holds it');
    t.equal(dry.batch.kind, 'none');
    t.ok(await host.link.find('vgc0') && await host.link.find('vgc1'), 'a dry run removes nothing');

    const r = await gc({ host, owner });
    t.same(r.links.map((l) => l.name).sort(), ['vgc0', 'vgc1']);
    t.equal(r.batch.kind, 'temporary-group', 'other links share the group: the leaked ones were moved to a temporary group, deleted in one request');
    t.comment(`batched delete took ${r.batch.ms} ms`);
    t.equal(await host.link.find('vgc0'), null, 'vgc0 gone');
    t.equal(await host.link.find('vgc1'), null, 'vgc1 gone');
    for (const name of ['vgc2', 'vgc3', 'vgc4', 'vgc5']) t.ok(await host.link.find(name), `${name} kept`);
    // Another test's scan may have it open for a moment; no mount or process may be left.
    t.same(r.namespaces.map((n) => n.remaining.filter((x) => !x.startsWith('close fd '))), [[]], 'no mount or process holds the orphaned namespace any more');
    t.notOk(existsSync(mount.mountPoint), 'its name was unlinked, which detached the mount in the other mount namespace');
    // Another test's scan may have it open for a moment, and the kernel frees it when it gets to it: wait for that
    // state (a deadline for a loaded machine, not a measure of anything).
    const rel = await waitReleased({ ino: Number(guest.id.split(':')[1]) }, 60_000);
    t.equal(rel.alive, false, 'nothing holds it: it is gone');
    t.equal((await live.handle.link.find('p0')), null, "vgc0's peer went with it");

    const again = await gc({ host, owner });
    t.same([again.links, again.namespaces, again.batch.kind], [[], [], 'none'], 'a second run finds nothing');
  }),
);

t.test("gc deletes 20 leaked links in one request, through a temporary group, never pipewright's whole group", (t) =>
  withScene(t, async (s) => {
    const owner = `gcall${process.pid}`;
    const live = await s.guest();
    for (let i = 0; i < 20; i++) {
      await s.host.link.add({ kind: 'veth', name: `vall${i}`, group: PIPEWRIGHT_GROUP, alias: alias(owner, `${s.hostNs.dev}:12345`), peer: { name: `q${i}`, netns: live.ns } });
    }
    const r = await gc({ host: s.host, owner });
    t.equal(r.links.length, 20);
    t.equal(r.batch.kind, 'temporary-group', 'moved into a temporary group and deleted with it');
    t.not(r.batch.group, PIPEWRIGHT_GROUP, "not pipewright's own group: whatever gc did not prove leaked stays");
    t.comment(`20 veth pairs deleted in one request: ${r.batch.ms} ms`);
    t.same((await s.host.link.list()).filter((l) => l.kind === 'veth'), [], 'none left');
  }),
);

t.test('gc validates the owner', async (t) => {
  await t.rejects(gc({ owner: 'two words', dryRun: true }), { code: 'ERR_PW_INVALID_ARGUMENT' });
  await t.rejects(gc({ owner: '', dryRun: true }), { code: 'ERR_PW_INVALID_ARGUMENT' });
});

t.test('deleteNamedNetns: busy while an fd holds it, naming the holder; gone when nothing does', async (t) => {
  const name = uniqueName('del');
  const ns = await Netns.create({ name });
  const id = ns.id;
  const h = await Handle.open(ns);
  await h.link.add({ kind: 'veth', name: 'kept0', peer: { name: 'kept1' } });
  await h.close();

  // `ip netns del` would exit 0 here, and the namespace and its veth would live on.
  const err = (await deleteNamedNetns(name, { timeoutMs: 200 }).catch((e: unknown) => e)) as NetnsBusyError;
  t.equal(err.code, 'ERR_PW_NETNS_BUSY');
  t.ok(err instanceof NetnsBusyError);
  t.match(err.message, `fd ${ns.fd} of pid ${process.pid}`, 'the message names the fd holder');
  // (Another test's scan may hold it for a moment too: ours must be there.)
  t.ok(err.holders.fds.some((f) => f.pid === process.pid && f.fd === ns.fd), 'the holders list our fd');
  t.same([err.holders.processes, err.holders.mounts], [[], []], 'and no process or mount');
  t.equal(err.holders.id, id);
  t.notOk(existsSync(`/run/netns/${name}`), 'the name itself is gone');
  const still = await Handle.open(ns);
  t.ok(await still.link.find('kept0'), 'and the namespace really is still alive with its links');
  await still.close();
  await ns.close();
  const released = await waitReleased({ ino: Number(id.split(':')[1]) }, 60_000);
  t.same(holderLines(released), [], 'closing the fd releases it');

  // Held by nothing but the name.
  const free = uniqueName('del');
  const fns = await Netns.create({ name: free });
  const freeId = fns.id;
  await fns.close();
  // The deadline is generous: another test's scan (a CLI's netns ls, doctor
  // or gc) may hold the namespace for a moment, seconds on a loaded machine.
  const ok = await deleteNamedNetns(free, { timeoutMs: 60_000 });
  t.same([ok.id, ok.stale], [freeId, false], 'deleted, and known to be gone');

  // A copy of the mount in another mount namespace: unlinking detaches it too.
  const copied = uniqueName('del');
  await (await Netns.create({ name: copied })).close();
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'echo ready; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  await once(child.stdout!, 'data');
  const before = await holders(copied);
  t.ok(before.mounts.some((m) => !m.ours && m.pid === child.pid), 'the child mount namespace holds a copy');
  const r = await deleteNamedNetns(copied, { timeoutMs: 60_000 });
  t.equal(r.stale, false, 'the copy went with the unlink: deleted for real');

  // A stale name: only the file is removed.
  const stale = uniqueName('del');
  await (await Netns.create({ name: stale })).close();
  execFileSync('umount', [`/run/netns/${stale}`]);
  t.same((await deleteNamedNetns(stale)).stale, true, 'a stale name is removed as a file');
  t.notOk(existsSync(`/run/netns/${stale}`));
  await t.rejects(deleteNamedNetns(stale), { code: 'ERR_PW_NETNS_NOT_FOUND' });
});
