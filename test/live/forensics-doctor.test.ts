// doctor() against planted defects, one per check, and against a clean
// scene where it must find nothing. Host-wide checks see every namespace of
// the machine (other tests' too), so the assertions look only at objects in
// the namespaces this file made.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Handle, Netns, PIPEWRIGHT_GROUP } from '../../lib';
import { doctor, runNetnsVerdict, globMatch, parseNetworkFile, networkdMatches } from '../../lib/ops/forensics';
import type { CheckResult, DoctorReport } from '../../lib/ops/forensics';
import { inNetns, uniqueName, withScene } from '../helpers/scene';
import { foreignMountOf, processInNewNetns } from '../helpers/forensics';
import { probeTap } from '../../lib/ops/repro/leak-device';

const octet = (process.pid % 200) + 20;
const hasIptables = ['/usr/sbin/iptables', '/sbin/iptables'].some((p) => existsSync(p));

function check(r: DoctorReport, id: string): CheckResult {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
}

/** Names of a check's objects that lie in the given namespaces. */
function flagged(r: DoctorReport, id: string, ns: string[]): string[] {
  return check(r, id).objects.filter((o) => o.netns !== undefined && ns.includes(o.netns)).map((o) => o.name ?? o.netns!);
}

function networkdDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-networkd-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}


