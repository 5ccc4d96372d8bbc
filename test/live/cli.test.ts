// The pipewright command against the real kernel. Each test runs the built
// CLI (the installed command, built by `npm run build:ts`) with nsenter inside its
// scene's private host namespace, so the CLI's "host" is that namespace and
// nothing it does is shared with another test. Guests are named namespaces
// and real processes (`unshare --net sleep`), referenced by name and by PID.
// Everything is read back with the library.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { withScene, inNetns, ping, Scene } from '../helpers/scene';
import { cli, start, finish } from '../helpers/cli';
import { Handle, Netns } from '../../lib';



/** A real process in a new network namespace: the guest pipework knew best. */
async function processGuest(s: Scene): Promise<{ pid: number; ns: Netns; handle: Handle }> {
  const child = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
  const pid = child.pid!;
  const ours = readlinkSync('/proc/self/ns/net');
  // unshare execs sleep once the namespace exists; until then the PID is still in ours.
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== ours) break;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const ns = await Netns.open({ pid });
  const handle = await Handle.open(ns);
  s.defer(async () => {
    await handle.close();
    await ns.close();
    child.kill();
  });
  return { pid, ns, handle };
}

/** Links, addresses and IPv4 routes of a namespace, as comparable text. */
async function snapshot(h: Handle): Promise<string[]> {
  const links = (await h.link.list()).map((l) => `link ${l.index} ${l.name} ${l.kind} master=${l.master} up=${l.up}`);
  const addrs = (await h.addr.list()).map((a) => `addr ${a.index} ${a.address}/${a.prefixLen}`);
  const routes = (await h.route.list({ family: 4 })).map((r) => `route ${r.dst}/${r.dstLen} via ${r.gateway} dev ${r.dev}`);
  return [...links, ...addrs, ...routes].sort();
}

t.test('pipework form on a bridge: bridge, veth, address, route, ping', (t) =>
  withScene(t, async (s) => {
    const a = await processGuest(s);
    const b = await s.guest({ named: true });
    const r = await cli(s.hostNs, 'br0', String(a.pid), '10.0.0.3/24@10.0.0.1', '-v');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^done: create bridge br0/m, '-v: one line per step done');
    t.match(r.stdout, /^attached: guest \d+ eth1 .*10\.0\.0\.3\/24, default via 10\.0\.0\.1$/m, 'the summary');

    const br0 = await s.host.link.get('br0');
    t.equal(br0.kind, 'bridge');
    t.equal(br0.up, true, 'the bridge is up');
    const hostEnd = await s.host.link.get(`veth1pl${a.pid}`);
    t.equal(hostEnd.kind, 'veth', "pipework's host end name v<guestif>pl<pid>");
    t.equal(hostEnd.up, true, 'host end up');
    t.equal(hostEnd.master, br0.index, 'host end enslaved to br0');
    const eth1 = await a.handle.link.get('eth1');
    t.equal(eth1.up, true, 'guest eth1 up');
    t.equal(eth1.link, hostEnd.index, "eth1 is the host end's peer");
    t.ok((await a.handle.addr.list({ dev: 'eth1', family: 4 })).some((x) => x.address === '10.0.0.3' && x.prefixLen === 24), 'guest address');
    const def = (await a.handle.route.list({ family: 4 })).find((x) => x.dst === 'default');
    t.equal(def?.gateway, '10.0.0.1', 'default route via the gateway');
    t.equal(def?.dev, eth1.index, 'through eth1');

    const r2 = await cli(s.hostNs, 'br0', b.ns.name!, '10.0.0.4/24@10.0.0.1');
    t.equal(r2.code, 0, r2.stderr);
    t.equal(await ping(a.ns, '10.0.0.4'), true, 'the two guests reach each other across br0');
  }),
);

