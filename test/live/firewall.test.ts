// The silent drop, for real: a default-config dockerd (in its own sandbox
// namespace) sets iptables' FORWARD policy to DROP, and with br_netfilter
// built in, frames bridged between guests on a bridge Docker does not manage
// go through FORWARD and die there. attach() must warn with a fix that works,
// and stay quiet where nothing is dropped. Every claim is checked with pings.
import t, { type Test } from 'tap';
import { ChildProcess, execFile } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { attach, detach, Handle, Netns, NetlinkError } from '../../lib';
import { bridgeFirewallWarning } from '../../lib/ops/firewall';
import { addon } from '../../lib/core/native';
import { withScene, ping, inNetns, Scene } from '../helpers/scene';
import { Engine } from '../helpers/docker';

let engine: Engine | null = null;
let unavailable = '';

t.before(async () => {
  const e = await Engine.start('default');
  if (!(e instanceof Engine)) {
    unavailable = e.unavailable;
    return;
  }
  engine = e;
  t.comment(e.log);
  // dockerd sets its rules while it initialises; give it a moment if the
  // API answered first.
  for (let i = 0; i < 100 && !/^-P FORWARD DROP$/m.test(await e.inEngineNs('iptables', ['-S', 'FORWARD'])); i++) await sleep(50);
});

