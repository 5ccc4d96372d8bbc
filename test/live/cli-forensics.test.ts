// The forensics commands of the real CLI (the installed command, built by
// `npm run build:ts`), each run with nsenter inside its scene's private host
// namespace, so the CLI's "host" is that namespace. Scans still see the
// whole machine (read-only), so every assertion is about objects this file
// made, found by id; gc and delete are given only this file's owner tags and
// names. Exit codes and JSON are asserted, never prose.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Handle, Netns, PIPEWRIGHT_GROUP } from '../../lib';
import { holders, waitReleased } from '../../lib/ops/forensics';
import { uniqueName, withScene } from '../helpers/scene';
import { cli, start, finish, type Run } from '../helpers/cli';
import { processInNewNetns, waitFor } from '../helpers/forensics';

// Addresses no other test uses, varied by pid so parallel runs never collide.
const octet = (process.pid % 200) + 20;
const ADDR = `10.244.${octet}.15`;


const json = (r: Run): any => JSON.parse(r.stdout);

/** A helper process that holds an fd (3) to the namespace at `path`, and nothing else of it. */
async function fdHolder(path: string): Promise<{ pid: number; kill(): Promise<void> }> {
  const child = spawn('sh', ['-c', 'exec 3<"$1" && echo ready && exec sleep 60', 'holder', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  if (line !== 'ready') throw new Error(`fd holder: ${line}`);
  return { pid: child.pid!, kill };
}

/** A veth pair inside `ns`, `a` up with `cidr` on it. */
async function plantAddress(ns: Netns | { path: string }, a: string, b: string, cidr: string): Promise<void> {
  const h = await Handle.open(ns);
  try {
    await h.link.add({ kind: 'veth', name: a, up: true, peer: { name: b } });
    await h.addr.add(a, cidr);
  } finally {
    await h.close();
  }
}


t.test('netns ls --all, netns holders, find-ip: found, duplicate, absent', (t) =>
  withScene(t, async (s) => {
    const name = uniqueName('cli');
    const named = await Netns.create({ name });
    s.defer(() => Netns.remove(name).catch(() => undefined));
    await plantAddress(named, 'web0', 'web1', `${ADDR}/24`);
    await named.close(); // the name alone keeps it
    // Held only by fd 3 of a helper: its own process is gone.
    const proc = await processInNewNetns();
    const holder = await fdHolder(`/proc/${proc.pid}/ns/net`);
    s.defer(holder.kill);
    await proc.kill();

    const ls = await cli(s.hostNs, 'netns', 'ls', '--all', '--json');
    t.equal(ls.code, 0, ls.stderr);
    const scan = json(ls);
    t.equal(scan.self.netns, s.hostNs.id, "the CLI ran in the scene's host namespace");
    const byId = (id: string) => scan.namespaces.filter((n: { id: string }) => n.id === id);
    t.equal(byId(proc.id).length, 1, 'the fd-held namespace: exactly once');
    t.match(byId(proc.id)[0], { processes: [], names: [], mounts: [], flags: { orphan: true, unreachableFromHere: false, current: false }, interfaces: 1 });
    t.ok(byId(proc.id)[0].fds.some((f: { pid: number; fd: number; comm: string }) => f.pid === holder.pid && f.fd === 3 && f.comm === 'sleep'), 'held by fd 3 of the helper');
    t.equal(byId(named.id).length, 1, 'the named namespace: exactly once');
    t.match(byId(named.id)[0], { processes: [], names: [{ name, dir: '/run/netns', path: `/run/netns/${name}` }], flags: { orphan: true, current: false } });
    t.ok(byId(named.id)[0].mounts.some((m: { ours: boolean; mountPoint: string }) => m.ours && m.mountPoint === `/run/netns/${name}`), 'its bind mount, in our mount namespace');
    t.ok(byId(named.id)[0].addresses.some((a: { ifname: string; address: string }) => a.ifname === 'web0' && a.address === ADDR), 'with its address');
    t.equal(byId(s.hostNs.id)[0]?.flags.current, true, 'the scene host is current');
    const live = json(await cli(s.hostNs, 'netns', 'ls', '--json'));
    t.notOk(live.namespaces.some((n: { id: string }) => n.id === proc.id), 'without --all: no fd-held namespace');
    t.ok(live.namespaces.some((n: { id: string }) => n.id === named.id), 'but the named one');

    const hn = await cli(s.hostNs, 'netns', 'holders', name, '--json');
    t.equal(hn.code, 0, hn.stderr);
    t.match(json(hn), { id: named.id, alive: true, processes: [], names: [{ name }] });
    t.ok(json(hn).releases.some((r: { holder: string; command: string }) => r.holder === 'name' && r.command === `pipewright netns delete ${name}`), 'released by deleting the name');
    const hf = await cli(s.hostNs, 'netns', 'holders', proc.id, '--json');
    t.equal(hf.code, 0, hf.stderr);
    t.ok(json(hf).releases.some((r: { holder: string; pid: number; fd: number; command: string }) => r.holder === 'fd' && r.pid === holder.pid && r.fd === 3 && r.command === `kill ${holder.pid}`), 'by id: the fd and how to release it');
    const missing = await cli(s.hostNs, 'netns', 'holders', uniqueName('missing'), '--json');
    t.equal(missing.code, 3, 'no such name: exit 3');
    t.equal(json(missing).error.code, 'ERR_PW_NETNS_NOT_FOUND');

    const one = await cli(s.hostNs, 'find-ip', ADDR, '--json');
    t.equal(one.code, 0, 'found once: exit 0');
    t.match(json(one), { query: ADDR, conflict: false, namespaces: [named.id], matches: [{ netns: named.id, ifname: 'web0', prefixLen: 24, names: [`/run/netns/${name}`] }] });

    await plantAddress({ path: `/proc/${holder.pid}/fd/3` }, 'eth0', 'eth9', `${ADDR}/24`);
    const dup = await cli(s.hostNs, 'find-ip', ADDR, '--json');
    t.equal(dup.code, 6, 'in two namespaces: exit 6 (conflict)');
    const d = json(dup);
    t.equal(d.conflict, true);
    t.same([...d.namespaces].sort(), [named.id, proc.id].sort(), 'both copies');
    t.match(d.matches.find((m: { netns: string }) => m.netns === proc.id), { ifname: 'eth0', via: `fd 3 of pid ${holder.pid} (sleep)`, path: `/proc/${holder.pid}/fd/3` }, 'the copy held by the fd names it');

    const absent = await cli(s.hostNs, 'find-ip', `10.244.${octet}.250`, '--json');
    t.equal(absent.code, 3, 'nowhere: exit 3');
    t.same(json(absent).matches, []);
  }),
);

// Only the checks that look at the CLI's own namespace: the host-wide ones
// (duplicates, orphans, stale names, /run/netns, networkd's files) would
// judge the rest of the machine.
const LOCAL_CHECKS = 'veth-host-ends,bridge-port-state,mtu-mismatch,bridge-firewall,pipewright-leaked,down-device-pile';

t.test('doctor: a planted defect exits 5 with its check id; fixed, the namespace is clean (exit 0)', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    await s.host.link.add({ kind: 'veth', name: 'vdown0', peer: { name: 'eth0', netns: g.ns, up: true } });

    const bad = await cli(s.hostNs, 'doctor', '--json', '--only', LOCAL_CHECKS);
    t.equal(bad.code, 5, 'something found: exit 5');
    const r = json(bad);
    t.match(r, { found: true, target: s.hostNs.id });
    t.same(r.checks.map((c: { id: string }) => c.id), LOCAL_CHECKS.split(','), 'exactly the checks asked for');
    const failed = r.checks.filter((c: { ok: boolean }) => !c.ok);
    t.same(failed.map((c: { id: string }) => c.id), ['veth-host-ends'], 'only the planted defect');
    t.match(failed[0].objects, [{ kind: 'link', netns: s.hostNs.id, name: 'vdown0' }]);

    // The fix doctor gives: the host end up, then enslaved.
    await s.host.link.set('vdown0', { up: true });
    await s.host.link.set('vdown0', { master: 'br0' });
    const good = await cli(s.hostNs, 'doctor', '--json', '--only', LOCAL_CHECKS);
    t.equal(good.code, 0, `clean: exit 0 ${good.stdout}`);
    t.match(json(good), { found: false, target: s.hostNs.id });
    t.ok(json(good).checks.every((c: { ok: boolean }) => c.ok));
  }),
);

