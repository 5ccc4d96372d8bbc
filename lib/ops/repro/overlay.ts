// §4 The hand-built overlay. The write-up's two topologies — two named
// namespaces on a bridge (172.16.1.1/16, guests .2 and .3), and two "hosts"
// joined by VXLAN 42 with the all-zeros FDB flood entry — built once with
// `ip` as the write-up does and once with pipewright calls, real pings across
// both, then torn down; afterwards nothing may be left: no link, named
// namespace, mount or fd.
import { attach } from '../attach';
import { bridge as declaredBridge, overlay as declaredOverlay } from '../overlay';
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { Checks, exec, ping, privateHost, sleep, uniqueName } from './common';
import { oldOverlay } from './overlay-old';
import { diff, netState, procState, NetState } from './state';
import type { Scenario } from './types';

const UNDERLAY = ['192.0.2.1', '192.0.2.2'];

/** Namespace teardown is asynchronous: wait (bounded) until `h` is back to `want`. */
async function settledTo(h: Handle, want: NetState, ms = 5000): Promise<NetState> {
  let now = await netState(h);
  for (const end = Date.now() + ms; Date.now() < end && diff(want, now).length; ) {
    await sleep(20);
    now = await netState(h);
  }
  return now;
}

interface Built {
  pings: Array<{ from: string; to: string; ok: boolean }>;
  calls: number;
  fdbFlood: string[];
}

/** Both topologies with pipewright calls inside `root`; everything made is pushed onto `owned` for teardown. */
async function build(root: Handle, owned: Array<Netns | Handle>): Promise<Built> {
  const pings: Built['pings'] = [];
  let calls = 0;
  const call = async <T>(p: Promise<T>): Promise<T> => (calls++, p);
  const named = async () => {
    const ns = await call(Netns.create({ name: uniqueName('pwov') }));
    owned.push(ns);
    return ns;
  };

  // The bridge: br0 172.16.1.1/16, two named namespaces attached as eth0 .2 and .3.
  await call(root.link.add({ kind: 'bridge', name: 'br0', up: true }));
  await call(root.addr.add('br0', '172.16.1.1/16'));
  const ns = [await named(), await named()];
  for (const [i, n] of ns.entries()) {
    await call(attach({ host: root, hostIf: 'br0', guest: n.name!, guestIf: 'eth0', hostEnd: `veth${i + 1}`, address: `172.16.1.${i + 2}/16` }));
  }
  for (const [from, to] of [[0, '172.16.1.3'], [1, '172.16.1.2'], [0, '172.16.1.1']] as const) pings.push({ from: ns[from].name!, to, ok: await ping(ns[from], to) });

  // Two hosts on an underlay link; per host a bridge, vxlan0 (VNI 42) on it
  // with a flood entry to the other host, and one container attached.
  const hosts = [await call(Netns.create()), await call(Netns.create())];
  owned.push(...hosts);
  await call(root.link.add({ kind: 'veth', name: 'eth0', netns: hosts[0]!, up: true, peer: { name: 'eth0', netns: hosts[1]!, up: true } }));
  const containers: Netns[] = [];
  const fdbFlood: string[] = [];
  for (const i of [0, 1]) {
    const h = await call(Handle.open(hosts[i]!));
    owned.push(h);
    await call(h.link.set('lo', { up: true }));
    await call(h.addr.add('eth0', `${UNDERLAY[i]}/24`));
    // The declarative operations (lib/ops/overlay): the bridge, then VXLAN 42
    // on it with its flood list reconciled to the other host — one call each.
    await call(declaredBridge.ensure({ name: 'br0' }, { host: h }));
    await call(declaredOverlay.apply({ name: 'vxlan0', vni: 42, port: 4789, dev: 'eth0', local: UNDERLAY[i]!, peers: [UNDERLAY[1 - i]!], bridge: 'br0' }, { host: h }));
    const c = await named();
    containers.push(c);
    await call(attach({ host: h, hostIf: 'br0', guest: c, guestIf: 'eth0', hostEnd: 'veth0', mtu: 1450, address: `172.16.1.${i + 2}/24` }));
    const fdb = await call(h.fdb.list({ dev: 'vxlan0' }));
    fdbFlood.push(...fdb.filter((e) => e.lladdr === '00:00:00:00:00:00').map((e) => `host${'AB'[i]} floods to ${e.address}`));
  }
  pings.push({ from: containers[0]!.name!, to: '172.16.1.3', ok: await ping(containers[0]!, '172.16.1.3') });
  pings.push({ from: containers[1]!.name!, to: '172.16.1.2', ok: await ping(containers[1]!, '172.16.1.2') });
  return { pings, calls, fdbFlood };
}