t.teardown(async () => {
  await engine?.stop();
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A test that needs the engine, or only the iptables its install brings:
 * skipped, with the reason, when there is none.
 */
function engineTest(name: string, fn: (t: Test, e: Engine) => Promise<void>): void {
  t.test(name, async (t) => {
    if (!engine) return t.plan(0, `no Docker engine here: ${unavailable}`);
    await fn(t, engine);
  });
}

/** The fix the warning recommends for a bridge, as arguments to iptables. */
const fixArgs = (chain: string, br: string): string[] => ['-I', chain, '-i', br, '-o', br, '-j', 'ACCEPT'];
const fixText = (chain: string, br: string): string => `iptables ${fixArgs(chain, br).join(' ')}`;
const names = async (h: Handle): Promise<string[]> => (await h.link.list()).map((l) => l.name).sort();

/** Two plain guests on `br` in `host`, addressed 10.0.9.2 and .3. */
async function twoGuests(s: Scene, host: Handle, br: string) {
  const g1 = await s.guest();
  const g2 = await s.guest();
  const r1 = await attach({ host, hostIf: br, guest: g1.ns, address: '10.0.9.2/24' });
  const r2 = await attach({ host, hostIf: br, guest: g2.ns, address: '10.0.9.3/24' });
  return { g1, g2, r1, r2 };
}

/** Runs `body` with a handle in dockerd's own network namespace, opened by its PID. */
async function inEngine(e: Engine, body: (host: Handle) => Promise<void>): Promise<void> {
  const ns = await Netns.open({ pid: e.pid });
  const host = await Handle.open(ns);
  try {
    await body(host);
  } finally {
    await host.close();
    await ns.close();
  }
}

engineTest("a custom bridge where dockerd set FORWARD DROP: warned, really dropped, fixed by the warning's command", (t, e) =>
  withScene(t, async (s) =>
    inEngine(e, async (host) => {
      const before = await names(host);
      t.match(await e.inEngineNs('iptables', ['-S']), /^-P FORWARD DROP$/m, "dockerd set FORWARD DROP in its own namespace");
      t.equal((await e.inEngineNs('cat', ['/proc/sys/net/bridge/bridge-nf-call-iptables'])).trim(), '1', 'and bridged frames go through iptables there');

      await host.link.add({ kind: 'bridge', name: 'rgbr1', up: true });
      const { g1, g2, r1, r2 } = await twoGuests(s, host, 'rgbr1');
      for (const r of [r1, r2]) {
        t.equal(r.warnings.length, 1, `${r.guest.addresses[0]}: one warning`);
        t.match(r.warnings[0], /traffic between guests on rgbr1 will be dropped/, 'naming the bridge');
        t.match(r.warnings[0], fixText('DOCKER-USER', 'rgbr1'), 'with the DOCKER-USER fix');
      }
      t.notOk(await ping(g1.ns, '10.0.9.3'), 'guest to guest is dropped: the warning is real');

      // Appended (-A) instead of inserted, the rule lands after Docker's
      // unconditional RETURN and is never reached: still dropped, still warned.
      const appended = ['DOCKER-USER', ...fixArgs('DOCKER-USER', 'rgbr1').slice(2)];
      await e.inEngineNs('iptables', ['-A', ...appended]);
      t.equal((await attach({ host, hostIf: 'rgbr1', guest: g1.ns, address: '10.0.9.2/24' })).warnings.length, 1, 'a rule after RETURN does not silence it');
      t.notOk(await ping(g1.ns, '10.0.9.3'), 'rightly: the traffic is still dropped');
      await e.inEngineNs('iptables', ['-D', ...appended]);

      await e.inEngineNs('iptables', fixArgs('DOCKER-USER', 'rgbr1'));
      t.ok(await ping(g1.ns, '10.0.9.3'), 'the suggested command restores guest-to-guest traffic');
      const again = await attach({ host, hostIf: 'rgbr1', guest: g1.ns, address: '10.0.9.2/24' });
      t.equal(again.status, 'already-attached');
      t.same(again.warnings, [], 'and a re-run no longer warns');

      await detach({ guest: g1.ns, host });
      await detach({ guest: g2.ns, host });
      await host.link.del('rgbr1');
      await e.inEngineNs('iptables', ['-D', ...fixArgs('DOCKER-USER', 'rgbr1').slice(1)]);
      t.same(await names(host), before, "no link left in dockerd's namespace");
      t.notMatch(await e.inEngineNs('iptables', ['-S']), /rgbr1/, 'no rule left either');
    }),
  ),
);

engineTest('a Docker-managed bridge (docker0) is not warned about: Docker accepts its own bridged traffic', (t, e) =>
  withScene(t, async (s) =>
    inEngine(e, async (host) => {
      const before = await names(host);
      const g1 = await s.guest();
      const g2 = await s.guest();
      const r1 = await attach({ host, hostIf: 'docker0', guest: g1.ns, address: '172.17.200.2/16' });
      const r2 = await attach({ host, hostIf: 'docker0', guest: g2.ns, address: '172.17.200.3/16' });
      t.same([...r1.warnings, ...r2.warnings], [], 'no warning');
      t.ok(await ping(g1.ns, '172.17.200.3'), 'and indeed guest to guest works');
      await detach({ guest: g1.ns, host });
      await detach({ guest: g2.ns, host });
      t.same(await names(host), before, "no link left in dockerd's namespace");
    }),
  ),
);

engineTest("FORWARD ACCEPT (the scene's own namespace): no warning, traffic flows", (t) =>
  withScene(t, async (s) => {
    t.match((await inNetns(s.hostNs, 'iptables', ['-S', 'FORWARD'])).stdout, /^-P FORWARD ACCEPT$/m);
    await s.host.link.add({ kind: 'bridge', name: 'rgbr1', up: true });
    const { g1, r1, r2 } = await twoGuests(s, s.host, 'rgbr1');
    t.same([...r1.warnings, ...r2.warnings], [], 'no warning');
    t.ok(await ping(g1.ns, '10.0.9.3'), 'guest to guest works');
  }),
);

engineTest('FORWARD DROP without Docker: the FORWARD fix, look-alike rules, physdev, and the sysctl way', (t) =>
  withScene(t, async (s) => {
    const ipt = (...args: string[]) => inNetns(s.hostNs, 'iptables', args);
    await ipt('-P', 'FORWARD', 'DROP');
    await s.host.link.add({ kind: 'bridge', name: 'rgbr1', up: true });
    const { g1, r1 } = await twoGuests(s, s.host, 'rgbr1');
    t.match(r1.warnings[0], fixText('FORWARD', 'rgbr1'), 'no DOCKER-USER chain: the fix goes in FORWARD');
    t.notOk(await ping(g1.ns, '10.0.9.3'), 'dropped');
    const rerun = () => attach({ host: s.host, hostIf: 'rgbr1', guest: g1.ns, address: '10.0.9.2/24' });

    // A rule for rgbr10 says nothing about rgbr1, though one name contains the other.
    await ipt(...fixArgs('FORWARD', 'rgbr10'));
    t.equal((await rerun()).warnings.length, 1, "rgbr10's rule does not silence rgbr1's warning");
    // Nor does a rule that accepts only part of the traffic.
    await ipt('-I', 'FORWARD', '-i', 'rgbr1', '-o', 'rgbr1', '-p', 'tcp', '-j', 'ACCEPT');
    t.equal((await rerun()).warnings.length, 1, 'a tcp-only rule does not silence it');

    // The physdev form of the fix (§2 "C").
    const physdev = ['FORWARD', '-m', 'physdev', '--physdev-is-bridged', '-i', 'rgbr1', '-j', 'ACCEPT'];
    await ipt('-I', ...physdev);
    t.same((await rerun()).warnings, [], 'the physdev rule is recognised');
    t.ok(await ping(g1.ns, '10.0.9.3'), 'and it does let the traffic through');
    await ipt('-D', ...physdev);
    t.equal((await rerun()).warnings.length, 1, 'removed: the warning is back');

    // Bridged frames kept out of iptables altogether (per namespace here).
    await inNetns(s.hostNs, 'sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=0']);
    t.same((await rerun()).warnings, [], 'bridge-nf-call-iptables=0: no warning');
    t.ok(await ping(g1.ns, '10.0.9.3'), 'and traffic flows despite FORWARD DROP');
  }),
);

// --- the check itself, without Docker: the native probe and when it forks ---

/**
 * The processes this process starts while `fn` runs, as "file args...".
 * Every asynchronous spawn (execFile, spawn, exec) goes through
 * ChildProcess#spawn, so wrapping it sees them all.
 */
async function spawnsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; spawned: string[] }> {
  type Spawn = (this: ChildProcess, opts: { file: string; args: string[] }) => unknown;
  const proto = ChildProcess.prototype as unknown as { spawn: Spawn };
  const original = proto.spawn;
  const spawned: string[] = [];
  proto.spawn = function (opts) {
    spawned.push(opts.args.join(' '));
    return original.call(this, opts);
  };
  try {
    return { result: await fn(), spawned };
  } finally {
    proto.spawn = original;
  }
}

