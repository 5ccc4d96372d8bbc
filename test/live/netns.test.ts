// Namespaces: create (anonymous, named), open by name / path / PID with
// validation, identity, delete, list; threads never change namespace.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Handle, Netns, NetlinkError } from '../../lib';
import { heldFds, threadNamespaces, uniqueName, inNetns } from '../helpers/scene';

t.test('named namespaces are iproute2-compatible', async (t) => {
  const name = uniqueName('named');
  const ns = await Netns.create({ name });
  t.equal(ns.name, name);
  t.equal(ns.path, `/run/netns/${name}`);
  const { stdout } = await import('node:child_process').then(({ execFileSync }) => ({ stdout: execFileSync('ip', ['netns', 'list']).toString() }));
  t.match(stdout, name, 'ip netns list sees it');
  const again = await Netns.open(name);
  t.ok(again.equals(ns), 'opening by name finds the same namespace (dev, inode)');
  const byPath = await Netns.open({ path: `/run/netns/${name}` });
  t.equal(byPath.id, ns.id);
  const listed = await Netns.list();
  t.ok(listed.some((e) => e.name === name && e.valid && e.id === ns.id), 'listed with its identity');
  const dup = await Netns.create({ name }).catch((e: unknown) => e);
  t.equal((dup as NetlinkError).code, 'ERR_PW_NETNS_EXISTS');
  await again.close();
  await byPath.close();
  await ns.delete();
  t.notOk(existsSync(`/run/netns/${name}`), 'the name is gone');
  const gone = await Netns.open(name).catch((e: unknown) => e);
  t.equal((gone as NetlinkError).code, 'ERR_PW_NETNS_NOT_FOUND');
});

t.test('/run/netns is made a shared mount, as iproute2 does', async (t) => {
  const ns = await Netns.create({ name: uniqueName('shared') });
  const { readFileSync } = await import('node:fs');
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === '/run/netns').pop();
  t.match(line ?? '', /shared:\d+/, 'the mount point has shared propagation');
  await ns.delete();
});

t.test('the netns directory stays one shared mount across creates, and is prepared again once unmounted (the once-per-mount shortcut notices)', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const runDir = mkdtempSync(join(tmpdir(), 'pw-run-'));
  t.teardown(() => rmSync(runDir, { recursive: true, force: true }));
  /** mountinfo lines whose mount point is runDir itself. */
  const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === runDir);
  const a = await Netns.create({ name: 'a', runDir });
  const b = await Netns.create({ name: 'b', runDir });
  t.equal(mounts().length, 1, 'one bind mount of the directory onto itself, not one per create');
  t.match(mounts()[0], /shared:\d+/, 'shared');
  await a.delete();
  await b.delete();
  // Someone unmounts it: the next create sees a different mount and prepares it again.
  execFileSync('umount', [runDir]);
  t.equal(mounts().length, 0, 'unmounted');
  const c = await Netns.create({ name: 'c', runDir });
  t.equal(mounts().length, 1, 'mounted again');
  t.match(mounts()[0], /shared:\d+/, 'and shared again');
  await c.delete();
  execFileSync('umount', [runDir]);
});

t.test('handles that exist but are not network namespaces are refused with the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plain = join(dir, 'plain');
  writeFileSync(plain, '');
  const e1 = (await Netns.open({ path: plain }).catch((e: unknown) => e)) as NetlinkError;
  t.equal(e1.code, 'ERR_PW_NOT_A_NETNS', 'a plain file');
  t.match(e1.message, /not a namespace/);

  const e2 = (await Netns.open({ path: '/proc/self/ns/mnt' }).catch((e: unknown) => e)) as NetlinkError;
  t.equal(e2.code, 'ERR_PW_NOT_A_NETNS', 'a namespace of another type');
  t.match(e2.message, /mount namespace, not a network namespace/);

  // A name whose bind mount is gone: the file stays and looks like a namespace.
  const name = uniqueName('stale');
  const ns = await Netns.create({ name });
  await ns.close();
  const { execFileSync } = await import('node:child_process');
  execFileSync('umount', [`/run/netns/${name}`]);
  const e3 = (await Netns.open(name).catch((e: unknown) => e)) as NetlinkError;
  t.equal(e3.code, 'ERR_PW_NOT_A_NETNS', 'an unmounted name');
  const listed = await Netns.list();
  t.ok(listed.some((e) => e.name === name && !e.valid), 'listed as stale');
  await Netns.remove(name);

  const e4 = (await Netns.open({ pid: 0x3ffffff0 }).catch((e: unknown) => e)) as NetlinkError;
  t.equal(e4.code, 'ERR_PW_NETNS_NOT_FOUND', 'a pid that does not exist');
});

