// The CNI conformance table, through libcni (the library containerd, CRI-O
// and podman link; test/cni/driver): every verb, the spec's error paths,
// idempotent DEL, CHECK after someone else changed the attachment, ADD after
// a crash mid-ADD, chained conflists. Each case runs for pipewright and for
// the reference `bridge` plugin where the behaviour is the spec's, in a world
// of its own (test/helpers/cni-world.ts), and ends by asserting that nothing is
// left — no veth, no lease, no cached result — and that the decoys survive.
// GC and STATUS (spec 1.1, newer than this libcni) are in cni-direct.test.ts.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { Handle, Netns } from '../../lib';
import { assertClean, CniWorld, PLUGIN_ENTRY, pluginTypes, sh, type DriverOut, type PluginType } from '../helpers/cni-world';
import { driverUnavailable } from '../helpers/cni-driver';

const NET = 'pwnet';
const why = driverUnavailable();

/** Fails the test with the driver's output when a call did not succeed. */
function ok(t: Test, out: DriverOut, what: string): DriverOut {
  t.ok(out.ok, `${what} succeeds`, out.ok ? {} : { error: out.error, stderr: out.stderr });
  return out;
}
function fails(t: Test, out: DriverOut, what: string, code?: number, msg?: RegExp): void {
  t.notOk(out.ok, `${what} fails`, out.ok ? { result: out.result } : {});
  if (code !== undefined) t.equal(out.error?.code, code, `${what}: error code ${code}`, { error: out.error });
  if (msg) t.match(out.error?.msg ?? '', msg, `${what}: the message says why`);
}

interface Ctx {
  w: CniWorld;
  type: PluginType;
  conflist: string;
}

/**
 * One case in a fresh world with decoys; afterwards: only lo, the bridge and
 * the decoys in the host namespace, every container namespace of the case
 * back to lo alone, no lease but the decoy's, libcni's cache empty.
 */
function cniCase(t: Test, type: PluginType, name: string, body: (t: Test, c: Ctx) => Promise<void>, opts: { only?: PluginType; why?: string } = {}): void {
  t.test(name, async (t) => {
    if (opts.only && opts.only !== type) return t.plan(0, `${type}: ${opts.why}`);
    const w = await CniWorld.create();
    try {
      const decoys = await w.decoys(NET);
      const conflist = w.conflist(NET, [w.mainPlugin(type)]);
      await body(t, { w, type, conflist });
      await assertClean(t, w, NET, decoys);
    } finally {
      await w.close();
    }
  });
}

if (why) t.plan(0, `no libcni driver here: ${why}`);
else
  for (const type of pluginTypes())
    t.test(type, async (t) => {
      if (type === 'pipewright' && !existsSync(PLUGIN_ENTRY)) t.fail(`${PLUGIN_ENTRY} is missing: the plugin is not built (npm run build:ts) or not there yet`);
      else table(t, type);
    });