t.test('gc --owner: --dry-run lists exactly the leaked link, then gc removes exactly it', (t) =>
  withScene(t, async (s) => {
    const owner = `cligc${process.pid}`;
    const live = await s.guest();
    const alias = (o: string, guest: string) => `pipewright owner=${o} guest=${guest} if=eth1`;
    const gone = `${s.hostNs.dev}:12345`; // no namespace ever has an inode this small
    await s.host.link.add({ kind: 'veth', name: 'vleak0', group: PIPEWRIGHT_GROUP, alias: alias(owner, gone), peer: { name: 'p0', netns: live.ns } });
    await s.host.link.add({ kind: 'veth', name: 'vkeep0', group: PIPEWRIGHT_GROUP, alias: alias(`other${process.pid}`, gone), peer: { name: 'p1', netns: live.ns } });
    await s.host.link.add({ kind: 'veth', name: 'vkeep1', group: PIPEWRIGHT_GROUP, alias: alias(owner, live.ns.id), peer: { name: 'eth1', netns: live.ns } });

    const dry = await cli(s.hostNs, 'gc', '--owner', owner, '--dry-run', '--json');
    t.equal(dry.code, 0, dry.stderr);
    t.match(json(dry), { dryRun: true, target: s.hostNs.id, batch: { kind: 'none' } });
    t.same(json(dry).namespaces, [], 'no guest namespace to release');
    t.same(json(dry).links.map((l: { name: string; owner: string; reason: string }) => [l.name, l.owner, l.reason]), [['vleak0', owner, 'guest-gone']], 'only the leaked link of this owner');
    t.ok(await s.host.link.find('vleak0'), 'a dry run removes nothing');

    const run = await cli(s.hostNs, 'gc', '--owner', owner, '--json');
    t.equal(run.code, 0, run.stderr);
    t.same(json(run).links.map((l: { name: string }) => l.name), ['vleak0']);
    t.equal(json(run).batch.kind, 'index', 'the one proven link, deleted by its index (never the whole group)');
    t.equal(await s.host.link.find('vleak0'), null, 'vleak0 is gone');
    t.ok((await s.host.link.find('vkeep0')) && (await s.host.link.find('vkeep1')), "another owner's link and a link with a live guest are kept");
  }),
);