export const overlay: Scenario = {
  name: 'overlay',
  title: 'The hand-built overlay (Docker Swarm write-up)',
  section: 4,
  async run() {
    const c = new Checks();
    const hasPing = (await exec('sh', ['-c', 'command -v ping'])).code === 0;
    c.ok(hasPing, 'ping is installed (iputils-ping; scripts/install-test-deps.sh installs it)');
    const procBefore = procState();

    // The old way, in its own private root namespace.
    const rootA = await privateHost();
    let old;
    let oldLeft: string[] = [];
    try {
      const empty = await netState(rootA.h);
      old = await oldOverlay(rootA.ns, ['', '', '', '', '', ''].map(() => uniqueName('pwold')) as [string, string, string, string, string, string]);
      oldLeft = diff(empty, await settledTo(rootA.h, empty));
    } finally {
      await rootA.close();
    }
    const oldProcLeft = diff(procBefore, procState());

    // pipewright, in another.
    const rootB = await privateHost();
    const owned: Array<Netns | Handle> = [];
    let built: Built | undefined;
    let left: string[] = [];
    try {
      const empty = await netState(rootB.h);
      try {
        built = await build(rootB.h, owned);
      } finally {
        // Teardown in reverse: handles, then namespaces (named ones lose their name too).
        for (const o of owned.reverse()) await (o instanceof Netns ? o.delete() : o.close());
        const br = await rootB.h.link.find('br0');
        if (br) await rootB.h.link.del(br.index);
      }
      left = diff(empty, await settledTo(rootB.h, empty));
    } finally {
      await rootB.close();
    }
    const procLeft = diff(procBefore, procState());

    const oldOk = old.pings.filter((p) => p.ok).length;
    const pwOk = built.pings.filter((p) => p.ok).length;
    c.equal(old.failedCommands, 0, 'old way: every hand-typed command succeeded');
    c.equal(built.fdbFlood.length, 2, 'pipewright: each host floods unknown frames to the other (all-zeros FDB entry)');
    c.equal(built.pings.map((p) => p.ok), [true, true, true, true, true], 'pipewright: both guests reach each other and the bridge; both containers reach each other across VXLAN');
    c.equal(left, [], 'pipewright: after teardown the root namespace has only lo again');
    c.equal(procLeft, [], 'pipewright: no named namespace, mount or fd left');
    return {
      name: this.name,
      title: this.title,
      done: [
        'old way: the write-up\'s commands with real `ip`/`bridge` — `ip netns add`, bridge br0 172.16.1.1/16, veth pairs enslaved and up, peers moved and renamed eth0, .2/.3; then two hosts with an underlay veth, `vxlan0 id 42 dev eth0`, `bridge fdb append 00:00:00:00:00:00 dst OTHER dev vxlan0`, a container each; pings; `ip netns del` + `ip link del br0`',
        'pipewright: the same two topologies with Netns.create({name}), link.add (bridge, the underlay veth with peers born in the hosts), addr.add and attach(); per host bridge.ensure and overlay.apply (VXLAN 42, learning off, explicit dstport, the flood list reconciled to the other host in one batch); the same pings (iputils ping inside the namespaces); Netns.delete()/close() and one link.del',
        'afterwards: links, addresses and routes of each root namespace, and this process\'s named namespaces, mounts and fds compared with before',
      ],
      oldWay: {
        summary: `${old.commands} commands (one process each), ${oldOk}/${old.pings.length} pings answered, ${oldLeft.length + oldProcLeft.length} leftovers after teardown`,
        commands: old.commands,
        failedCommands: old.failedCommands,
        pingsOk: oldOk,
        pings: old.pings.length,
        leftovers: oldLeft.length + oldProcLeft.length,
      },
      pipewright: {
        summary: `${built.calls} library calls; ${pwOk}/${built.pings.length} pings answered; ${left.length + procLeft.length} leftovers after teardown`,
        calls: built.calls,
        pingsOk: pwOk,
        pings: built.pings.length,
        leftovers: left.length + procLeft.length,
      },
      checks: c.list,
      details: { oldPings: old.pings, oldLeftovers: [...oldLeft, ...oldProcLeft], oldStderr: old.stderr || undefined, pings: built.pings, fdb: built.fdbFlood, leftovers: [...left, ...procLeft] },
    };
  },
};
