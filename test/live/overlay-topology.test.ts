// Issue 17, live: "hosts" are namespaces joined by an underlay switch (a
// bridge in a namespace of its own, one veth per host as its eth0), each
// applying its topology file — FIELD-NOTES §4's bridge with two guests and
// VXLAN 42 — with the real CLI. Traffic crosses the overlay both ways;
// re-applies converge (a peer removed stops getting traffic, a third host
// joins with one re-apply per side, an emptied file removes what it made);
// a failure in the middle leaves nothing; bad input is exit 2 naming the
// value; a foreign VXLAN device and a foreign FDB entry survive it all.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Handle, Netns } from '../../lib';
import { cli } from '../helpers/cli';
import { applyTopology, ApplyError, type Topology } from '../../lib/ops/overlay';
import { failAt, setFailpoint } from '../../lib/ops/transaction';
import { ping, uniqueName } from '../helpers/scene';

const DIR = mkdtempSync(join(tmpdir(), 'pw-topo-'));
t.teardown(() => rmSync(DIR, { recursive: true, force: true }));
const FLOOD = '00:00:00:00:00:00';

interface Host {
  ns: Netns;
  h: Handle;
  ip: string;
}

/** The underlay: a switch namespace with a bridge, and hosts plugged into it as eth0 192.0.2.N/24. */
class Lab {
  readonly hosts: Host[] = [];
  readonly guests: string[] = [];
  private constructor(readonly sw: Netns, readonly swh: Handle) {}
  static async create(): Promise<Lab> {
    const sw = await Netns.create();
    const swh = await Handle.open(sw);
    await swh.link.add({ kind: 'bridge', name: 'sw', up: true });
    return new Lab(sw, swh);
  }
  async host(): Promise<Host> {
    const n = this.hosts.length + 1;
    const ns = await Netns.create();
    const h = await Handle.open(ns);
    await this.swh.link.add({ kind: 'veth', name: `p${n}`, master: 'sw', up: true, peer: { name: 'eth0', netns: ns } });
    await h.link.set('lo', { up: true });
    await h.link.set('eth0', { up: true });
    await h.addr.add('eth0', `192.0.2.${n}/24`);
    const host = { ns, h, ip: `192.0.2.${n}` };
    this.hosts.push(host);
    return host;
  }
  guest(): string {
    const name = uniqueName('tg');
    this.guests.push(name);
    return name;
  }
  async close(): Promise<void> {
    for (const g of this.guests) await Netns.open({ name: g }).then((ns) => ns.delete(), () => undefined);
    for (const { ns, h } of this.hosts) {
      await h.close();
      await ns.close();
    }
    await this.swh.close();
    await this.sw.close();
  }
}

function file(name: string, topo: Record<string, unknown>): string {
  const f = join(DIR, `${name}.yaml`);
  writeFileSync(f, stringify({ name, createNetns: true, ...topo }));
  return f;
}

/** The seed's host topology: br0 with an address, vxlan0 (VNI 42, dstport 4789) to `peers`, guests .N/16. */
function hostTopo(host: Host, peers: string[], guests: Array<[string, string]>, gw: string): Record<string, unknown> {
  return {
    bridges: [{ name: 'br0', address: `${gw}/16` }],
    overlays: [{ name: 'vxlan0', vni: 42, port: 4789, dev: 'eth0', local: host.ip, peers, bridge: 'br0' }],
    guests: guests.map(([guest, ip]) => ({ hostIf: 'br0', guest, guestIf: 'eth0', address: `${ip}/16` })),
  };
}

/** Pings until answered, or false at the deadline (a state waited for, not a sleep). */
async function reaches(guest: string, ip: string, ms = 15_000): Promise<boolean> {
  const ns = await Netns.open({ name: guest });
  try {
    for (const end = Date.now() + ms; Date.now() < end; ) if (await ping(ns, ip)) return true;
    return false;
  } finally {
    await ns.close();
  }
}

async function flood(h: Handle, dev = 'vxlan0'): Promise<string[]> {
  const l = await h.link.get(dev);
  return (await h.fdb.list({ dev: l.index })).filter((e) => e.index === l.index && e.lladdr === FLOOD && e.address).map((e) => e.address!).sort();
}