t.test('every planted defect is flagged, with a verdict and a fix', (t) =>
  withScene(t, async (s) => {
    const host = s.host;
    const hostId = s.hostNs.id;
    const g1 = await s.guest();
    const g2 = await s.guest();
    const nsfsDev = s.hostNs.dev;

    // §1: a host end down while its peer is up; another up but attached to nothing.
    await host.link.add({ kind: 'veth', name: 'vdown0', peer: { name: 'eth0', netns: g1.ns, up: true } });
    await host.link.add({ kind: 'veth', name: 'vloose0', up: true, peer: { name: 'eth1', netns: g1.ns, up: true } });
    // A bridge port that is up but disabled (with STP off, the kernel lets
    // 'disabled' stick; any other state is recomputed to forwarding).
    await host.link.add({ kind: 'bridge', name: 'br0', up: true });
    await host.link.add({ kind: 'veth', name: 'vblk0', up: true, master: 'br0', peer: { name: 'eth2', netns: g1.ns, up: true } });
    await inNetns(s.hostNs, 'bridge', ['link', 'set', 'dev', 'vblk0', 'state', '0']);
    // A 1500-byte guest behind a 1450-byte VXLAN port on the same bridge.
    await host.link.add({ kind: 'bridge', name: 'brm', up: true });
    await host.link.add({ kind: 'vxlan', name: 'vx0', vni: 42, port: 4789, mtu: 1450, master: 'brm', up: true });
    await host.link.add({ kind: 'veth', name: 'vmtu0', up: true, master: 'brm', peer: { name: 'eth4', netns: g1.ns, up: true } });
    // The same address in two namespaces.
    const dup = `10.247.${octet}.5`;
    await g1.handle.addr.add('eth0', `${dup}/24`);
    await host.link.add({ kind: 'veth', name: 'vdup0', up: true, master: 'br0', peer: { name: 'eth0', netns: g2.ns, up: true } });
    await g2.handle.addr.add('eth0', `${dup}/24`);
    // §2: a pile of DOWN veth pairs (both ends here, neither up), and of
    // DOWN taps nobody has open where this process can make taps.
    for (let i = 0; i < 6; i++) await host.link.add({ kind: 'veth', name: `pwdead${i}`, peer: { name: `pwdeadp${i}` } });
    const noTap = await probeTap();
    if (!noTap) for (let i = 0; i < 12; i++) await inNetns(s.hostNs, 'ip', ['tuntap', 'add', 'mode', 'tap', 'name', `pwtap${i}`]);
    // A pipewright-owned host end whose guest namespace is gone (inode 12345 is never a namespace's).
    await host.link.add({ kind: 'veth', name: 'vleak0', up: true, master: 'br0', group: PIPEWRIGHT_GROUP, alias: `pipewright owner=doctor${process.pid} guest=${nsfsDev}:12345 if=eth1`, peer: { name: 'eth3', netns: g1.ns, up: true } });
    // §3: a namespace that only a mount in another mount namespace keeps.
    const doomed = await processInNewNetns();
    const mount = await foreignMountOf(doomed.pid);
    s.defer(() => mount.cleanup());
    await doomed.kill();
    // A stale name.
    const staleName = uniqueName('stale');
    await (await Netns.create({ name: staleName })).close();
    execFileSync('umount', [`/run/netns/${staleName}`]);
    s.defer(() => Netns.remove(staleName));
    // Docker's FORWARD DROP with bridge-nf-call-iptables on (its default in every namespace).
    if (hasIptables) await inNetns(s.hostNs, 'iptables', ['-w', '5', '-P', 'FORWARD', 'DROP']);
    // systemd-networkd would manage vmtu0 without KeepMaster (vblk0 has a file that keeps it).
    const nd = networkdDir({
      '10-keep.network': '[Match]\nName=vblk0\n\n[Network]\nKeepMaster=yes\n',
      '20-veths.network': '[Match]\nName=vmtu* vdup*\n\n[Network]\nDHCP=no\n',
    });
    s.defer(async () => rmSync(nd, { recursive: true, force: true }));

    const r = await doctor({ host, networkd: { dirs: [nd], running: true } });
    t.equal(r.target, hostId, 'the local checks looked at the scene host');
    t.equal(r.found, true, 'found: the CLI exits non-zero');
    for (const c of r.checks) t.comment(`${c.ok ? 'ok ' : 'BAD'} ${c.id}: ${c.verdict}`);
    for (const c of r.checks.filter((x) => !x.ok)) t.ok(c.fix && c.verdict.length > 0 && !c.verdict.includes('\n'), `${c.id}: one-line verdict and a fix`);

    t.same(flagged(r, 'veth-host-ends', [hostId]).sort(), ['vdown0', 'vloose0'], 'host end down / not enslaved while the peer is up');
    t.match(check(r, 'veth-host-ends').objects.find((o) => o.name === 'vdown0')!.detail, /down while its peer eth0/);
    t.same(flagged(r, 'bridge-port-state', [hostId]), ['vblk0'], 'the disabled port');
    t.match(check(r, 'bridge-port-state').objects[0]!.detail, /in state disabled/);
    t.same(flagged(r, 'mtu-mismatch', [hostId]), ['vmtu0'], 'the 1500-byte guest behind the 1450-byte vxlan');
    t.match(check(r, 'mtu-mismatch').objects.find((o) => o.name === 'vmtu0')!.detail, /1500 bytes; vx0 \(vxlan\) on brm carries 1450/);
    t.same(flagged(r, 'duplicate-addresses', [g1.ns.id, g2.ns.id]).sort(), ['eth0', 'eth0'], 'the address, in both namespaces');
    t.ok(check(r, 'duplicate-addresses').objects.every((o) => o.netns === g1.ns.id || o.netns === g2.ns.id || o.detail !== dup));
    const pile = flagged(r, 'down-device-pile', [hostId]);
    t.same(pile.filter((n) => n.startsWith('pwdead')).length, 12, 'the pile of veths: both ends of each dead pair');
    if (noTap) t.pass('the pile of taps', { skip: noTap });
    else t.same(pile.filter((n) => n.startsWith('pwtap')).length, 12, 'the pile of taps');
    t.notOk(pile.includes('vdown0'), 'a DOWN veth whose peer is up is not part of the pile');
    t.same(flagged(r, 'pipewright-leaked', [hostId]), ['vleak0'], 'the leaked pipewright link');
    t.match(check(r, 'pipewright-leaked').fix, `pipewright gc --owner doctor${process.pid}`);
    t.same(flagged(r, 'orphaned-namespaces', [doomed.id]), [doomed.id], 'the namespace kept only by a foreign mount');
    t.notOk(flagged(r, 'orphaned-namespaces', [g1.ns.id, g2.ns.id, hostId]).length, 'fd-held namespaces are not orphans to fix');
    t.ok(check(r, 'stale-names').objects.some((o) => o.path === `/run/netns/${staleName}`), 'the stale name');
    t.same(flagged(r, 'networkd-keepmaster', [hostId]).sort(), ['vdup0', 'vmtu0'], 'links networkd would release (not the one with KeepMaster)');
    if (hasIptables) {
      t.same(flagged(r, 'bridge-firewall', [hostId]).sort(), ['br0', 'brm'], 'bridges whose guests the firewall cuts off');
      t.match(check(r, 'bridge-firewall').fix, /iptables -I FORWARD -i br0 -o br0 -j ACCEPT/);
    } else t.comment('iptables is not installed: the bridge-firewall plant is skipped');

    const only = await doctor({ host, only: ['stale-names'] });
    t.same(only.checks.map((c) => c.id), ['stale-names'], 'only: runs the checks asked for');
    await t.rejects(doctor({ host, only: ['no-such-check'] }), { code: 'ERR_PW_INVALID_ARGUMENT' });
  }),
);