/** Why a tool cannot be run here, or '' when it can. */
function missing(tool: string): Promise<string> {
  return new Promise((resolve) => execFile(tool, ['--version'], (e) => resolve(e ? `${tool} is not installed (${e.message})` : '')));
}

t.test('a fresh namespace: the probe sees no dropping forward chain, and neither the check nor an attach starts a process', (t) =>
  withScene(t, async (s) => {
    const state = await addon().firewallProbe(s.hostNs.fd);
    t.same(state.legacyTables, [], 'no iptables-legacy table');
    t.same(state.forwardChains, [], 'no forward chain at all (iptables-nft makes its chains on first use)');
    if (state.bridgeNfCallIptables === null) t.comment('br_netfilter is not loaded here: bridgeNfCallIptables is null');
    else t.equal(state.bridgeNfCallIptables, 1, "a new namespace starts with bridge-nf-call-iptables = 1 (br_netfilter's default)");

    await s.host.link.add({ kind: 'bridge', name: 'rgbr1', up: true });
    const check = await spawnsDuring(() => bridgeFirewallWarning(s.host, 'rgbr1'));
    t.equal(check.result, null, 'no warning');
    t.same(check.spawned, [], 'and no process started for it');

    const g = await s.guest();
    const a = await spawnsDuring(() => attach({ host: s.host, hostIf: 'rgbr1', guest: g.ns, address: '10.0.9.2/24' }));
    t.same(a.result.warnings, [], 'a bridge attach: no warning');
    t.same(a.spawned, [], 'a whole bridge attach starts no process');
  }),
);

