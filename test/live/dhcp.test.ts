// DHCP attach against a real server: dnsmasq runs in a server guest on a
// bridge in the scene's host namespace, and each client (udhcpc, dhclient,
// dhcpcd, and 'dhcp', which picks one) leases an address through attach().
// We check the kernel state of the guest, the server's lease file, traffic,
// and that the host's resolv.conf is byte for byte what it was. detach stops
// a kept client and removes the guest's DHCP state, and a guest whose
// namespace id an earlier one had starts without that one's files. Every process
// started here (dnsmasq, kept clients) is killed in teardown, also when an
// assertion fails.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withScene, ping } from '../helpers/scene';
import { attach, AttachError, detach, PipewrightError, type Netns } from '../../lib';
import { CLIENTS, notSandboxed, skipFor, optionsFor, md5, eventually, processesIn, killAllIn, startServer, checkGuest } from '../helpers/dhcp-world';

for (const client of ['udhcpc', 'dhclient', 'dhcpcd', 'dhcp'] as const) {
  t.test(`${client}: a lease from dnsmasq, applied in the guest; the host's resolv.conf untouched`, { skip: skipFor(client), timeout: 20_000 }, (t) =>
    withScene(t, async (s) => {
      await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
      const server = await startServer(s);
      const c = await s.guest();
      s.defer(() => killAllIn(c.ns));
      const hostResolv = md5('/etc/resolv.conf');

      const t0 = performance.now();
      const r = await attach({ host: s.host, hostIf: 'br0', guest: c.ns, dhcp: { client, options: optionsFor(client), timeoutMs: 10_000 } });
      t.comment(`${client}${client === 'dhcp' ? ` (picked ${r.dhcp?.client})` : ''}: attach with lease ${r.dhcp?.address} in ${Math.round(performance.now() - t0)} ms`);

      t.equal(r.status, 'attached');
      t.ok(r.dhcp, 'the result carries the lease');
      t.equal(r.dhcp!.client, client === 'dhcp' ? CLIENTS[0] : client, client === 'dhcp' ? 'dhcp picks the first installed client' : 'ran the asked client');
      t.equal(r.dhcp!.pid, undefined, 'one-shot: no client kept');
      // All three clients' scripts install the router option as the default route.
      await checkGuest(t, c, r, true);
      t.ok(await ping(c.ns, '10.0.5.1'), 'the guest pings the server over the lease');

      const line = await eventually(() => server.leases().find((l) => l[2] === r.dhcp!.address), 2000);
      t.ok(line, `dnsmasq's lease file lists ${r.dhcp!.address}`);
      t.equal(line?.[1], r.guest.mac, "leased to the guest interface's MAC");
      // The guest's label for an anonymous namespace, made a valid hostname.
      // For dhclient this comes through its private UTS namespace: it sends gethostname().
      t.equal(line?.[3], `net-${c.ns.ino}`, 'the client sent the guest-derived hostname');

      t.equal(md5('/etc/resolv.conf'), hostResolv, "the host's /etc/resolv.conf is byte-identical");
      if (process.env.PW_STATE_DIR) t.ok(r.dhcp!.resolvConf.startsWith(process.env.PW_STATE_DIR + '/'), 'the per-guest resolv.conf is under PW_STATE_DIR');
      t.match(readFileSync(r.dhcp!.resolvConf, 'utf8'), /^nameserver 10\.0\.5\.1$/m, "the per-guest resolv.conf has the lease's DNS server");

      await eventually(() => processesIn(c.ns).length === 0, 2000);
      t.same(processesIn(c.ns), [], 'no client process is left running in the guest');
    }),
  );
}