t.test('--json prints the result: names, indexes, MAC; attach --named-options agrees', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const r = await cli(s.hostNs, '--json', 'br0', g.ns.name!, '10.0.0.3/24', 'U:hello');
    t.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    t.equal(j.status, 'attached');
    t.equal(j.mode, 'bridge');
    t.equal(j.hostIf.name, 'br0');
    t.equal(j.hostIf.index, (await s.host.link.get('br0')).index);
    t.equal(j.hostIf.created, true);
    const hostEnd = await s.host.link.get(j.hostEnd.name);
    t.equal(j.hostEnd.index, hostEnd.index, 'host end index');
    const eth1 = await g.handle.link.get('eth1');
    t.equal(j.guest.ifname, 'eth1');
    t.equal(j.guest.index, eth1.index, 'guest index');
    t.equal(j.guest.mac, '02:b1:94:6a:c9:24', "U:hello gives pipework's MAC");
    t.equal(eth1.address, j.guest.mac, 'and the interface has it');
    t.ok(j.guest.addresses.includes('10.0.0.3/24'));
    t.equal(j.guest.netns, g.ns.id, 'the namespace id');

    const r2 = await cli(s.hostNs, 'attach', '--host-if', 'br0', '--guest', `netns:${g.ns.name}`, '-i', 'eth2', '--address', '10.0.1.3/24', '--mac', '02:00:00:00:00:42', '--json');
    t.equal(r2.code, 0, r2.stderr);
    const j2 = JSON.parse(r2.stdout);
    t.equal(j2.guest.ifname, 'eth2');
    t.equal((await g.handle.link.get('eth2')).address, '02:00:00:00:00:42');
    t.equal(j2.hostIf.created, false, 'the bridge was already there');
  }),
);

t.test('re-run: already in place (exit 0); a conflicting re-run: exit 6, nothing changed', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const args = ['br0', g.ns.name!, '10.0.0.3/24@10.0.0.1'];
    t.equal((await cli(s.hostNs, ...args)).code, 0);
    const host = await snapshot(s.host);
    const guest = await snapshot(g.handle);

    const again = await cli(s.hostNs, ...args, '--verbose');
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /^already attached \(nothing was changed\)/m);
    t.equal(JSON.parse((await cli(s.hostNs, ...args, '--json')).stdout).status, 'already-attached');

    const other = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.9/24');
    t.equal(other.code, 6, 'conflict');
    t.match(other.stderr, /^pipewright: 'eth1' already exists in the guest without the address 10\.0\.0\.9\/24.*\(nothing was changed\)$/m);
    t.strictSame(await snapshot(s.host), host, 'host unchanged');
    t.strictSame(await snapshot(g.handle), guest, 'guest unchanged');
  }),
);

t.test('--dry-run prints the steps and the undo plan and creates nothing', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const host = await snapshot(s.host);
    const guest = await snapshot(g.handle);
    const r = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.3/24@10.0.0.1', '--dry-run');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /nothing was changed\. These steps would run, in order:\n {2}1\. create bridge br0 \(up\)\n {2}2\. create veth /);
    t.match(r.stdout, /set the default route via 10\.0\.0\.1/);
    t.match(r.stdout, /If a step failed, this would be undone, in order:\n {2}1\. restore the previous default route\n {2}2\. delete veth1pn\w+ \(its peer eth1 goes with it\)\n {2}3\. delete bridge br0\n$/);
    const j = JSON.parse((await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.3/24', '--dry-run', '--json')).stdout);
    t.equal(j.dryRun, true);
    t.equal(j.steps[0], 'create bridge br0 (up)');
    t.equal(j.undo.at(-1), 'delete bridge br0');
    t.strictSame(await snapshot(s.host), host, 'no link, address or route appeared on the host');
    t.strictSame(await snapshot(g.handle), guest, 'nor in the guest');
  }),
);

t.test('refused before anything: missing prefix (2), unknown guest (3), missing host interface (2)', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const host = await snapshot(s.host);
    const noPrefix = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.3');
    t.equal(noPrefix.code, 2);
    t.match(noPrefix.stderr, /The IP address should include a netmask\. Maybe you meant 10\.0\.0\.3\/24 \?/);
    const unknown = await cli(s.hostNs, 'br0', 'no-such-guest', '10.0.0.3/24');
    t.equal(unknown.code, 3, unknown.stderr);
    t.match(unknown.stderr, /unknown guest 'no-such-guest'.*\(nothing was changed\)/);
    const deadPid = await cli(s.hostNs, 'br0', 'pid:999999999', '10.0.0.3/24', '--json');
    t.equal(deadPid.code, 3, deadPid.stderr);
    t.equal(JSON.parse(deadPid.stdout).error.code, 'ERR_PW_NETNS_NOT_FOUND');
    const noDev = await cli(s.hostNs, 'eth9', g.ns.name!, '10.0.0.3/24');
    t.equal(noDev.code, 2);
    t.match(noDev.stderr, /host interface 'eth9' does not exist/);
    t.strictSame(await snapshot(s.host), host, 'nothing was created');
  }),
);