const linkNames = async (h: Handle) => (await h.link.list()).map((l) => l.name).sort();

t.test('two hosts from files, pings both ways; converge: a third host joins, a peer leaves, an emptied file removes its own; decoys survive', async (t) => {
  const lab = await Lab.create();
  t.teardown(() => lab.close());
  const [A, B] = [await lab.host(), await lab.host()];
  const [a1, a2, b1] = [lab.guest(), lab.guest(), lab.guest()];

  // Decoys on A: a foreign VXLAN with its own flood entry (made before any apply).
  await A.h.link.add({ kind: 'vxlan', name: 'decoy0', vni: 99, port: 4790, dev: 'eth0', local: A.ip, learning: false });
  await A.h.fdb.append({ dev: 'decoy0', lladdr: FLOOD, dst: '192.0.2.99' });

  const fA = file('hostA', hostTopo(A, [B.ip], [[a1, '172.16.1.2'], [a2, '172.16.1.3']], '172.16.1.1'));
  const fB = file('hostB', hostTopo(B, [A.ip], [[b1, '172.16.1.4']], '172.16.1.11'));
  let r = await cli(A.ns, 'apply', fA, '-v');
  t.equal(r.code, 0, `host A applied: ${r.stderr}`);
  t.match(r.stdout, /create vxlan vxlan0 \(vni 42, dstport 4789, dev eth0, local 192\.0\.2\.1, learning off\)/, 'with -v the plan is printed');
  r = await cli(B.ns, 'apply', fB);
  t.equal(r.code, 0, `host B applied: ${r.stderr}`);
  t.same([r.stdout, r.stderr], ['', ''], 'quiet on success by default');

  const vx = await A.h.link.get('vxlan0');
  t.equal(vx.vxlan?.vni, 42);
  t.equal(vx.vxlan?.port, 4789, 'explicit dstport');
  t.equal(vx.vxlan?.learning, false, 'learning off');
  t.equal(vx.master, (await A.h.link.get('br0')).index, 'enslaved to br0');
  t.same((await A.h.addr.list({ dev: 'br0', family: 4 })).map((x) => `${x.address}/${x.prefixLen}`), ['172.16.1.1/16'], 'the bridge has its gateway address');
  t.same(await flood(A.h), [B.ip], 'A floods to B');
  t.same(await flood(B.h), [A.ip], 'B floods to A');
  t.ok(await reaches(a1, '172.16.1.3'), 'guest to guest on A\'s bridge');
  t.ok(await reaches(a1, '172.16.1.1'), 'guest to its bridge\'s address');
  t.ok(await reaches(a1, '172.16.1.4'), 'A → B across the overlay');
  t.ok(await reaches(b1, '172.16.1.2'), 'B → A across the overlay');

  // A foreign FDB entry on our device, added by hand: not a flood entry, never touched.
  await A.h.fdb.append({ dev: 'vxlan0', lladdr: '02:00:00:00:00:99', dst: '192.0.2.98' });
  r = await cli(A.ns, 'apply', fA, '-v');
  t.equal(r.code, 0);
  t.match(r.stdout, /already as declared \(nothing changed\)/, 'a second apply changes nothing and says so');

  // A third host: one re-apply on each side.
  const C = await lab.host();
  const c1 = lab.guest();
  const fC = file('hostC', hostTopo(C, [A.ip, B.ip], [[c1, '172.16.1.5']], '172.16.1.21'));
  t.equal((await cli(C.ns, 'apply', fC)).code, 0, 'host C applied');
  file('hostA', hostTopo(A, [B.ip, C.ip], [[a1, '172.16.1.2'], [a2, '172.16.1.3']], '172.16.1.1'));
  file('hostB', hostTopo(B, [A.ip, C.ip], [[b1, '172.16.1.4']], '172.16.1.11'));
  r = await cli(A.ns, 'apply', fA, '--json');
  t.equal(r.code, 0);
  const diff = JSON.parse(r.stdout);
  t.same(diff.overlays[0].added, [C.ip], 'A adds only C to its flood list');
  t.same(diff.overlays[0].removed, []);
  t.equal((await cli(B.ns, 'apply', fB)).code, 0);
  t.same(await flood(A.h), [B.ip, C.ip].sort());
  t.ok(await reaches(c1, '172.16.1.2'), 'C → A');
  t.ok(await reaches(c1, '172.16.1.4'), 'C → B');
  t.ok(await reaches(a1, '172.16.1.5'), 'A → C');

  // B leaves A's flood list (and a guest leaves A's file): its entry goes, traffic to B stops, to C goes on.
  file('hostA', hostTopo(A, [C.ip], [[a1, '172.16.1.2']], '172.16.1.1'));
  r = await cli(A.ns, 'apply', fA, '--dry-run');
  t.equal(r.code, 0);
  t.match(r.stdout, /flood list of vxlan0: remove 192\.0\.2\.2/, 'dry run prints the removal');
  t.same(await flood(A.h), [B.ip, C.ip].sort(), 'dry run changed nothing');
  r = await cli(A.ns, 'apply', fA);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, new RegExp(`removing what the topology no longer names: guest ${a2} eth0`), 'the removal is said before it is done');
  t.equal(r.stdout, '');
  t.same(await flood(A.h), [C.ip], 'B\'s flood entry is gone');
  t.notOk(await reaches(a1, '172.16.1.4', 4000), 'A → B stops');
  t.ok(await reaches(a1, '172.16.1.5'), 'A → C still goes');
  const a2ns = await Netns.open({ name: a2 });
  const a2h = await Handle.open(a2ns);
  t.equal(await a2h.link.find('eth0'), null, 'the detached guest has no eth0');
  await a2h.close();
  await a2ns.close();

  // An emptied file removes everything that topology made on C (its namespace stays: not the topology's to delete).
  writeFileSync(fC, stringify({ name: 'hostC' }));
  r = await cli(C.ns, 'apply', fC);
  t.equal(r.code, 0, r.stderr);
  t.same(await linkNames(C.h), ['eth0', 'lo'], 'C has only its underlay and lo again');

  // The decoys survived every apply, and the delete refuses the foreign device.
  t.same(await flood(A.h, 'decoy0'), ['192.0.2.99'], 'the foreign VXLAN and its flood entry are intact');
  const vxl = await A.h.link.get('vxlan0');
  t.ok((await A.h.fdb.list({ dev: vxl.index })).some((e) => e.lladdr === '02:00:00:00:00:99' && e.address === '192.0.2.98'), 'the foreign FDB entry on vxlan0 is intact');
  r = await cli(A.ns, 'overlay', 'decoy0', '--delete');
  t.equal(r.code, 6, 'deleting a foreign VXLAN is a conflict');
  t.match(r.stderr, /not pipewright's/);
  t.ok(await A.h.link.find('decoy0'), 'decoy0 still exists');
  r = await cli(A.ns, 'overlay', 'vxlan0', '--show', '--json');
  t.same(JSON.parse(r.stdout).peers, [C.ip]);
  t.equal(JSON.parse(r.stdout).owned.topology, 'hostA');
});