for (const client of ['udhcpc', 'dhcpcd'] as const) {
  t.test(`${client} kept running (foreground): its pid is reported, it lives in the guest, and killing it stops it`, { skip: skipFor(client), timeout: 20_000 }, (t) =>
    withScene(t, async (s) => {
      await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
      await startServer(s);
      const c = await s.guest();
      // Teardown kills whatever is left in the guest, even if an assertion below fails.
      s.defer(() => killAllIn(c.ns));
      const hostResolv = md5('/etc/resolv.conf');

      const t0 = performance.now();
      const r = await attach({ host: s.host, hostIf: 'br0', guest: c.ns, dhcp: { client, foreground: true, options: optionsFor(client), timeoutMs: 10_000 } });
      t.comment(`${client} foreground: lease ${r.dhcp?.address} in ${Math.round(performance.now() - t0)} ms`);

      const pid = r.dhcp?.pid;
      t.type(pid, 'number', 'the kept client has a pid');
      t.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), client, `pid ${pid} is ${client}`);
      t.equal(readlinkSync(`/proc/${pid}/ns/net`), `net:[${c.ns.ino}]`, "it runs in the guest's network namespace");
      t.not(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'in a private mount namespace');
      t.not(readlinkSync(`/proc/${pid}/ns/uts`), readlinkSync('/proc/self/ns/uts'), 'and a private UTS namespace');
      await checkGuest(t, c, r, true);
      t.ok(await ping(c.ns, '10.0.5.1'), 'the guest pings the server');
      t.equal(md5('/etc/resolv.conf'), hostResolv, "the host's /etc/resolv.conf is byte-identical");
      t.match(await eventually(() => readFileSync(r.dhcp!.resolvConf, 'utf8'), 1000), /^nameserver 10\.0\.5\.1$/m, 'the per-guest resolv.conf has the DNS server');

      process.kill(pid!, 'SIGTERM');
      t.equal(await eventually(() => processesIn(c.ns).length === 0, 3000), true, 'after SIGTERM, nothing runs in the guest any more');
    }),
  );
}

/** The per-guest state dir runDhcp uses: named after the namespace's id. */
const stateDirOf = (ns: Netns) => join(process.env.PW_STATE_DIR ?? '/run/pipewright', 'guests', ns.id.replace(':', '-'));

/** The lines of a resolv.conf that say something (no comments, no blanks). */
const resolvLines = (path: string) => readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

/** Is `pid` still a running process named `comm`? (A zombie, exited but not reaped yet, has no command line: not running.) */
function runs(pid: number, comm: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm && readFileSync(`/proc/${pid}/cmdline`).length > 0;
  } catch {
    return false;
  }
}

for (const client of ['udhcpc', 'dhclient', 'dhcpcd'] as const) {
  t.test(`${client} kept running: detach stops it and removes the guest's DHCP state; a later guest starts clean`, { skip: skipFor(client), timeout: 30_000 }, (t) =>
    withScene(t, async (s) => {
      await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
      await startServer(s);
      const spec = { host: s.host, hostIf: 'br0', dhcp: { client, foreground: true, options: optionsFor(client), timeoutMs: 10_000 } };

      const c = await s.guest();
      s.defer(() => killAllIn(c.ns));
      const r = await attach({ ...spec, guest: c.ns });
      const pid = r.dhcp!.pid!;
      const dir = stateDirOf(c.ns);
      t.equal(runs(pid, client), true, `${client} runs (pid ${pid})`);
      t.equal(readFileSync(join(dir, `${client}.eth1.pid`), 'utf8').trim(), String(pid), 'its pid file names it');

      const d = await detach({ host: s.host, guest: c.ns });
      t.comment(`detach: ${d.removed.join('; ')}`);
      t.ok(d.removed.includes(`stopped ${client} (pid ${pid}) for eth1`), 'detach says it stopped the client');
      t.ok(d.removed.some((l) => l.startsWith("removed the guest's DHCP state")), "and that it removed the guest's DHCP state");
      t.equal(runs(pid, client), false, 'the client is gone once detach returns');
      t.same(processesIn(c.ns), [], 'nothing runs in the guest any more');
      t.equal(await c.handle.link.find('eth1'), null, 'eth1 is gone from the guest');
      t.notOk(existsSync(dir), "the guest's state dir is gone");

      // Free the first guest's namespace, so the kernel may give its inode
      // to the next one, as it does after a container dies.
      s.guests.splice(s.guests.indexOf(c), 1);
      await c.handle.close();
      await c.ns.delete();
      const c2 = await s.guest();
      s.defer(() => killAllIn(c2.ns));
      t.comment(`second guest: ${c2.ns.ino === c.ns.ino ? 'reuses' : 'does not reuse'} the first guest's namespace inode`);
      // What an earlier namespace with this inode could have left, if it
      // died without a detach: DNS from another network, its log, and a pid
      // file whose pid now belongs to another process. That process is
      // named like the client but runs outside the guest: it must not be
      // signalled.
      const dir2 = stateDirOf(c2.ns);
      const bin = mkdtempSync(join(process.env.PW_STATE_DIR ?? tmpdir(), 'fake-'));
      symlinkSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim(), join(bin, client));
      const fake = spawn(join(bin, client), ['30'], { stdio: 'ignore' });
      s.defer(async () => {
        fake.kill('SIGKILL');
        rmSync(bin, { recursive: true, force: true });
      });
      await eventually(() => runs(fake.pid!, client), 2000);
      mkdirSync(dir2, { recursive: true });
      writeFileSync(join(dir2, 'resolv.conf'), 'nameserver 192.0.2.53\nsearch stale.example\n');
      writeFileSync(join(dir2, `${client}.eth1.pid`), `${fake.pid}\n`);
      writeFileSync(join(dir2, `${client}.eth1.log`), 'a line from the earlier namespace\n');

      const r2 = await attach({ ...spec, guest: c2.ns });
      t.equal(r2.dhcp!.resolvConf, join(dir2, 'resolv.conf'), 'the second guest uses the dir of its namespace id');
      t.same(resolvLines(r2.dhcp!.resolvConf), ['nameserver 10.0.5.1'], 'its resolv.conf holds only what this lease put there');
      t.notMatch(readFileSync(join(dir2, `${client}.eth1.log`), 'utf8'), /earlier namespace/, 'the log is the new client\'s');
      t.equal(runs(fake.pid!, client), true, 'the process the stale pid file named was not signalled');

      const d2 = await detach({ host: s.host, guest: c2.ns });
      t.ok(d2.removed.includes(`stopped ${client} (pid ${r2.dhcp!.pid}) for eth1`), 'detach stops the second client');
      t.equal(runs(r2.dhcp!.pid!, client), false, 'and it is gone');
      t.notOk(existsSync(dir2), "the second guest's state dir is gone");
      t.equal(runs(fake.pid!, client), true, 'the unrelated process still runs');
    }),
  );
}

