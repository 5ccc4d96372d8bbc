// Fault injection: an attach that fails at any step leaves nothing behind —
// no link, address, route, mount or fd — and says which step failed. Real
// faults where the kernel can be made to produce them; a failpoint
// (a failpoint, lib/ops/transaction.ts) to fail after each step in turn.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attach, planAttach, AttachError } from '../../lib';
import { failAt, setFailpoint } from '../../lib/ops/transaction';
import { inNetns, withScene, Scene, Guest } from '../helpers/scene';
import { snapshot, mounts } from '../helpers/snapshot';

async function state(s: Scene, g: Guest) {
  return { host: await snapshot(s.host), guest: await snapshot(g.handle), mounts: mounts() };
}

for (const variant of [
  { name: 'bridge created by the attach', hostIf: 'br0', setup: async (_s: Scene) => {} },
  { name: 'existing bridge', hostIf: 'br1', setup: async (s: Scene) => void (await s.host.link.add({ kind: 'bridge', name: 'br1', up: true })) },
  { name: 'macvlan', hostIf: 'phys0', setup: async (s: Scene) => void (await s.host.link.add({ kind: 'veth', name: 'phys0', peer: { name: 'wire0' } })) },
]) {
  t.test(`failing after each step in turn (${variant.name}): nothing is left`, (t) =>
    withScene(t, async (s) => {
      await variant.setup(s);
      const g = await s.guest();
      // A default route the attach will replace: undo must put it back.
      await g.handle.link.add({ kind: 'veth', name: 'old0', up: true, peer: { name: 'old1', up: true } });
      await g.handle.addr.add('old0', '192.0.2.2/24');
      await g.handle.route.add({ dst: 'default', gateway: '192.0.2.1' });
      const spec = { host: s.host, hostIf: variant.hostIf, guest: g.ns, address: '10.0.0.3/24', gateway: '10.0.0.1', mac: '02:00:00:00:00:03' };
      const plan = await planAttach(spec);
      t.ok(plan.steps.length >= 5, `${plan.steps.length} steps planned`);
      const before = await state(s, g);
      for (const step of plan.steps) {
        setFailpoint(failAt(step));
        try {
          const err = await attach(spec).then(
            () => null,
            (e: unknown) => e,
          );
          t.ok(err instanceof AttachError, `fails after "${step}"`);
          const ae = err as AttachError;
          t.equal(ae.step, step, 'the error names the step');
          t.equal(ae.code, step.startsWith('verify') ? 'ERR_PW_VERIFY_FAILED' : 'ERR_PW_ATTACH_FAILED');
          t.same(ae.leftBehind, [], 'every undo succeeded');
          t.match(ae.message, /nothing was left behind/);
          t.same(await state(s, g), before, 'host, guest and mounts exactly as before');
        } finally {
          setFailpoint(undefined);
        }
      }
      const ok = await attach(spec);
      t.equal(ok.status, 'attached', 'and without the failpoint the same attach succeeds');
    }),
  );
}

t.test('guests that are not usable namespaces are refused before anything is created', (t) =>
  withScene(t, async (s) => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-'));
    s.defer(async () => rmSync(dir, { recursive: true, force: true }));
    const plain = join(dir, 'not-a-netns');
    writeFileSync(plain, '');
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    const before = await snapshot(s.host);
    const cases: Array<[string, string, string]> = [
      [plain, 'ERR_PW_NOT_A_NETNS', 'a plain file'],
      ['/proc/self/ns/mnt', 'ERR_PW_NOT_A_NETNS', 'a mount namespace'],
      [`pid:${dead.pid}`, 'ERR_PW_NETNS_NOT_FOUND', 'a process that exited'],
      ['netns:no-such-ns', 'ERR_PW_NETNS_NOT_FOUND', 'a missing name'],
      ['no-such-guest', 'ERR_PW_GUEST_NOT_FOUND', 'an unknown guest'],
    ];
    for (const [guest, code, what] of cases) {
      const err = await attach({ host: s.host, hostIf: 'br0', guest, address: '10.0.0.3/24' }).catch((e: unknown) => e);
      t.equal((err as { code: string }).code, code, what);
    }
    t.same(await snapshot(s.host), before, 'not even the bridge was created');
  }),
);