t.test('iptables -P FORWARD DROP: reported natively as ip/filter/FORWARD drop; warned with bridge-nf-call-iptables = 1; silenced by the fix', async (t) => {
  const why = await missing('iptables');
  if (why) return t.plan(0, why);
  await withScene(t, async (s) => {
    const ipt = (...args: string[]) => inNetns(s.hostNs, 'iptables', args);
    await ipt('-P', 'FORWARD', 'DROP');
    const state = await addon().firewallProbe(s.hostNs.fd);
    t.match(
      state.forwardChains,
      [{ family: 2, familyName: 'ip', table: 'filter', name: 'FORWARD', type: 'filter', priority: 0, policy: 'drop' }],
      'the policy iptables set, as nf_tables holds it',
    );
    t.equal(state.nftables, true, 'nf_tables answered');
    await s.host.link.add({ kind: 'bridge', name: 'rgbr1', up: true });

    if (state.bridgeNfCallIptables === null) {
      const quiet = await spawnsDuring(() => bridgeFirewallWarning(s.host, 'rgbr1'));
      t.same([quiet.result, quiet.spawned], [null, []], 'without br_netfilter bridged frames never see FORWARD: no warning, no process');
      t.pass('the warning with bridge-nf-call-iptables = 1', { skip: 'br_netfilter is not loaded here (no /proc/sys/net/bridge)' });
      return;
    }
    // Per namespace since Linux 5.3: setting it here touches no other namespace.
    await inNetns(s.hostNs, 'sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=1']);
    const warned = await spawnsDuring(() => bridgeFirewallWarning(s.host, 'rgbr1'));
    t.match(warned.result, /traffic between guests on rgbr1 will be dropped/, 'warned');
    t.match(warned.result, fixText('FORWARD', 'rgbr1'), 'with the FORWARD fix');
    t.equal(warned.spawned.length, 1, 'one process: iptables -S, to read the rules');
    t.match(warned.spawned[0], /iptables -w 5 -S$/, 'and it is that one');

    await ipt(...fixArgs('FORWARD', 'rgbr1'));
    t.equal(await bridgeFirewallWarning(s.host, 'rgbr1'), null, 'the accept rule silences it');
    await ipt('-D', ...fixArgs('FORWARD', 'rgbr1').slice(1));
    t.type(await bridgeFirewallWarning(s.host, 'rgbr1'), 'string', 'removed: the warning is back');

    await inNetns(s.hostNs, 'sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=0']);
    t.equal((await addon().firewallProbe(s.hostNs.fd)).bridgeNfCallIptables, 0, 'the probe reads the sysctl in that namespace');
    const off = await spawnsDuring(() => bridgeFirewallWarning(s.host, 'rgbr1'));
    t.same([off.result, off.spawned], [null, []], 'bridge-nf-call-iptables = 0: no warning, no process, despite FORWARD DROP');
  });
});

t.test('iptables-legacy tables in the namespace: nf_tables cannot show their rules, so the check asks iptables', async (t) => {
  const why = await missing('iptables-legacy');
  if (why) return t.plan(0, why);
  await withScene(t, async (s) => {
    await inNetns(s.hostNs, 'iptables-legacy', ['-S']); // instantiates the legacy filter table in this namespace only
    const state = await addon().firewallProbe(s.hostNs.fd);
    t.match(state.legacyTables, ['filter'], 'read from /proc/thread-self/net: this namespace');
    const other = await s.guest();
    t.same((await addon().firewallProbe(other.ns.fd)).legacyTables, [], "and not another's: the list is per namespace");
    if (state.bridgeNfCallIptables !== 1) {
      t.pass('the fallback to iptables -S', { skip: 'bridge-nf-call-iptables is not 1 here: the check stops before the rules' });
      return;
    }
    const check = await spawnsDuring(() => bridgeFirewallWarning(s.host, 'rgbr1'));
    t.equal(check.spawned.length, 1, 'iptables -S runs');
    t.equal(check.result, null, 'and finds FORWARD accepting');
  });
});

t.test('a probe that cannot enter the namespace fails with a typed error, and leaves no thread elsewhere', (t) =>
  withScene(t, async () => {
    const fd = openSync('/dev/null', 'r');
    try {
      const err = await addon().firewallProbe(fd).then(
        () => null,
        (e: unknown) => e,
      );
      t.ok(err instanceof NetlinkError, 'a NetlinkError');
      t.match(err, { code: 'EINVAL', op: 'firewall.probe', syscall: 'setns' }, '/dev/null is not a namespace: setns refuses it');
    } finally {
      closeSync(fd);
    }
  }),
);