/**
 * What `ip netns exec NAME cat /etc/resolv.conf` prints, run where /etc/netns
 * is the sandbox's stand-in (PW_NETNS_ETC_DIR): a private mount namespace
 * with a writable overlay on /etc (nothing reaches the host's /etc). Null
 * when overlayfs is not available here.
 */
function ipNetnsExecResolvConf(name: string): string | null {
  const scratch = mkdtempSync(join(process.env.PW_STATE_DIR ?? tmpdir(), 'etc-overlay-'));
  try {
    const script = 'mkdir "$1/up" "$1/work" && mount -t overlay pw-etc -o lowerdir=/etc,upperdir="$1/up",workdir="$1/work" /etc || exit 77\n' +
      'mkdir -p /etc/netns && mount --bind "$2" /etc/netns && exec ip netns exec "$3" cat /etc/resolv.conf';
    return execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', scratch, process.env.PW_NETNS_ETC_DIR!, name], { encoding: 'utf8' });
  } catch (e) {
    if ((e as { status?: number }).status === 77) return null;
    throw e;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

t.test("a named namespace: the lease's resolv.conf is where ip netns exec looks (/etc/netns/NAME), and goes with detach", { skip: skipFor('udhcpc') || (process.env.PW_NETNS_ETC_DIR ? false : 'needs the sandbox\'s PW_NETNS_ETC_DIR'), timeout: 20_000 }, (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    await startServer(s);
    const c = await s.guest({ named: true });
    s.defer(() => killAllIn(c.ns));
    const name = c.ns.name!;
    const link = join(process.env.PW_NETNS_ETC_DIR!, name, 'resolv.conf');

    const r = await attach({ host: s.host, hostIf: 'br0', guest: name, dhcp: { client: 'udhcpc', timeoutMs: 10_000 } });
    t.equal(r.dhcp!.netnsResolvConf, link, 'the result names /etc/netns/NAME/resolv.conf');
    t.equal(readlinkSync(link), r.dhcp!.resolvConf, "a link to the guest's own resolv.conf in the state dir");
    t.match(readFileSync(link, 'utf8'), /^nameserver 10\.0\.5\.1$/m, "read through it: the lease's DNS server");
    t.match(r.dhcp!.resolvConfUse, /ip netns exec/, 'and says who uses it');
    const seen = ipNetnsExecResolvConf(name);
    if (seen === null) t.comment('overlayfs is not available: ip netns exec not run');
    else t.match(seen, /^nameserver 10\.0\.5\.1$/m, 'ip netns exec NAME sees the lease in /etc/resolv.conf');

    const d = await detach({ host: s.host, guest: name });
    t.ok(d.removed.some((l) => l.startsWith(`removed ${link}`)), `detach says it removed the link: ${d.removed.join('; ')}`);
    t.notOk(existsSync(link), 'the link is gone');
    t.notOk(existsSync(join(process.env.PW_NETNS_ETC_DIR!, name)), 'and the directory pipewright made for it');
  }),
);

t.test("a file in /etc/netns/NAME that is not pipewright's is left alone", { skip: skipFor('udhcpc') || (process.env.PW_NETNS_ETC_DIR ? false : 'needs the sandbox\'s PW_NETNS_ETC_DIR'), timeout: 20_000 }, (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    await startServer(s);
    const c = await s.guest({ named: true });
    s.defer(() => killAllIn(c.ns));
    const dir = join(process.env.PW_NETNS_ETC_DIR!, c.ns.name!);
    mkdirSync(dir);
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 192.0.2.1\n');
    s.defer(async () => rmSync(dir, { recursive: true, force: true }));
    const r = await attach({ host: s.host, hostIf: 'br0', guest: c.ns.name!, dhcp: { client: 'udhcpc', timeoutMs: 10_000 } });
    t.equal(r.dhcp!.netnsResolvConf, undefined, 'not claimed');
    t.match(r.dhcp!.resolvConfUse, /exists and is not pipewright's: left alone/);
    await detach({ host: s.host, guest: c.ns.name! });
    t.equal(readFileSync(join(dir, 'resolv.conf'), 'utf8'), 'nameserver 192.0.2.1\n', 'the decoy is untouched after attach and detach');
  }),
);

t.test('no DHCP server: attach fails within timeoutMs, is rolled back, and leaves nothing behind', { skip: notSandboxed || (CLIENTS.length ? false : 'no DHCP client is installed'), timeout: 20_000 }, (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const hostLinks = async () => (await s.host.link.list()).map((l) => `${l.index}:${l.name}`).sort();
    const before = await hostLinks();
    const hostResolv = md5('/etc/resolv.conf');
    const timeoutMs = 3000;
    // One guest per client, all at once: the failures are bounded by the same timeout.
    const guests = await Promise.all(CLIENTS.map(() => s.guest()));
    for (const g of guests) s.defer(() => killAllIn(g.ns));
    // Per-guest dirs are named after the namespace's id, and the kernel
    // reuses namespace inodes: an earlier test's dir may already be there.
    const hadDir = guests.map((g) => existsSync(stateDirOf(g.ns)));

    const outcomes = await Promise.all(
      CLIENTS.map(async (client, i) => {
        const t0 = performance.now();
        const err = await attach({ host: s.host, hostIf: 'br0', guest: guests[i]!.ns, dhcp: { client, options: optionsFor(client), timeoutMs } }).then(
          () => null,
          (e: unknown) => e,
        );
        return { client, err, ms: performance.now() - t0 };
      }),
    );
    for (const [i, { client, err, ms }] of outcomes.entries()) {
      t.comment(`${client} with no server: failed after ${Math.round(ms)} ms`);
      t.ok(err instanceof AttachError, `${client}: attach rejects with an AttachError`);
      const e = err as AttachError;
      t.equal(e.code, 'ERR_PW_ATTACH_FAILED', `${client}: code`);
      t.match(e.step, new RegExp(`^run ${client} `), `${client}: it failed at the DHCP step`);
      t.ok(e.cause instanceof PipewrightError && e.cause.code === 'ERR_PW_TIMEOUT', `${client}: the cause is ERR_PW_TIMEOUT (${(e.cause as PipewrightError)?.code})`);
      t.match(e.message, /got no lease/, `${client}: the message says why`);
      t.same(e.leftBehind, [], `${client}: nothing left behind`);
      t.ok(e.undone.some((u) => /^delete /.test(u)), `${client}: the veth was deleted in the rollback`);
      t.ok(ms < timeoutMs + 2500, `${client}: gave up within the timeout (+ grace): ${Math.round(ms)} ms`);
      t.equal(await guests[i]!.handle.link.find('eth1'), null, `${client}: the guest has no eth1`);
      await eventually(() => processesIn(guests[i]!.ns).length === 0, 2000);
      t.same(processesIn(guests[i]!.ns), [], `${client}: no client process left in the guest`);
      const dir = stateDirOf(guests[i]!.ns);
      if (!hadDir[i]) t.notOk(existsSync(dir), `${client}: the per-guest state dir it created was removed`);
      else t.same(readdirSync(dir).filter((f) => f.includes(`${client}.eth1`) || f.startsWith('.mnt')), [], `${client}: its files were removed from the existing per-guest dir`);
    }
    t.same(await hostLinks(), before, 'the host link list is what it was');
    t.equal(md5('/etc/resolv.conf'), hostResolv, "the host's /etc/resolv.conf is byte-identical");
  }),
);