t.test('a bridge deleted under the attach: verification catches it, the rest is undone', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br2', up: true });
    const g = await s.guest();
    const before = await snapshot(s.host);
    // An agent that deletes the bridge once the port is on it, before the
    // attach goes on: run at that step's boundary (the failpoint hook, which
    // lets the step stand), by a process of its own, waited for. An agent
    // woken by the port's event instead raced the attach, which can finish
    // first on a quick machine.
    let deleted = false;
    setFailpoint((step) => {
      if (!deleted && step.startsWith('create veth')) {
        execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, 'ip', 'link', 'del', 'br2']);
        deleted = true;
      }
      return undefined;
    });
    s.defer(async () => setFailpoint(undefined));
    const err = await attach({ host: s.host, hostIf: 'br2', guest: g.ns, address: '10.0.0.3/24' }).catch((e: unknown) => e);
    setFailpoint(undefined);
    t.ok(deleted, 'the agent deleted the bridge once the port was on it');
    t.ok(err instanceof AttachError, 'the attach failed');
    t.match((err as AttachError).message, /verify/, `at the verification: ${(err as Error).message}`);
    t.same((err as AttachError).leftBehind, [], 'nothing left behind');
    t.same((await snapshot(s.host)).links, before.links.filter((l) => !l.startsWith('br2 ')), 'only the bridge the agent deleted is missing');
    t.equal(await g.handle.link.find('eth1'), null, 'no interface left in the guest');
  }),
);

t.test('a host end name that is already taken is a conflict, not a leak', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'taken0' });
    const g = await s.guest();
    const before = await snapshot(s.host);
    const err = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, hostEnd: 'taken0', address: '10.0.0.3/24' }).catch((e: unknown) => e);
    t.equal((err as { code: string }).code, 'ERR_PW_CONFLICT');
    t.match((err as Error).message, /taken0/);
    t.same(await snapshot(s.host), before);
  }),
);

t.test('a bridge with all the ports the kernel allows: the attach says so, names the field, and leaves nothing', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'brfull', up: true });
    // 1023 ports, the kernel's limit (port number 0 is reserved): both ends of 511 veth pairs, and one end of a 512th.
    for (let i = 0; i < 512; i += 64)
      await Promise.all(
        Array.from({ length: 64 }, async (_, j) => {
          await s.host.link.add({ kind: 'veth', name: `pf${i + j}a`, master: 'brfull', peer: { name: `pf${i + j}b` } });
          if (i + j < 511) await s.host.link.set(`pf${i + j}b`, { master: 'brfull' });
        }),
      );
    t.equal((await s.host.link.list({ master: 'brfull' })).length, 1023, 'the bridge is full');
    const direct = await s.host.link.add({ kind: 'veth', name: 'pfx', master: 'brfull', peer: { name: 'pfy' } }).catch((e: unknown) => e);
    t.match(direct, { code: 'EXFULL', field: 'master', message: /a bridge takes at most 1023/ }, 'a port too many: what it means, and which field');
    t.equal(await s.host.link.find('pfx'), null, 'and nothing was created');
    const g = await s.guest();
    const before = await state(s, g);
    const err = await attach({ host: s.host, hostIf: 'brfull', guest: g.ns, address: '10.0.0.3/24' }).catch((e: unknown) => e);
    t.ok(err instanceof AttachError, 'an attach to it fails');
    t.match((err as Error).message, /a bridge takes at most 1023.*nothing was left behind|nothing was left behind.*a bridge takes at most 1023/s, 'saying why');
    t.same(await state(s, g), before, 'and leaves nothing');
  }),
);

t.test('a failed attach settles only after its firewall check: nothing it started runs on', (t) =>
  withScene(t, async (s) => {
    // FORWARD DROP (with bridge-nf-call-iptables = 1, a new namespace's
    // default) makes the check run `iptables -S`: a stand-in that is slow,
    // and marks when it has finished, takes its place on PATH.
    const drop = await inNetns(s.hostNs, 'iptables', ['-w', '5', '-P', 'FORWARD', 'DROP']).then(
      () => '',
      (e: Error) => `iptables could not set a FORWARD DROP policy here (${e.message.split('\n')[0]}): the check would start no process`,
    );
    if (drop) return void t.pass('the firewall check process', { skip: drop });
    const dir = mkdtempSync(join(tmpdir(), 'pw-fake-iptables-'));
    s.defer(async () => rmSync(dir, { recursive: true, force: true }));
    const mark = join(dir, 'finished');
    writeFileSync(join(dir, 'iptables'), `#!/bin/sh\nsleep 0.5\necho '-P FORWARD ACCEPT'\ntouch '${mark}'\n`, { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    try {
      await s.host.link.add({ kind: 'bridge', name: 'taken1' });
      const g = await s.guest();
      const err = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, hostEnd: 'taken1', address: '10.0.0.3/24' }).catch((e: unknown) => e);
      t.equal((err as { code?: string }).code, 'ERR_PW_CONFLICT', 'the attach failed (host end name taken)');
      t.ok(existsSync(mark), 'and had waited for the iptables its firewall check started');
    } finally {
      process.env.PATH = path;
    }
  }),
);

t.test('retrying a failing attach many times accumulates nothing (the neutron loop)', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const before = await state(s, g);
    setFailpoint(failAt('bring eth1 up'));
    try {
      for (let i = 0; i < 25; i++) await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.0.0.3/24' }).catch(() => undefined);
    } finally {
      setFailpoint(undefined);
    }
    t.same(await state(s, g), before, 'after 25 failed attempts: the same links, addresses, routes and mounts');
  }),
);
