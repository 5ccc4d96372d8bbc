// The silent drop, for real: a default-config dockerd (in its own sandbox
// namespace) sets iptables' FORWARD policy to DROP, and with br_netfilter
// built in, frames bridged between guests on a bridge Docker does not manage
// go through FORWARD and die there. attach() must warn with a fix that works,
// and stay quiet where nothing is dropped. Every claim is checked with pings.
import t, { type Test } from 'tap';
import { attach, detach, Handle, Netns } from '../../lib';
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