t.test('a step fails mid-way: exit 4, the error names the step, nothing is left behind', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const host = await snapshot(s.host);
    const guest = await snapshot(g.handle);
    // IPv6 needs an MTU of at least 1280: the kernel refuses the address on
    // a 1000-byte link, after the bridge and the veth exist. (Inputs that
    // are wrong on their own, like a broadcast gateway, are refused before
    // anything is made: see test/unit/inputs-refused.test.ts.)
    const r = await cli(s.hostNs, 'br0', g.ns.name!, '2001:db8::3/64@2001:db8::1', '--mtu', '1000', '--json');
    t.equal(r.code, 4, r.stderr);
    t.match(r.stderr, /^pipewright: attach failed at step "add 2001:db8::3\/64 to eth1 in the guest": .*EINVAL.*; rolled back \(.*delete bridge br0\): nothing was left behind$/m);
    const e = JSON.parse(r.stdout).error;
    t.equal(e.code, 'ERR_PW_ATTACH_FAILED');
    t.match(e.step, /^add 2001:db8::3\/64/);
    t.ok(e.undone.includes('delete bridge br0'), 'the bridge it created was removed');
    t.strictSame(e.leftBehind, []);
    t.strictSame(await snapshot(s.host), host, 'host links identical to before');
    t.strictSame(await snapshot(g.handle), guest, 'guest identical to before');

    // -l naming an existing device that is not a veth: found while planning, a conflict, before anything is made.
    await s.host.link.add({ kind: 'bridge', name: 'notaveth' });
    const before = await snapshot(s.host);
    const taken = await cli(s.hostNs, 'br0', '-l', 'notaveth', g.ns.name!, '10.0.0.3/24');
    t.equal(taken.code, 6, taken.stderr);
    t.match(taken.stderr, /host end name 'notaveth' is taken by an existing bridge that pipewright did not create/);
    t.notMatch(taken.stderr, /ip link del/, 'and it is not offered for deletion: it is not ours');
    t.strictSame(await snapshot(s.host), before, 'nothing changed');
  }),
);

t.test('detach removes both ends of the veth', (t) =>
  withScene(t, async (s) => {
    const a = await processGuest(s);
    t.equal((await cli(s.hostNs, 'br0', String(a.pid), '0/0')).code, 0, '0/0: attached without an address');
    t.strictSame(await a.handle.addr.list({ dev: 'eth1', family: 4 }), [], 'no IPv4 address');
    t.equal((await cli(s.hostNs, 'br0', '-i', 'eth2', String(a.pid), '10.0.0.5/24')).code, 0);
    const r = await cli(s.hostNs, 'detach', String(a.pid), '-v');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`its host end veth1pl${a.pid} went with it`));
    t.equal(await a.handle.link.find('eth1'), null, 'guest end gone');
    t.equal(await s.host.link.find(`veth1pl${a.pid}`), null, 'host end gone');
    const r2 = await cli(s.hostNs, 'detach', '--guest', `pid:${a.pid}`, '--guest-if', 'eth2', '--json');
    t.equal(r2.code, 0, r2.stderr);
    t.equal(JSON.parse(r2.stdout).guestIf, 'eth2');
    t.strictSame((await s.host.link.list({ master: 'br0' })).map((l) => l.name), [], 'no port left on br0');
    const again = await cli(s.hostNs, 'detach', '-v', String(a.pid));
    t.equal(again.code, 0, 'detaching what is already gone succeeds, as CNI DEL');
    t.match(again.stdout, /^nothing attached: /, 'and says there was nothing attached');
  }),
);

/** What a command prints inside the guest, trailing spaces trimmed (ip leaves one per line). */
async function ipIn(ns: Netns, ...args: string[]): Promise<string> {
  return (await inNetns(ns, 'ip', args)).stdout.replace(/ +$/gm, '');
}