t.test('a failure in the middle of an apply leaves nothing (failpoints)', async (t) => {
  const lab = await Lab.create();
  t.teardown(() => lab.close());
  const [A] = [await lab.host(), await lab.host()];
  await A.h.link.add({ kind: 'vxlan', name: 'decoy0', vni: 99, port: 4790, dev: 'eth0', local: A.ip, learning: false });
  const before = await linkNames(A.h);
  for (const fp of ['add address 172.16.1.1/16', 'flood list of vxlan0', 'verify vxlan vxlan0', 'verify topology']) {
    const g = lab.guest();
    const topo = { name: `fail-${fp.replace(/\W+/g, '-')}`, createNetns: true, ...hostTopo(A, ['192.0.2.2'], [[g, '172.16.1.2']], '172.16.1.1') } as Topology;
    setFailpoint(failAt(fp));
    try {
      const err = await applyTopology(topo, { host: A.h }).then(() => null, (e: unknown) => e as ApplyError);
      t.ok(err instanceof ApplyError, `failpoint '${fp}': the apply fails`);
      t.equal(err?.code, 'ERR_PW_APPLY_FAILED');
      t.same(err?.leftBehind, [], 'nothing left behind');
    } finally {
      setFailpoint(undefined);
    }
    t.same(await linkNames(A.h), before, `failpoint '${fp}': the host's links are as before (decoy included)`);
    await t.rejects(Netns.open({ name: g }), 'the namespace it created is gone too');
  }
});

