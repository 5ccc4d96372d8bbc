// scanNamespaces and holders against planted ground truth: a namespace held
// by a process, by one thread, by a bind mount in another mount namespace
// only, by an fd only, by a name; a stale name. The scan sees the whole host
// (the sandbox shares /proc with it), so every assertion is about the
// namespaces this test made, found by id.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { Handle, Netns } from '../../lib';
import { holders, scanNamespaces } from '../../lib/ops/forensics';
import type { NetnsScan, ScannedNetns } from '../../lib/ops/forensics';
import { heldFds, threadNamespaces, uniqueName } from '../helpers/scene';
import { foreignMountOf, nsId, processInNewNetns, threadInNewNetns } from '../helpers/forensics';

function only(scan: NetnsScan, id: string): ScannedNetns | undefined {
  const found = scan.namespaces.filter((n) => n.id === id);
  return found.length === 1 ? found[0] : undefined;
}

t.test('every kind of holder is found, each namespace exactly once, with the right flags', async (t) => {
  const proc = await processInNewNetns();
  t.teardown(() => proc.kill());
  const thread = await threadInNewNetns();
  t.teardown(() => thread.kill());

  // §3: a process's namespace bind-mounted in a private mount namespace, then the process killed.
  const doomed = await processInNewNetns();
  const mount = await foreignMountOf(doomed.pid);
  t.teardown(() => mount.cleanup());
  await doomed.kill();

  // Held by our fd only, with a veth pair and an address inside.
  const byFd = await Netns.create();
  t.teardown(() => byFd.close());
  const h = await Handle.open(byFd);
  await h.link.add({ kind: 'veth', name: 'fa0', peer: { name: 'fa1' } });
  await h.addr.add('fa0', '10.248.1.1/24');
  await h.close();

  const name = uniqueName('scan');
  const named = await Netns.create({ name });
  await named.close(); // the name alone keeps it

  const staleName = uniqueName('stale');
  await (await Netns.create({ name: staleName })).close();
  execFileSync('umount', [`/run/netns/${staleName}`]);
  t.teardown(() => Netns.remove(staleName).catch(() => undefined));

  const scan = await scanNamespaces({ all: true });
  t.comment(`full scan: ${scan.namespaces.length} namespaces on this host in ${scan.elapsedMs} ms (${scan.skipped} /proc entries skipped)`);

  const p = only(scan, proc.id);
  t.ok(p, 'process-held: found exactly once');
  t.same(p!.processes.map((x) => [x.pid, x.comm, x.allThreads]), [[proc.pid, 'sleep', true]], 'its holder is the sleep process');
  t.same(p!.flags, { orphan: false, unreachableFromHere: false, current: false });
  t.equal(p!.interfaces, 1, 'a fresh namespace: lo only');

  const th = only(scan, thread.id);
  t.ok(th, 'thread-held: found exactly once');
  t.same(th!.processes.map((x) => [x.pid, x.tids, x.allThreads]), [[thread.pid, [thread.tid], false]], 'held by one thread of the process, not by the process');
  t.equal(th!.flags.orphan, false);

  const m = only(scan, doomed.id);
  t.ok(m, 'mount-held in another mount namespace: found exactly once');
  t.same(m!.processes, [], 'no process in it');
  t.same(m!.fds, [], 'no fd');
  t.same(m!.names, [], 'no name');
  t.equal(m!.mounts.length, 1, 'one mount');
  t.match(m!.mounts[0], { pid: mount.pid, comm: 'sleep', mountPoint: mount.mountPoint, ours: false, path: `/proc/${mount.pid}/root${mount.mountPoint}` });
  t.equal(m!.mounts[0]!.mntns, Number(/\d+/.exec(execFileSync('readlink', [`/proc/${mount.pid}/ns/mnt`]).toString())![0]), 'with the mount namespace that holds it');
  t.same(m!.flags, { orphan: true, unreachableFromHere: true, current: false });
  t.equal(m!.openedVia, m!.mounts[0]!.path, 'opened through the holding process root, our mount namespace untouched');
  t.equal(m!.interfaces, 1);

  const f = only(scan, byFd.id);
  t.ok(f, 'fd-held: found exactly once');
  t.same(f!.fds.map((x) => [x.pid, x.fd]), [[process.pid, byFd.fd]], 'held by our fd');
  t.same(f!.processes, []);
  t.same(f!.flags, { orphan: true, unreachableFromHere: false, current: false });
  t.equal(f!.interfaces, 3, 'lo and the veth pair');
  t.same(f!.addresses!.map((a) => `${a.ifname} ${a.address}/${a.prefixLen}`), ['fa0 10.248.1.1/24']);

  const n = only(scan, named.id);
  t.ok(n, 'named: found exactly once');
  t.same(n!.names, [{ name, dir: '/run/netns', path: `/run/netns/${name}` }]);
  t.ok(n!.mounts.some((x) => x.ours && x.mountPoint === `/run/netns/${name}`), 'its bind mount, in our mount namespace');
  t.equal(n!.flags.unreachableFromHere, false);

  t.ok(scan.stale.some((s) => s.path === `/run/netns/${staleName}` && /not a namespace/.test(s.reason)), 'the stale name is listed as stale');
  t.ok(only(scan, scan.self.netns)?.flags.current, 'our own namespace is marked current');

  // Without `all`: the live ones only (a process inside, or a name).
  const live = await scanNamespaces();
  t.ok(only(live, proc.id) && only(live, named.id) && only(live, thread.id), 'default scan lists process-held and named');
  t.notOk(live.namespaces.some((x) => x.id === doomed.id || x.id === byFd.id), 'and leaves out those held only by mounts or fds');

  const hm = await holders(Number(doomed.id.split(':')[1]));
  t.equal(hm.id, doomed.id);
  t.equal(hm.alive, true);
  t.same(hm.releases.map((r) => r.command), [`nsenter -t ${mount.pid} -m umount -l ${mount.mountPoint}`], 'release: unmount it in that mount namespace');
  const hn = await holders(name);
  t.equal(hn.id, named.id, 'by name');
  t.same(hn.releases.map((r) => r.command), [`pipewright netns delete ${name}`]);
  const hp = await holders(`/proc/${proc.pid}/ns/net`);
  t.same(hp.releases.map((r) => [r.holder, r.command]), [['process', `kill ${proc.pid}`]], 'by path');
  const hf = await holders(byFd.id);
  t.same(hf.releases.map((r) => [r.holder, r.pid, r.fd]), [['fd', process.pid, byFd.fd]], 'by dev:ino');
  await t.rejects(holders(`/run/netns/${staleName}`), { code: 'ERR_PW_NOT_A_NETNS' }, 'a stale name is not a namespace');
  await t.rejects(holders(uniqueName('missing')), { code: 'ERR_PW_NETNS_NOT_FOUND' });

  await Netns.remove(name);
  t.equal(nsId(`/proc/${proc.pid}/ns/net`), proc.id);
});

t.test('a scan changes no namespace of ours and leaves no fd open', async (t) => {
  const fdsBefore = heldFds();
  const threadsBefore = threadNamespaces();
  const mntBefore = readlinkSync('/proc/self/ns/mnt');
  await scanNamespaces({ all: true, detail: true });
  t.same([...heldFds()].filter(([fd, target]) => fdsBefore.get(fd) !== target), [], 'no namespace or socket fd left open');
  t.same([...threadNamespaces()], [...threadsBefore], 'every thread is still in its network namespace');
  t.equal(readlinkSync('/proc/self/ns/mnt'), mntBefore, 'and in its mount namespace');
});