t.test('route and rule inside the guest, natively, with ip syntax and ip output', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const G = g.ns.name!;
    t.equal((await cli(s.hostNs, 'br0', G, '10.0.0.3/24@10.0.0.1')).code, 0);
    const add = await cli(s.hostNs, 'route', G, 'add', '10.9.0.0/16', 'via', '10.0.0.1');
    t.equal(add.code, 0, add.stderr);
    t.ok((await g.handle.route.list({ family: 4 })).some((r) => r.dst === '10.9.0.0' && r.dstLen === 16 && r.gateway === '10.0.0.1'), 'the route is in the guest');
    const show = await cli(s.hostNs, 'route', G, 'show');
    t.equal(show.stdout, await ipIn(g.ns, 'route', 'show'), 'route show prints what ip route show prints');
    t.match(show.stdout, /^10\.9\.0\.0\/16 via 10\.0\.0\.1 dev eth1$/m);
    const json = JSON.parse((await cli(s.hostNs, '--json', 'route', G, 'show', 'dev', 'eth1', '10.9.0.0/16')).stdout);
    t.match(json, [{ dst: '10.9.0.0', dstLen: 16, gateway: '10.0.0.1', devName: 'eth1' }]);

    const rule = await cli(s.hostNs, 'rule', G, 'add', 'from', '10.0.0.0/24', 'lookup', '100', 'priority', '1000');
    t.equal(rule.code, 0, rule.stderr);
    t.ok((await g.handle.rule.list({ family: 4 })).some((r) => r.priority === 1000 && r.from === '10.0.0.0' && r.fromLen === 24 && r.table === 100), 'the rule is in the guest');
    t.equal((await cli(s.hostNs, 'rule', G, 'show')).stdout, await ipIn(g.ns, 'rule', 'show'), 'rule show prints what ip rule show prints');
    t.equal((await cli(s.hostNs, 'rule', G, 'del', 'priority', '1000')).code, 0);
    t.notOk((await g.handle.rule.list({ family: 4 })).some((r) => r.priority === 1000), 'rule deleted by priority alone');

    t.equal((await cli(s.hostNs, 'route', G, 'del', '10.9.0.0/16')).code, 0);
    t.notOk((await g.handle.route.list({ family: 4 })).some((r) => r.dst === '10.9.0.0'), 'route deleted by prefix alone');
    const gone = await cli(s.hostNs, 'route', G, 'del', '10.9.0.0/16');
    t.equal(gone.code, 4, 'the kernel refuses to delete what is not there');
    t.match(gone.stderr, /ESRCH.*\(nothing was changed\)/);
    const bad = await cli(s.hostNs, 'route', G, 'add', '10.8.0.0/16', 'via', '10.0.0.1', 'dev', 'eth7');
    t.equal(bad.code, 2, 'a device the guest does not have is invalid input');
  }),
);

t.test('tc runs inside the guest and passes its exit code through', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    t.equal((await cli(s.hostNs, 'br0', g.ns.name!, '0/0')).code, 0);
    const show = await cli(s.hostNs, 'tc', g.ns.name!, 'qdisc', 'show', 'dev', 'eth1');
    t.equal(show.code, 0, show.stderr);
    t.match(show.stdout, /^qdisc \S+ 0: (root|dev eth1 root)/m, "the guest's eth1 seen from inside");
    const bad = await cli(s.hostNs, 'tc', g.ns.name!, 'qdisc', 'frobnicate');
    t.not(bad.code, 0, "tc's failure is ours");
    const own = Number((await inNetns(g.ns, 'sh', ['-c', 'tc qdisc frobnicate 2>/dev/null; echo $?'])).stdout.trim());
    t.equal(bad.code, own, 'the same exit code as tc itself');
  }),
);