t.test('bad input is exit 2 naming the value; nothing is created', async (t) => {
  const lab = await Lab.create();
  t.teardown(() => lab.close());
  const A = await lab.host();
  const before = await linkNames(A.h);
  const ov = ['overlay', 'vx1', '--vni', '42', '--dev', 'eth0', '--local', A.ip, '--peers', '192.0.2.2'];
  const set = (k: string, v: string) => ov.map((x, i) => (ov[i - 1] === k ? v : x));
  const cases: Array<[string[], RegExp]> = [
    [set('--vni', '0'), /vni: 0 must be an integer from 1 to 16777215/],
    [set('--vni', '16777216'), /vni: 16777216/],
    [[...ov, '--port', '0'], /port: 0 must be an integer from 1 to 65535/],
    [[...ov, '--port', '70000'], /port: 70000/],
    [set('--peers', '192.0.2.2,bogus'), /peers\[1\]: "bogus"/],
    [set('--peers', '192.0.2.2,192.0.2.2'), /peers\[1\]: "192\.0\.2\.2" duplicates peers\[0\]/],
    [set('--local', 'nope'), /local: "nope"/],
    [ov.filter((x, i) => x !== '--dev' && ov[i - 1] !== '--dev'), /--dev is required/],
    [set('--dev', 'nosuch0'), /underlay device 'nosuch0' does not exist/],
    [['bridge', 'br0', '--address', '10.0.0.1'], /address: "10\.0\.0\.1" has no prefix/],
    [['bridge', 'br0', '--stp', 'maybe'], /--stp must be 'on' or 'off', not 'maybe'/],
  ];
  for (const [args, msg] of cases) {
    const r = await cli(A.ns, ...args);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, msg, `${args.join(' ')}: names the value`);
  }
  const f = file('bad', { overlays: [{ name: 'vx1', vni: 0, dev: 'eth0', local: A.ip, peers: [] }] });
  const r = await cli(A.ns, 'apply', f, '--json');
  t.equal(r.code, 2);
  t.equal(JSON.parse(r.stdout).error.field, 'overlays[0].vni');
  t.match(r.stderr, /overlays\[0\]\.vni: 0/);
  t.same(await linkNames(A.h), before, 'nothing was created');
});

t.test('bridge and overlay commands: idempotent, the MTU trap refused or fixed on request, delete only ours', async (t) => {
  const lab = await Lab.create();
  t.teardown(() => lab.close());
  const A = await lab.host();
  let r = await cli(A.ns, 'bridge', 'br9', '--address', '10.9.0.1/24', '--stp', 'off');
  t.equal(r.code, 0, r.stderr);
  r = await cli(A.ns, 'bridge', 'br9', '--address', '10.9.0.1/24', '--stp', 'off', '-v');
  t.match(r.stdout, /already as declared/, 'a second ensure changes nothing');
  // A 1500 port on the bridge: the overlay (1450) would trap it.
  await A.h.link.add({ kind: 'veth', name: 'big0', mtu: 1500, master: 'br9', up: true, peer: { name: 'big1', mtu: 1500 } });
  const ov = ['overlay', 'vx9', '--vni', '9', '--dev', 'eth0', '--local', A.ip, '--peers', '192.0.2.2', '--bridge', 'br9'];
  r = await cli(A.ns, ...ov);
  t.equal(r.code, 6, 'the MTU trap is refused');
  t.match(r.stderr, /MTU trap: big0 \(mtu 1500\) on bridge br9 is larger than overlay vx9 \(mtu 1450\)/);
  t.equal(await A.h.link.find('vx9'), null, 'nothing was created');
  r = await cli(A.ns, ...ov, '--fix-mtu', '--json');
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout).mtuFixed, [{ name: 'big0', mtu: 1500, to: 1450 }], 'fixed only when asked, and said');
  t.equal((await A.h.link.get('big0')).mtu, 1450);
  r = await cli(A.ns, ...ov, '-v');
  t.match(r.stdout, /already as declared, flooding to 192\.0\.2\.2 \(nothing changed\)/);
  r = await cli(A.ns, ...ov.map((x) => (x === '192.0.2.2' ? '192.0.2.3,192.0.2.4' : x)), '--json');
  const d = JSON.parse(r.stdout);
  t.same([d.added, d.removed], [['192.0.2.3', '192.0.2.4'], ['192.0.2.2']], 'the flood list is replaced in one apply');
  r = await cli(A.ns, 'overlay', 'vx9', '--delete');
  t.equal(r.code, 0);
  t.equal(await A.h.link.find('vx9'), null, 'deleted');
  r = await cli(A.ns, 'overlay', 'vx9', '--delete', '-v');
  t.equal(r.code, 0, 'deleting again is not an error');
  t.match(r.stdout, /not there/);
  await A.h.link.del('big0');
  await A.h.link.del('br9');
});