t.test('open by PID: a real process in its own namespace', async (t) => {
  const child = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  // unshare execs sleep once the namespace exists; wait until it differs from ours.
  const self = await Netns.current();
  let ns: Netns | undefined;
  for (let i = 0; i < 200; i++) {
    const candidate = await Netns.open({ pid: child.pid! });
    if (!candidate.equals(self)) { ns = candidate; break; }
    await candidate.close();
    await new Promise((r) => setTimeout(r, 10));
  }
  t.ok(ns, 'opened the process namespace');
  const h = await Handle.open(ns!);
  const links = await h.link.list();
  t.same(links.map((l) => l.name), ['lo'], 'a fresh namespace holds only lo');
  await h.close();
  await ns!.close();
  await self.close();
});

t.test('an anonymous namespace lives as long as its fd', async (t) => {
  const ns = await Netns.create();
  const h = await Handle.open(ns);
  await h.link.add({ kind: 'bridge', name: 'brx' });
  const out = await inNetns(ns, 'ip', ['-o', 'link', 'show', 'brx']);
  t.match(out.stdout, 'brx', 'visible from inside with ip');
  await h.close();
  await ns.close();
  t.equal(ns.closed, true);
  t.throws(() => ns.fd, { code: 'ERR_PW_CLOSED' });
});

t.test('1,000 namespace operations: no thread changes namespace, no fd leaks', async (t) => {
  const threadsBefore = threadNamespaces();
  const fdsBefore = heldFds();
  for (let i = 0; i < 250; i++) {
    const ns = await Netns.create();
    const h = await Handle.open(ns);
    await h.link.set('lo', { up: true });
    await h.close();
    await ns.close();
  }
  // The named path too: create, open, delete.
  const batch = await Promise.all(Array.from({ length: 50 }, () => Netns.create({ name: uniqueName('many') })));
  for (const ns of batch) await ns.delete();
  t.same([...threadNamespaces()], [...threadsBefore], 'every thread (JS, pool, others) is in its original namespace');
  t.same([...heldFds()].filter(([fd, target]) => fdsBefore.get(fd) !== target), [], 'no fd left open');
});

t.test('a named namespace opened for a Handle brings the socket along: one trip to the addon, nothing leaked', async (t) => {
  const { openNetnsForHandle } = await import('../../lib/core/netns');
  const { addon } = await import('../../lib/core/native');
  const name = uniqueName('forhandle');
  const made = await Netns.create({ name });
  const inside = await Handle.open(made);
  await inside.link.add({ kind: 'bridge', name: 'marker0' });
  await inside.close();
  const before = heldFds();
  const a = addon() as unknown as { openSocket: (fd: number) => Promise<unknown> };
  const openSocket = a.openSocket;
  let asked = 0;
  a.openSocket = (fd) => (asked++, openSocket.call(a, fd));
  t.teardown(() => void (a.openSocket = openSocket));
  const ns = await openNetnsForHandle(name);
  t.ok(ns.equals(made), 'the same namespace');
  const h = await Handle.open(ns);
  t.equal(asked, 0, 'the Handle took the socket that came with it');
  t.ok(await h.link.find('marker0'), 'and that socket is inside the namespace');
  await h.close();
  t.notOk(ns.closed, 'the Netns is the caller’s to close');
  await ns.close();
  t.same(heldFds(), before, 'its fd and socket are closed');
  const unused = await openNetnsForHandle({ name });
  await unused.close();
  t.same(heldFds(), before, 'opened for a Handle that never came: the socket goes with the Netns');
  const second = await openNetnsForHandle(name);
  const h1 = await Handle.open(second);
  const h2 = await Handle.open(second);
  t.equal(asked, 1, 'only the first Handle takes it; the next opens its own');
  await h1.close();
  await h2.close();
  await second.close();
  t.same(heldFds(), before);
  await made.delete();
});