/** The graph id "dev:ino/index" as the DOT and Mermaid renderers name nodes. */
const nodeId = (id: string) => `n${id.replace(/[^0-9A-Za-z]/g, '_')}`;

t.test('show: json, dot and mermaid contain the scene bridge and veths; svg is an SVG', (t) =>
  withScene(t, async (s) => {
    const g1 = await s.guest({ named: true });
    const g2 = await s.guest();
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    await s.host.addr.add('br0', `10.244.${octet}.1/24`);
    await s.host.link.add({ kind: 'veth', name: 'vs1', up: true, master: 'br0', peer: { name: 'eth0', netns: g1.ns, up: true } });
    await s.host.link.add({ kind: 'veth', name: 'vs2', up: true, master: 'br0', peer: { name: 'eth0', netns: g2.ns, up: true } });
    const ids = [s.hostNs.id, g1.ns.id, g2.ns.id];
    const who = new Map([[s.hostNs.id, 'host'], [g1.ns.id, 'g1'], [g2.ns.id, 'g2']]);

    const rj = await cli(s.hostNs, 'show', '--format', 'json', '--netns', ids.join(','));
    t.equal(rj.code, 0, rj.stderr);
    const topo = json(rj);
    t.same(topo.namespaces.map((n: { id: string }) => n.id).sort(), [...ids].sort(), 'exactly the scene namespaces');
    const names = new Map<string, string>();
    for (const n of topo.namespaces) for (const l of n.links) names.set(l.id, `${who.get(n.id)}:${l.name}`);
    const edges = topo.edges.map((e: { kind: string; from: string; to: string; crossNs: boolean }) => {
      const ends = [names.get(e.from), names.get(e.to)];
      if (e.kind === 'veth') ends.sort();
      return `${e.kind} ${ends.join(' ')}${e.crossNs ? ' cross' : ''}`;
    });
    t.same(edges.sort(), ['port host:vs1 host:br0', 'port host:vs2 host:br0', 'veth g1:eth0 host:vs1 cross', 'veth g2:eth0 host:vs2 cross'].sort(), 'bridge ports and veth pairs across namespaces');
    t.same(topo.namespaces.find((n: { id: string }) => n.id === s.hostNs.id).links.find((l: { name: string }) => l.name === 'br0').addresses, [`10.244.${octet}.1/24`]);

    const dot = await cli(s.hostNs, 'show', '--format', 'dot', '--netns', ids.join(','));
    t.equal(dot.code, 0, dot.stderr);
    t.equal(dot.stdout.match(/subgraph cluster_/g)?.length, 3, 'dot: a cluster per namespace');
    for (const e of topo.edges) t.ok(dot.stdout.includes(`${nodeId(e.from)} -- ${nodeId(e.to)}`), `dot: ${e.kind} edge ${names.get(e.from)} -- ${names.get(e.to)}`);
    t.match(dot.stdout, /label="br0 \(bridge\)\\n/);

    const mm = await cli(s.hostNs, 'show', '--format', 'mermaid', '--netns', ids.join(','));
    t.equal(mm.code, 0, mm.stderr);
    t.match(mm.stdout, /^flowchart LR\n/);
    t.equal(mm.stdout.match(/^ {2}subgraph /gm)?.length, 3, 'mermaid: a subgraph per namespace');
    for (const e of topo.edges) t.ok(mm.stdout.includes(`${nodeId(e.from)} ${e.kind === 'veth' ? '---' : '-.->'} ${nodeId(e.to)}`), `mermaid: ${e.kind} edge`);
    t.match(mm.stdout, /\[\["br0 \(bridge\)/, 'the bridge as a bridge');

    const svg = await cli(s.hostNs, 'show', '--format', 'svg', '--netns', ids.join(','));
    t.equal(svg.code, 0, svg.stderr);
    t.match(svg.stdout, /<svg[\s\S]*<\/svg>\s*$/, 'an SVG document');
    t.equal(svg.stdout.match(/class="cluster"/g)?.length, 3, 'with the three namespace boxes');
  }),
);

t.test('netns delete: exit 4 naming the holder while an fd keeps it; exit 0 once released', (t) =>
  withScene(t, async (s) => {
    const busy = uniqueName('clidel');
    const ns = await Netns.create({ name: busy });
    const ino = ns.ino;
    await plantAddress(ns, 'kept0', 'kept1', `10.244.${octet}.30/24`);
    await ns.close();
    const holder = await fdHolder(`/run/netns/${busy}`);
    s.defer(holder.kill);

    const r = await cli(s.hostNs, 'netns', 'delete', busy, '--timeout', '300', '--json');
    t.equal(r.code, 4, 'still held: exit 4');
    const err = json(r).error;
    t.equal(err.code, 'ERR_PW_NETNS_BUSY');
    t.equal(err.holders.ino, ino);
    t.ok(err.holders.fds.some((f: { pid: number; fd: number }) => f.pid === holder.pid && f.fd === 3), 'the JSON names the helper and its fd');
    t.same([err.holders.processes, err.holders.mounts], [[], []]);
    t.notOk(existsSync(`/run/netns/${busy}`), 'the name is gone');
    t.equal((await holders({ ino })).alive, true, 'the namespace is not: the helper keeps it');
    // Its fd was opened through the name, whose mount is now detached: it reads as '/', not 'net:[…]'.
    const after = json(await cli(s.hostNs, 'netns', 'ls', '--all', '--json')).namespaces.filter((n: { ino: number }) => n.ino === ino);
    t.equal(after.length, 1, 'netns ls --all still finds it, once');
    t.match(after[0], { names: [], mounts: [], processes: [], fds: [{ pid: holder.pid, fd: 3 }], interfaces: 3 }, 'held by the fd alone, with its veth pair inside');
    await holder.kill();
    t.equal((await waitReleased({ ino }, 60_000)).alive, false, 'released once the helper is gone');
    t.equal((await cli(s.hostNs, 'netns', 'delete', busy, '--json')).code, 3, 'deleting it again: no such name, exit 3');

    // Released while the CLI waits: it exits 0 and says the namespace is gone.
    const name = uniqueName('clidel');
    const ns2 = await Netns.create({ name });
    const id2 = ns2.id;
    await ns2.close();
    const holder2 = await fdHolder(`/run/netns/${name}`);
    s.defer(holder2.kill);
    const waiting = finish(start(s.hostNs, ['netns', 'delete', name, '--timeout', '60000', '--json']));
    await waitFor('the CLI to remove the name', () => !existsSync(`/run/netns/${name}`), 60_000);
    await holder2.kill();
    const ok = await waiting;
    t.equal(ok.code, 0, ok.stderr);
    t.match(json(ok), { name, id: id2, stale: false });
    t.ok(json(ok).waitedMs > 0, 'after waiting for the release');
    t.notOk(existsSync(`/run/netns/${name}`), 'and the name is gone');
    // The kernel frees a namespace on a workqueue once its last reference
    // goes (seconds on a loaded machine): a deadline, not a wait, as above.
    t.equal((await waitReleased({ ino: Number(id2.split(':')[1]) }, 60_000)).alive, false, 'nothing holds the namespace');
  }),
);