t.test('--wait: returns once the interface is attached; exit 7 on timeout', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const waiter = start(g.ns, ['--wait', '-i', 'eth1', '--timeout', '20000']);
    const done = finish(waiter);
    // Attach only once the waiter is subscribed and waiting, so the event path is what returns.
    await new Promise<void>((resolve) => waiter.stderr!.on('data', (b: Buffer) => b.toString().includes('waiting up to') && resolve()));
    const started = Date.now();
    t.equal((await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.3/24')).code, 0);
    const w = await done;
    t.equal(w.code, 0, w.stderr);
    t.ok(Date.now() - started < 5000, 'returned promptly after the attach');
    const eth1 = await g.handle.link.get('eth1');
    t.equal(eth1.lowerUp, true, 'eth1 has carrier');

    const again = await cli(g.ns, '--wait', '-i', 'eth1', '--json');
    t.equal(again.code, 0, 'already there: returns at once');
    t.equal(JSON.parse(again.stdout).index, eth1.index);

    const empty = await s.guest();
    const timeout = await cli(empty.ns, '--wait', '-i', 'eth1', '--timeout', '300');
    t.equal(timeout.code, 7, `exit 7 (signal: ${timeout.signal ?? 'none'}, stderr: ${timeout.stderr})`);
    t.match(timeout.stderr, /timed out after 300 ms waiting for eth1 to exist and have carrier: it does not exist/);
  }),
);

t.test('batch: many guests in one invocation, lines validated before any attach', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'pw-batch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await withScene(t, async (s) => {
    const guests = [await s.guest({ named: true }), await s.guest({ named: true }), await s.guest({ named: true })];
    const file = join(dir, 'guests.txt');
    writeFileSync(file, ['# pipework lines, as a provisioning script has them', ...guests.map((g, i) => `pipework br0 -i eth0 ${g.ns.name} 10.0.9.${i + 2}/24@10.0.9.1`)].join('\n'));
    const r = await cli(s.hostNs, 'batch', file, '--json');
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.equal(out.attached, 3);
    const br = await s.host.link.get('br0');
    t.equal((await s.host.link.list({ master: br.index })).length, 3, 'three ports on the bridge the first attach created');
    for (const [i, g] of guests.entries()) {
      t.same((await g.handle.addr.list({ dev: 'eth0', family: 4 })).map((a) => a.address), [`10.0.9.${i + 2}`]);
    }
    const before = (await s.host.link.list()).length;
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, `br1 ${guests[0]!.ns.name} 10.0.8.2/24\nbr1 ${guests[1]!.ns.name} 10.0.8.3\n`);
    const refused = await cli(s.hostNs, 'batch', bad);
    t.equal(refused.code, 2, 'a bad line: usage error');
    t.match(refused.stderr, /line 2: .*netmask/);
    t.equal((await s.host.link.list()).length, before, 'nothing attached: every line is checked first');
  });
});

t.test('batch --create-netns: makes missing named guests; a failed line removes the one it made', async (t) => {
  const { existsSync, mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'pw-batch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = `pwbatch${process.pid}a`;
  const failed = `pwbatch${process.pid}b`;
  await withScene(t, async (s) => {
    const file = join(dir, 'new-guests.txt');
    // Line 2 names a host interface that does not exist and is not a bridge to create: its attach fails.
    writeFileSync(file, `br0 -i eth0 ${made} 10.0.7.2/24@10.0.7.1\nnosuchif0 -i eth0 netns:${failed} 10.0.7.3/24\n`);
    const before = (await s.host.link.list()).length;
    const r = await cli(s.hostNs, 'batch', file, '--create-netns', '--json');
    try {
      t.not(r.code, 0, 'one line failed');
      const out = JSON.parse(r.stdout);
      t.equal(out.attached, 1);
      t.equal(out.failed, 1);
      t.ok(existsSync(`/run/netns/${made}`), 'the attached guest was created as a named namespace');
      t.notOk(existsSync(`/run/netns/${failed}`), 'the namespace made for the failed line is gone');
      const g = await Netns.open({ name: made });
      const h = await Handle.open(g);
      t.same((await h.addr.list({ dev: 'eth0', family: 4 })).map((a) => `${a.address}/${a.prefixLen}`), ['10.0.7.2/24']);
      await h.close();
      await g.close();
      t.equal((await s.host.link.list()).length, before + 2, 'only the bridge and one host end were added');
    } finally {
      if (existsSync(`/run/netns/${made}`)) await Netns.remove(made);
    }
  });
});