t.test('a clean scene: nothing found in it', async (t) => {
  // Everything held by processes and names, as a healthy host's guests are.
  const hostProc = await processInNewNetns();
  t.teardown(() => hostProc.kill());
  const guestProc = await processInNewNetns();
  t.teardown(() => guestProc.kill());
  const named = await Netns.create({ name: uniqueName('clean') });
  t.teardown(() => named.delete());
  const host = await Handle.open({ pid: hostProc.pid });
  t.teardown(() => host.close());
  await host.link.set('lo', { up: true });
  await host.link.add({ kind: 'bridge', name: 'br0', up: true });
  await host.addr.add('br0', `10.246.${octet}.1/24`);
  await host.link.add({ kind: 'veth', name: 'vc0', up: true, master: 'br0', peer: { name: 'eth0', netns: { pid: guestProc.pid }, up: true } });
  const guest = await Handle.open({ pid: guestProc.pid });
  t.teardown(() => guest.close());
  await guest.addr.add('eth0', `10.246.${octet}.2/24`);
  const nd = networkdDir({ '10-other.network': '[Match]\nName=en*\n' });
  t.teardown(() => rmSync(nd, { recursive: true, force: true }));

  const r = await doctor({ host, networkd: { dirs: [nd], running: true } });
  const ours = [hostProc.id, guestProc.id, named.id];
  t.equal(r.target, hostProc.id);
  for (const id of ['veth-host-ends', 'bridge-port-state', 'mtu-mismatch', 'bridge-firewall', 'networkd-keepmaster', 'pipewright-leaked', 'down-device-pile', 'run-netns-shared']) {
    const c = check(r, id);
    t.ok(c.ok && !c.skipped, `${id}: ${c.verdict}`);
  }
  for (const c of r.checks) t.same(c.objects.filter((o) => o.netns !== undefined && ours.includes(o.netns)), [], `${c.id}: nothing in the clean scene's namespaces`);
});

t.test('/run/netns that is private, or not a mount point, as another mount namespace sees it', async (t) => {
  for (const [setup, expect] of [
    ['mount --make-private /run/netns', /is a private mount, not shared/],
    // Names other test files made meanwhile are mounted below it (a plain umount: EBUSY). Private
    // first, so that unmounting them here does not propagate to the sandbox's shared /run/netns.
    ['mount --make-rprivate /run/netns && umount -l /run/netns', /is not a mount point/],
  ] as const) {
    const child = spawn('unshare', ['--mount', '--propagation', 'unchanged', 'sh', '-c', `${setup} && echo ready && exec sleep 30`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
    const v = runNetnsVerdict(readFileSync(`/proc/${child.pid}/mountinfo`, 'utf8'));
    child.kill('SIGKILL');
    t.equal(v.ok, false, setup);
    t.match(v.verdict, expect);
    t.match(v.fix, /mount --make-shared \/run\/netns/);
  }
  const ours = runNetnsVerdict(readFileSync('/proc/self/mountinfo', 'utf8'));
  await (await Netns.create({ name: uniqueName('shared') })).delete();
  t.ok(runNetnsVerdict(readFileSync('/proc/self/mountinfo', 'utf8')).ok, 'ours is shared once a name was made');
  t.ok(typeof ours.ok === 'boolean');
});

t.test('networkd .network matching follows systemd: globs, negation, first file wins', async (t) => {
  t.ok(globMatch('veth*', 'veth1pl42'));
  t.ok(globMatch('v?th[0-9]', 'veth7'));
  t.notOk(globMatch('v?th[!0-9]', 'veth7'));
  const link = { index: 3, name: 'veth1pl42', kind: 'veth', flags: 0, up: true, lowerUp: true, master: 2, address: '02:00:00:00:00:01' } as const;
  const f = (text: string) => parseNetworkFile('/x.network', [text]);
  t.equal(networkdMatches(f('[Match]\nName=veth* eth0\n'), link), true);
  t.equal(networkdMatches(f('[Match]\nName=!veth*\n'), link), false, 'a leading ! inverts the list');
  t.equal(networkdMatches(f('[Match]\nKind=veth\nName=v*\n'), link), true, 'every key must match');
  t.equal(networkdMatches(f('[Match]\nKind=bridge\n'), link), false);
  t.equal(networkdMatches(f('[Match]\nDriver=e1000\n'), link), null, 'keys we cannot evaluate: no guess');
  t.equal(networkdMatches(f('[Match]\nName=veth*\nName=\n'), link), true, 'an empty assignment resets the list');
  t.equal(f('[Network]\nKeepMaster=yes\n').keepMaster, true);
  t.equal(parseNetworkFile('/x.network', ['[Network]\nKeepMaster=yes\n', '[Network]\nKeepMaster=no\n']).keepMaster, false, 'drop-ins override');
  t.equal(f('[Link]\nUnmanaged=true\n').unmanaged, true);
});