t.test('stp changes in place on a bridge pipewright made (ports stay); a foreign bridge is refused and left as it is', async (t) => {
  const lab = await Lab.create();
  t.teardown(() => lab.close());
  const A = await lab.host();
  let r = await cli(A.ns, 'bridge', 'br7', '--address', '10.7.0.1/24', '--stp', 'off');
  t.equal(r.code, 0, r.stderr);
  await A.h.link.add({ kind: 'veth', name: 'port7', master: 'br7', up: true, peer: { name: 'port7p' } });
  const index = (await A.h.link.get('br7')).index;
  r = await cli(A.ns, 'bridge', 'br7', '--stp', 'on', '--dry-run');
  t.match(r.stdout, /would set bridge br7 stp off → on/, 'the dry run says what would change');
  t.equal((await A.h.link.get('br7')).bridge?.stp, false, 'and changes nothing');
  r = await cli(A.ns, 'bridge', 'br7', '--stp', 'on', '--json');
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout).adjusted, ['stp off → on']);
  const br = await A.h.link.get('br7');
  t.equal(br.bridge?.stp, true, 'stp is on');
  t.equal(br.index, index, 'the same bridge, changed in place');
  t.equal((await A.h.link.get('port7')).master, index, 'its port is still enslaved');
  t.same((await A.h.addr.list({ dev: 'br7', family: 4 })).map((x) => `${x.address}/${x.prefixLen}`), ['10.7.0.1/24'], 'its address is kept');
  r = await cli(A.ns, 'bridge', 'br7', '--stp', 'on', '-v');
  t.match(r.stdout, /already as declared/, 'converged');
  r = await cli(A.ns, 'bridge', 'br7', '--stp', 'off');
  t.equal(r.code, 0, r.stderr);
  t.equal((await A.h.link.get('br7')).bridge?.stp, false, 'and back off');

  // A topology file's changed stp converges the same way: in place, one re-apply.
  const topo = (stp: boolean) => ({ name: 'stp6', bridges: [{ name: 'br6', stp }] });
  await applyTopology(topo(false), { host: A.h });
  const br6 = (await A.h.link.get('br6')).index;
  const re = await applyTopology(topo(true), { host: A.h });
  t.same(re.bridges[0]?.adjusted, ['stp off → on'], 'the re-apply changes stp only');
  t.same([(await A.h.link.get('br6')).bridge?.stp, (await A.h.link.get('br6')).index], [true, br6], 'on the same bridge');
  t.equal((await applyTopology(topo(true), { host: A.h })).changed, false, 'and then has nothing to do');
  await applyTopology({ name: 'stp6' }, { host: A.h });
  t.equal(await A.h.link.find('br6'), null, 'an emptied topology removes it');

  await A.h.link.add({ kind: 'bridge', name: 'foreign7', up: true, stp: false });
  r = await cli(A.ns, 'bridge', 'foreign7', '--stp', 'on');
  t.equal(r.code, 6, 'a foreign bridge is not changed');
  t.match(r.stderr, /not pipewright's .*stp is off/);
  t.equal((await A.h.link.get('foreign7')).bridge?.stp, false, 'its stp is as it was');
  await A.h.link.del('port7');
  await A.h.link.del('br7');
  await A.h.link.del('foreign7');
});