function table(t: Test, type: PluginType): void {
  cniCase(t, type, 'ADD, CHECK, the cached result, DEL, DEL again', async (t, { w, conflist }) => {
    const ns = await w.container();
    const add = ok(t, await w.libcni('add', conflist, 'c1', ns), 'ADD');
    const r = add.result;
    t.equal(r.cniVersion, '1.0.0', 'the result in the config version');
    const cont = r.interfaces.findIndex((i: any) => i.name === 'eth0' && i.sandbox === ns);
    t.ok(cont >= 0, 'the container interface, with its sandbox', { interfaces: r.interfaces });
    const hostEnd = r.interfaces.find((i: any) => i.sandbox === undefined && i.name !== 'cni0');
    t.ok(hostEnd, 'the host end is in the result');
    t.match(hostEnd?.mac ?? '', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'with its MAC');
    t.equal((await w.link(hostEnd?.name))?.address, hostEnd?.mac, 'the host end as the kernel has it');
    t.equal((await w.link(hostEnd?.name))?.master, 'cni0', 'enslaved to the bridge');
    t.same(r.ips, [{ interface: cont, address: '10.22.0.2/24', gateway: '10.22.0.1' }], 'ips: the container interface by index, host-local address and gateway');
    t.match(await w.ip(['-4', 'addr', 'show', 'eth0'], ns), /inet 10\.22\.0\.2\/24/, 'the address inside the container');
    t.match(await w.ip(['route', 'show', 'default'], ns), /default via 10\.22\.0\.1 dev eth0/, 'the default route from IPAM');
    await sh('nsenter', [`--net=${ns}`, 'ping', '-c1', '-W5', '10.22.0.1']);
    t.pass('the container pings the gateway');
    t.same(w.leases(NET), ['10.22.0.2', '10.22.0.250'], 'one lease taken');
    t.equal(w.leaseHolder(NET, '10.22.0.2'), 'c1', "held by the container's ID");
    ok(t, await w.libcni('check', conflist, 'c1', ns), 'CHECK');
    const cached = ok(t, await w.libcni('cached', conflist, 'c1', ns), 'the cached result');
    t.same(cached.result, r, "libcni's cached result is ADD's");
    ok(t, await w.libcni('del', conflist, 'c1', ns), 'DEL');
    ok(t, await w.libcni('del', conflist, 'c1', ns), 'DEL again (idempotent)');
    fails(t, await w.libcni('check', conflist, 'c1', ns), 'CHECK after DEL');
  });

  cniCase(t, type, 'two containers on one bridge ping each other', async (t, { w, conflist }) => {
    const a = await w.container('a');
    const b = await w.container('b');
    ok(t, await w.libcni('add', conflist, 'ca', a), 'ADD a');
    ok(t, await w.libcni('add', conflist, 'cb', b), 'ADD b');
    await sh('nsenter', [`--net=${a}`, 'ping', '-c1', '-W5', '10.22.0.3']);
    t.pass('a pings b');
    ok(t, await w.libcni('del', conflist, 'ca', a), 'DEL a');
    ok(t, await w.libcni('del', conflist, 'cb', b), 'DEL b');
  });

  cniCase(
    t,
    type,
    'ADD twice for the same container and ifname is idempotent',
    async (t, { w, conflist }) => {
      const ns = await w.container();
      const first = ok(t, await w.libcni('add', conflist, 'c1', ns), 'ADD');
      const second = ok(t, await w.libcni('add', conflist, 'c1', ns), 'ADD again');
      t.same(second.result?.ips, first.result?.ips, 'the same address');
      t.same(w.leases(NET), ['10.22.0.2', '10.22.0.250'], 'still one lease');
      ok(t, await w.libcni('del', conflist, 'c1', ns), 'DEL');
    },
    { only: 'pipewright', why: 'the reference bridge fails a second ADD (eth0 exists); the spec leaves it to the plugin' },
  );

  cniCase(t, type, 'DEL when the netns is already gone, and DEL of a container never added', async (t, { w, conflist }) => {
    const ns = await w.container();
    ok(t, await w.libcni('add', conflist, 'c1', ns), 'ADD');
    await w.removeContainer(ns);
    ok(t, await w.libcni('del', conflist, 'c1', ns), 'DEL with the netns gone');
    ok(t, await w.libcni('del', conflist, 'never', '/run/netns/never-was'), 'DEL of an unknown container');
    // The reference bridge leaves the host end to the kernel, which deletes
    // it with the namespace, later, from a work queue: waited for (a state,
    // bounded). pipewright's DEL removes it itself, so it is judged at once.
    if (type === 'bridge') {
      const deadline = Date.now() + 30_000;
      const strays = async () => (await w.links()).filter((l) => !['lo', 'decoy0', 'decoyh', 'cni0'].includes(l));
      while ((await strays()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    }
  });

  cniCase(
    t,
    type,
    "DEL when the netns's name is gone but the namespace lives on: the host end, the journal entry and the record go; DEL again is a no-op",
    async (t, { w, conflist }) => {
      const path = await w.container();
      const add = ok(t, await w.libcni('add', conflist, 'c1', path), 'ADD');
      const hostEnd = add.result.interfaces.find((i: any) => i.sandbox === undefined && i.name !== 'cni0')?.name as string;
      t.ok(w.stateFiles().some((f) => f.startsWith('attachments/')), 'the attach is in the journal');
      // A runtime that unmounted the name while a process still holds the namespace.
      const held = await Netns.open({ path });
      try {
        await w.removeContainer(path);
        t.ok(await w.link(hostEnd), 'the host end is still there');
        ok(t, await w.libcni('del', conflist, 'c1', path), 'DEL with the name gone');
        t.equal(await w.link(hostEnd), null, 'the host end is gone');
        const h = await Handle.open(held);
        try {
          t.equal(await h.link.find('eth0'), null, 'and the container end with it');
        } finally {
          await h.close();
        }
        t.same(w.stateFiles(), [], 'no record, journal entry or lock file left');
        ok(t, await w.libcni('del', conflist, 'c1', path), 'DEL again');
      } finally {
        await held.close();
      }
    },
    { only: 'pipewright', why: 'the reference bridge leaves the host end when it cannot enter the namespace' },
  );

  // --- error paths, each leaving nothing behind ---------------------------

  cniCase(t, type, 'unknown cniVersion: code 1, through libcni', async (t, { w }) => {
    const ns = await w.container();
    const bad = w.conflist(NET, [w.mainPlugin(type)], '9.9.9');
    fails(t, await w.libcni('add', bad, 'c1', ns), 'ADD with cniVersion 9.9.9', 1);
  });

  cniCase(t, type, 'the container netns does not exist', async (t, { w, conflist }) => {
    fails(t, await w.libcni('add', conflist, 'c1', '/run/netns/no-such-ns'), 'ADD into a missing netns', undefined, /no-such-ns/);
  });

  cniCase(t, type, 'ifname taken in the container: that interface survives', async (t, { w, conflist }) => {
    const ns = await w.container();
    await w.ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0'], ns);
    fails(t, await w.libcni('add', conflist, 'c1', ns), 'ADD with eth0 taken', undefined, /eth0/);
    t.same(await w.links(ns), ['eth0', 'lo', 'other0'], "the container's own eth0 is untouched");
    await w.ip(['link', 'del', 'eth0'], ns);
  });

  cniCase(t, type, 'IPAM exhausted: the second container fails, nothing of it stays', async (t, { w }) => {
    const one = w.conflist(NET, [w.mainPlugin(type, { rangeStart: '10.22.0.10', rangeEnd: '10.22.0.10' })]);
    const a = await w.container('a');
    const b = await w.container('b');
    ok(t, await w.libcni('add', one, 'ca', a), 'ADD takes the only address');
    fails(t, await w.libcni('add', one, 'cb', b), 'ADD with no address left', undefined, /no IP addresses available|exhausted|range/i);
    t.same(await w.links(b), ['lo'], 'the failed container has no interface');
    t.same(w.leases(NET), ['10.22.0.10', '10.22.0.250'], "only a's lease");
    // The bridge existed, so b's attachment ran beside its IPAM (add.ts) and was rolled back.
    const ports = (await w.links()).filter((l) => !['lo', 'decoy0', 'decoyh', 'cni0'].includes(l));
    t.equal(ports.length, 1, `the host namespace has a's host end alone, none of b's: ${ports.join(' ')}`);
    ok(t, await w.libcni('del', one, 'ca', a), 'DEL a');
  }, { only: 'pipewright', why: 'the reference bridge 1.1.1 creates the veth pair before asking IPAM and leaves it behind when IPAM fails (seen here: eth0 in the container, its peer on cni0)' });

  for (const [label, mutate, only] of [
    ['the container interface downed (ip)', (w: CniWorld, ns: string) => w.ip(['link', 'set', 'eth0', 'down'], ns), undefined],
    ["the container's address removed (ip)", (w: CniWorld, ns: string) => w.ip(['addr', 'flush', 'dev', 'eth0'], ns), undefined],
    ['the host end released from the bridge (ip)', (w: CniWorld, _ns: string, host: string) => w.ip(['link', 'set', host, 'nomaster']), undefined],
    ['the host end downed (the library)', (w: CniWorld, _ns: string, host: string) => downThroughLibrary(w, host), 'pipewright'],
    ['the container interface deleted (ip)', (w: CniWorld, ns: string) => w.ip(['link', 'del', 'eth0'], ns), undefined],
  ] as const) {
    cniCase(
      t,
      type,
      `CHECK after ${label} fails; DEL still cleans up`,
      async (t, { w, conflist }) => {
        const ns = await w.container();
        const add = ok(t, await w.libcni('add', conflist, 'c1', ns), 'ADD');
        const hostEnd = add.result.interfaces.find((i: any) => i.sandbox === undefined && i.name !== 'cni0').name as string;
        ok(t, await w.libcni('check', conflist, 'c1', ns), 'CHECK before');
        await mutate(w, ns, hostEnd);
        fails(t, await w.libcni('check', conflist, 'c1', ns), 'CHECK after');
        ok(t, await w.libcni('del', conflist, 'c1', ns), 'DEL');
      },
      only ? { only, why: 'the reference bridge does not look at the host end state in CHECK' } : {},
    );
  }

  cniCase(
    t,
    type,
    'ADD after a crash mid-ADD (SIGKILL at the veth step): a retry works, DEL leaves nothing',
    async (t, { w, conflist }) => {
      const ns = await w.container();
      const crash = await w.libcni('add', conflist, 'c1', ns, 'eth0', { env: { PIPEWRIGHT_FAILPOINT: 'create veth', PIPEWRIGHT_FAILPOINT_ACTION: 'kill' } });
      fails(t, crash, 'the killed ADD', undefined, /signal: killed|netplugin failed/);
      const again = ok(t, await w.libcni('add', conflist, 'c1', ns), 'ADD again');
      t.equal(again.result?.interfaces.filter((i: any) => i.sandbox === ns).length, 1, 'one container interface');
      ok(t, await w.libcni('check', conflist, 'c1', ns), 'CHECK');
      t.equal((await w.links()).filter((l) => l !== 'decoyh' && l !== 'lo' && l !== 'cni0' && l !== 'decoy0').length, 1, 'one host end: the crashed one is gone or reused');
      ok(t, await w.libcni('del', conflist, 'c1', ns), 'DEL');
    },
    { only: 'pipewright', why: "the failpoint (PIPEWRIGHT_FAILPOINT) is pipewright's" },
  );

  // --- chaining ------------------------------------------------------------

  cniCase(t, type, 'chained: first, then portmap, firewall and tuning', async (t, { w }) => {
    const main = w.mainPlugin(type);
    const portmap = { type: 'portmap', capabilities: { portMappings: true }, snat: true };
    const rest = [
      { type: 'firewall', backend: 'iptables' },
      { type: 'tuning', sysctl: { 'net.core.somaxconn': '500' } },
    ];
    const list = w.conflist(NET, [main, portmap, ...rest]);
    // portmap 1.1.1's CHECK always looks for IPv6 rules, which an IPv4-only
    // container never gets (containernetworking/plugins#819): CHECK the
    // same network without it.
    const checkList = w.conflist(NET, [main, ...rest]);
    const cap = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
    const ns = await w.container();
    const add = ok(t, await w.libcni('add', list, 'c1', ns, 'eth0', { cap }), 'ADD through the chain');
    t.same(add.result?.ips?.map((i: any) => i.address), ['10.22.0.2/24'], "the chain's result carries our address");
    const nat = await sh('nsenter', [`--net=${w.hostPath}`, 'iptables-save', '-t', 'nat']);
    t.match(nat, /--dports 8080 -j CNI-DN-/, 'portmap mapped the port');
    t.match(nat, /10\.22\.0\.2:80/, 'to our address');
    t.match(await sh('nsenter', [`--net=${w.hostPath}`, 'iptables-save', '-t', 'filter']), /10\.22\.0\.2/, 'firewall allowed our address');
    t.equal((await sh('nsenter', [`--net=${ns}`, 'cat', '/proc/sys/net/core/somaxconn'])).trim(), '500', 'tuning set the sysctl in the container');
    ok(t, await w.libcni('check', checkList, 'c1', ns, 'eth0', { cap }), 'CHECK through the chain');
    ok(t, await w.libcni('del', list, 'c1', ns, 'eth0', { cap }), 'DEL through the chain');
    const after = await sh('nsenter', [`--net=${w.hostPath}`, 'iptables-save']);
    t.notMatch(after, /10\.22\.0\.2|CNI-DN-/, 'no rule for the container is left');
  });

  cniCase(t, type, 'not first: after loopback, with its prevResult', async (t, { w }) => {
    const list = w.conflist(NET, [{ type: 'loopback' }, w.mainPlugin(type)]);
    const ns = await w.container();
    const add = ok(t, await w.libcni('add', list, 'c1', ns), 'ADD');
    t.ok(add.result?.interfaces?.some((i: any) => i.name === 'eth0' && i.sandbox === ns), 'our interface in the final result');
    ok(t, await w.libcni('check', list, 'c1', ns), 'CHECK with prevResult');
    ok(t, await w.libcni('del', list, 'c1', ns), 'DEL with prevResult');
  });
}

/** Downs a link in the world's host namespace through pipewright's own library. */
async function downThroughLibrary(w: CniWorld, name: string): Promise<void> {
  const ns = await Netns.open({ path: w.hostPath });
  const h = await Handle.open(ns);
  try {
    await h.link.set(name, { up: false });
  } finally {
    await h.close();
    await ns.close();
  }
}
