// The CNI plugin driven as a runtime drives it (env + stdin, one process per
// call) with the reference host-local and static IPAM plugins: every verb in
// every version, idempotence, CHECK's findings, DEL's idempotence, and bad
// input refused with the spec's error JSON and nothing left behind.
import t from 'tap';
import { withScene, type Scene } from '../helpers/scene';
import { cniSkipReason, hostLocalConf, leases, netnsPath, pluginDir, records, runCni, type PluginDir } from '../helpers/cni';
import { netnsCookie, readEntries, sameHost } from '../../lib/ops/ownership';
import { recordFile } from '../../lib/ops/cni/store';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The journal's entries for this scene's host namespace. The journal is shared
 * with the test files running beside this one, and a namespace's inode is
 * reused once it is freed (the kernel gives out the lowest free one): another
 * file's stale entry may name this scene's host and guest by dev:ino alike.
 * Its cookie (never reused) tells them apart, as the product's matching does
 * (lib/ops/ownership/cookie.ts).
 */
async function ours(s: Scene) {
  const cookie = await netnsCookie(s.host);
  return (await readEntries()).filter((e) => e.entry.hostNetns === s.hostNs.id && sameHost(e.entry, cookie));
}

const skip = cniSkipReason();
if (skip) t.plan(0, skip);

async function setup(s: Scene): Promise<{ p: PluginDir; g: Awaited<ReturnType<Scene['guest']>>; call: (command: string, conf: string | object, over?: object) => ReturnType<typeof runCni> }> {
  const p = pluginDir();
  s.defer(async () => p.remove());
  const g = await s.guest();
  const call = (command: string, conf: string | object, over: object = {}) => runCni(s.hostNs, p.dir, { command, containerId: 'ctr1', netns: netnsPath(g.ns), ifname: 'eth0', ...over }, conf);
  return { p, g, call };
}

for (const version of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
  t.test(`ADD, CHECK, DEL with host-local, cniVersion ${version}`, (t) =>
    withScene(t, async (s) => {
      const { p, g, call } = await setup(s);
      const conf = hostLocalConf(p, { cniVersion: version });
      const add = await call('ADD', conf);
      t.equal(add.code, 0, `ADD succeeds: ${add.stdout}${add.stderr}`);
      t.equal(add.stderr, '', 'nothing on stderr');
      const r = add.json as { cniVersion: string; interfaces: Array<Record<string, unknown>>; ips: Array<Record<string, unknown>>; routes: unknown[] };
      t.equal(r.cniVersion, version, 'the result is in the configuration\'s version');
      t.same(r.interfaces.map((i) => i.name).slice(0, 1), ['cni0'], 'the bridge first');
      t.equal(r.interfaces[2]!.name, 'eth0');
      t.equal(r.interfaces[2]!.sandbox, netnsPath(g.ns), 'the container end names its sandbox');
      t.match(r.interfaces[1]!.mac, /^[0-9a-f:]{17}$/, 'the host end has its MAC');
      t.equal('mtu' in r.interfaces[2]!, version === '1.1.0', 'interface mtu only in 1.1.0');
      t.same(r.ips, [{ ...(version < '1.0.0' ? { version: '4' } : {}), interface: 2, address: '10.88.7.2/24', gateway: '10.88.7.1' }], 'the address from host-local, with its interface index');
      t.same(r.routes, [{ dst: '0.0.0.0/0', gw: '10.88.7.1' }]);
      // The kernel, as the result says.
      const guest = await g.handle.link.get('eth0');
      t.equal(guest.address, r.interfaces[2]!.mac);
      t.same((await g.handle.addr.list({ dev: 'eth0', family: 4 })).map((a) => `${a.address}/${a.prefixLen}`), ['10.88.7.2/24']);
      t.ok((await g.handle.route.list({ family: 4 })).some((x) => x.dst === 'default' && x.gateway === '10.88.7.1'), 'default route via the gateway');
      const br = await s.host.link.get('cni0');
      const he = await s.host.link.get(r.interfaces[1]!.name as string);
      t.equal(he.master, br.index, 'host end enslaved');
      t.ok(he.up, 'host end up');
      t.same((await s.host.addr.list({ dev: 'cni0', family: 4 })).map((a) => a.address), ['10.88.7.1'], 'isGateway: the bridge holds the gateway');
      t.same(leases(p.ipamDir, 'pwnet'), ['10.88.7.2'], 'one lease');
      if (version >= '0.4.0') {
        const check = await call('CHECK', { ...conf, prevResult: r });
        t.equal(check.code, 0, `CHECK passes: ${check.stdout}`);
        t.equal(check.stdout, '', 'CHECK prints nothing');
      } else {
        const check = await call('CHECK', { ...conf, prevResult: r });
        t.equal(check.json?.code, 1, `CHECK is refused for ${version} (code 1)`);
      }
      const del = await call('DEL', { ...conf, prevResult: r });
      t.equal(del.code, 0, `DEL succeeds: ${del.stdout}`);
      t.equal(del.stdout, '', 'DEL prints nothing');
      t.equal(await g.handle.link.find('eth0'), null, 'the container end is gone');
      t.equal(await s.host.link.find(he.index), null, 'the host end is gone');
      t.same(leases(p.ipamDir, 'pwnet'), [], 'the lease is released');
      t.same(records('pwnet'), [], 'no record left');
      const again = await call('DEL', conf);
      t.equal(again.code, 0, 'DEL again succeeds');
    }));
}

t.test("ADD announces the container's address: the gateway drops a fresh stale MAC for it at once", (t) =>
  withScene(t, async (s) => {
    const { p, call } = await setup(s);
    const conf = hostLocalConf(p);
    const first = await call('ADD', conf);
    t.equal(first.code, 0, `the first ADD makes cni0: ${first.stdout}`);
    // A bridge whose MAC follows its ports would change it (and flush its
    // neighbours) as ports join: give it its own. Then the host holds a
    // stale MAC for the address host-local hands out next, cached just now
    // (inside the kernel's 1 s locktime): only a gratuitous ARP replaces it.
    await s.host.link.set('cni0', { address: '02:00:00:00:b0:07' });
    const OLD_MAC = '02:00:00:00:00:99';
    await s.host.neigh.replace({ dev: 'cni0', address: '10.88.7.3', lladdr: OLD_MAC, state: 'stale' });
    const g2 = await s.guest();
    const second = await runCni(s.hostNs, p.dir, { command: 'ADD', containerId: 'ctr2', netns: netnsPath(g2.ns), ifname: 'eth0' }, conf);
    t.equal(second.code, 0, `the second ADD: ${second.stdout}`);
    t.equal((second.json as { ips: Array<{ address: string }> }).ips[0]!.address, '10.88.7.3/24', 'the address the host held a stale MAC for');
    const mac = (await g2.handle.link.get('eth0')).address!;
    // Waits for the state (the ARP is sent before ADD answers; its receipt is the host kernel's, a moment later), bounded.
    let cached: string | null = null;
    for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
      cached = (await s.host.neigh.list({ dev: 'cni0', family: 4 })).find((n) => n.address === '10.88.7.3')?.lladdr ?? null;
      if (cached === mac) break;
    }
    t.equal(cached, mac, "the host caches the container's MAC");
    t.equal((await runCni(s.hostNs, p.dir, { command: 'DEL', containerId: 'ctr2', netns: netnsPath(g2.ns), ifname: 'eth0' }, conf)).code, 0, 'DEL the second');
    t.equal((await call('DEL', conf)).code, 0, 'DEL the first');
  }));

t.test('ADD run again for the same container and interface returns the same attachment', (t) =>
  withScene(t, async (s) => {
    const { p, call } = await setup(s);
    const conf = hostLocalConf(p);
    const a = await call('ADD', conf);
    // Its attach journal entry was completed while the container's settings went on, and before the answer.
    const hostEnd = (a.json?.interfaces as Array<{ name: string }> | undefined)?.[1]?.name;
    t.same((await ours(s)).filter((e) => e.entry.hostEnd === hostEnd).map((e) => e.entry.state), ['complete'], `the journal entry of ${hostEnd} is complete when ADD answers`);
    const b = await call('ADD', conf);
    t.equal(b.code, 0);
    t.same(b.json, a.json, 'the same result');
    t.same(leases(p.ipamDir, 'pwnet'), ['10.88.7.2'], 'still one lease');
    t.equal((await s.host.link.list({ master: 'cni0' })).length, 1, 'one port');
    await call('DEL', conf);
  }));

t.test('static IPAM: two addresses and a route with its own gateway, dns from the config', (t) =>
  withScene(t, async (s) => {
    const { g, call } = await setup(s);
    const conf = {
      cniVersion: '1.0.0', name: 'stat', type: 'pipewright', bridge: 'brstat',
      dns: { nameservers: ['10.9.0.53'], search: ['example.test'] },
      ipam: { type: 'static', addresses: [{ address: '10.9.0.5/24', gateway: '10.9.0.1' }, { address: 'fd00:9::5/64' }], routes: [{ dst: '10.50.0.0/16', gw: '10.9.0.254' }] },
    };
    const add = await call('ADD', conf);
    t.equal(add.code, 0, add.stdout);
    const r = add.json as { ips: Array<{ address: string; interface: number }>; dns: unknown };
    t.same(r.ips.map((i) => [i.address, i.interface]), [['10.9.0.5/24', 2], ['fd00:9::5/64', 2]]);
    t.same(r.dns, { nameservers: ['10.9.0.53'], search: ['example.test'] }, 'dns from the configuration');
    const addrs = (await g.handle.addr.list({ dev: 'eth0' })).map((a) => `${a.address}/${a.prefixLen}`);
    t.ok(addrs.includes('10.9.0.5/24') && addrs.includes('fd00:9::5/64'), `both addresses: ${addrs}`);
    t.ok((await g.handle.route.list({ family: 4 })).some((x) => x.dst === '10.50.0.0' && x.dstLen === 16 && x.gateway === '10.9.0.254'), 'the route');
    t.equal((await call('CHECK', { ...conf, prevResult: r })).code, 0, 'CHECK passes');
    t.equal((await call('DEL', { ...conf, prevResult: r })).code, 0);
    t.equal(await g.handle.link.find('eth0'), null);
  }));

t.test('CHECK says what is wrong: port released, link down, address missing, interface gone', (t) =>
  withScene(t, async (s) => {
    const { p, g, call } = await setup(s);
    const conf = hostLocalConf(p);
    const r = (await call('ADD', conf)).json as { interfaces: Array<{ name: string }> };
    const hostEnd = r.interfaces[1]!.name;
    const check = () => call('CHECK', { ...conf, prevResult: r });

    await s.host.link.set(hostEnd, { master: null });
    let c = await check();
    t.equal(c.json?.code, 101, 'verification failed code');
    t.match(c.json?.msg, `port released: host end ${hostEnd} is not enslaved to any bridge, not to cni0`);
    await s.host.link.set(hostEnd, { master: 'cni0' });
    t.equal((await check()).code, 0, 'passes once put back');

    await s.host.link.set(hostEnd, { up: false });
    c = await check();
    t.match(c.json?.msg, `link down: host end ${hostEnd} is down`);
    await s.host.link.set(hostEnd, { up: true });

    await g.handle.addr.del('eth0', '10.88.7.2/24');
    c = await check();
    t.match(c.json?.msg, 'address missing: 10.88.7.2/24 is not on eth0');
    t.match(c.json?.msg, 'route missing: 0.0.0.0/0 via 10.88.7.1', 'the default route went with the address');

    await g.handle.link.del('eth0');
    c = await check();
    t.match(c.json?.msg, 'interface eth0 is missing from the container');
    const missing = await call('CHECK', conf);
    t.equal(missing.json?.code, 7, 'CHECK without prevResult: invalid configuration');
    t.match(missing.json?.msg, 'prevResult');
    t.equal((await call('DEL', conf)).code, 0);
    t.same(leases(p.ipamDir, 'pwnet'), []);
  }));

t.test('DEL succeeds when the namespace is gone, and when the IPAM plugin is gone', (t) =>
  withScene(t, async (s) => {
    const { p, call } = await setup(s);
    const conf = hostLocalConf(p);
    const g2 = await s.guest({ named: true });
    const path2 = `/run/netns/${(g2.ns as unknown as { name: string }).name}`;
    const r = (await call('ADD', conf, { containerId: 'ctr2', netns: path2 })).json as { interfaces: Array<{ name: string }> };
    const hostEnd = r.interfaces[1]!.name;
    // The container's namespace goes; its host end goes with it (asynchronously).
    await g2.handle.close();
    s.guests.splice(s.guests.indexOf(g2), 1);
    await g2.ns.delete({ wait: true });
    const del = await call('DEL', conf, { containerId: 'ctr2', netns: path2 });
    t.equal(del.code, 0, `DEL with the namespace gone: ${del.stdout}`);
    t.equal(await s.host.link.find(hostEnd), null);
    t.same(leases(p.ipamDir, 'pwnet'), [], 'the lease is released');

    await call('ADD', conf);
    t.same(leases(p.ipamDir, 'pwnet').length, 1);
    const noIpam = await call('DEL', { ...conf, ipam: { ...(conf.ipam as object), type: 'no-such-ipam' } });
    t.equal(noIpam.code, 0, `DEL with the IPAM plugin gone: ${noIpam.stdout}`);
    t.equal(await s.host.link.find('cni0').then((b) => b && s.host.link.list({ master: b.index })).then((l) => l?.length ?? 0), 0, 'the port is gone');
    t.same(records('pwnet'), []);
  }));

t.test('bad input: the spec\'s error JSON naming the field, nothing left in the kernel or the IPAM store', (t) =>
  withScene(t, async (s) => {
    const { p, g, call } = await setup(s);
    const conf = hostLocalConf(p);
    const cases: Array<[string, Promise<Awaited<ReturnType<typeof runCni>>>, number, string]> = [
      ['bad JSON', call('ADD', '{"cniVersion": '), 6, 'failed to decode the network configuration'],
      ['empty stdin', call('ADD', ''), 6, 'failed to decode'],
      ['unknown cniVersion', call('ADD', { ...conf, cniVersion: '9.9.9' }), 1, 'cniVersion "9.9.9" is not supported'],
      ['no cniVersion', call('ADD', { ...conf, cniVersion: undefined }), 7, 'cniVersion: (missing) is required'],
      ['unknown field', call('ADD', { ...conf, brdige: 'x' }), 2, 'brdige: "x" is not a field pipewright knows'],
      ['ipMasq', call('ADD', { ...conf, ipMasq: true }), 2, 'ipMasq: true is not done by pipewright'],
      ['hairpinMode', call('ADD', { ...conf, hairpinMode: true }), 2, 'hairpinMode: true is not supported yet'],
      ['vlan', call('ADD', { ...conf, vlan: 100 }), 2, 'vlan: 100 is not supported'],
      ['bad bridge name', call('ADD', { ...conf, bridge: 'a-bridge-name-too-long' }), 7, 'bridge: "a-bridge-name-too-long"'],
      ['bad mtu', call('ADD', { ...conf, mtu: 20 }), 7, 'mtu: 20'],
      ['bad name', call('ADD', { ...conf, name: '-net' }), 7, 'name: "-net" must be a network name'],
      ['isGateway not a boolean', call('ADD', { ...conf, isGateway: 'yes' }), 7, 'isGateway: "yes" must be true or false'],
      ['ipam without type', call('ADD', { ...conf, ipam: { subnet: '10.0.0.0/24' } }), 7, 'ipam.type'],
      ['missing CNI_COMMAND', runCni(s.hostNs, p.dir, { command: '', env: { CNI_PATH: p.dir } }, conf), 4, 'CNI_COMMAND is required'],
      ['unknown CNI_COMMAND', call('FROB', conf), 4, 'CNI_COMMAND="FROB" is not a CNI verb'],
      ['missing CNI_NETNS', call('ADD', conf, { netns: undefined }), 4, 'CNI_NETNS is required for ADD'],
      ['missing CNI_CONTAINERID', call('ADD', conf, { containerId: undefined }), 4, 'CNI_CONTAINERID is required for ADD'],
      ['bad CNI_IFNAME', call('ADD', conf, { ifname: 'eth0/x' }), 4, 'CNI_IFNAME="eth0/x" is not a valid interface name'],
      ['relative CNI_PATH', call('ADD', conf, { path: 'bin' }), 4, "CNI_PATH=\"bin\" holds a relative directory 'bin'"],
      ['netns missing', call('ADD', conf, { netns: '/run/netns/no-such-ns' }), 3, 'CNI_NETNS="/run/netns/no-such-ns" cannot be used'],
      ['IPAM plugin missing', call('ADD', { ...conf, ipam: { type: 'no-such-ipam' } }), 7, 'failed to find plugin "no-such-ipam"'],
      ['bad prevResult', call('ADD', { ...conf, prevResult: { ips: [{ address: '10.0.0.300/24' }] } }), 6, 'failed to decode prevResult: ips[0].address'],
      ['GC before 1.1.0', call('GC', { ...conf, cniVersion: '1.0.0' }), 1, 'GC needs cniVersion 1.1.0'],
      ['STATUS before 1.1.0', call('STATUS', { ...conf, cniVersion: '0.4.0' }), 1, 'STATUS needs cniVersion 1.1.0'],
      ['GC without valid-attachments', call('GC', conf), 7, 'cni.dev/valid-attachments'],
    ];
    for (const [what, run, code, msg] of cases) {
      const r = await run;
      t.not(r.code, 0, `${what}: exits non-zero`);
      t.equal(r.json?.code, code, `${what}: code ${code} (${r.stdout.trim()})`);
      t.match(r.json?.msg, msg, `${what}: the message names it`);
      t.ok(typeof r.json?.cniVersion === 'string', `${what}: cniVersion in the error`);
    }
    t.equal(await s.host.link.find('cni0'), null, 'no bridge was created');
    t.same(leases(p.ipamDir, 'pwnet'), [], 'no lease');
    t.same(records('pwnet'), [], 'no record');
    t.same((await g.handle.link.list()).map((l) => l.name), ['lo'], 'nothing in the container');
  }));

t.test('a failing ADD leaves nothing: the interface name taken, the subnet exhausted, an address IPAM got wrong', (t) =>
  withScene(t, async (s) => {
    const { p, g, call } = await setup(s);
    const conf = hostLocalConf(p);
    await g.handle.link.add({ kind: 'dummy' as never, name: 'eth0' } as never).catch(async () => {
      // No dummy kind in the API: a veth pair inside the container holds the name.
      await g.handle.link.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0p' } });
    });
    const taken = await call('ADD', conf);
    t.equal(taken.code, 1);
    t.ok((taken.json?.code ?? 0) >= 100, `a pipewright code: ${taken.stdout}`);
    t.match(taken.json?.msg, 'eth0');
    t.equal(await s.host.link.find('cni0'), null, 'the bridge it created is gone again');
    t.same(leases(p.ipamDir, 'pwnet'), [], 'the lease was released (IPAM DEL)');
    t.same(records('pwnet'), []);
    t.ok(await g.handle.link.find('eth0'), 'the interface that was there is untouched');

    // A /30 has two host addresses: the gateway's and one.
    const small = hostLocalConf(p, { name: 'small' }, { subnet: '10.77.0.0/30' });
    const g2 = await s.guest();
    const ok = await runCni(s.hostNs, p.dir, { command: 'ADD', containerId: 'c-ok', netns: netnsPath(g2.ns), ifname: 'eth1' }, small);
    t.equal(ok.code, 0, ok.stdout);
    const full = await call('ADD', small, { ifname: 'eth1' });
    t.not(full.code, 0, 'the subnet is exhausted');
    t.match(full.json?.msg, 'host-local');
    t.equal(await g.handle.link.find('eth1'), null, 'no interface made');
    t.same(leases(p.ipamDir, 'small'), ['10.77.0.2'], 'only the first lease');
    t.equal((await s.host.link.list({ master: 'cni0' })).length, 1, 'one port on the bridge');

    // IPAM answers an address no interface may hold (its subnet's broadcast).
    // The bridge exists, so the attachment was made beside IPAM: its step
    // that adds the addresses fails, and all of it is rolled back. The error
    // is the address's (invalid configuration, 7), not the attach's.
    const bad = { ...hostLocalConf(p, { name: 'badip' }), ipam: { type: 'static', addresses: [{ address: '10.9.0.255/24' }] } };
    const broadcast = await call('ADD', bad, { ifname: 'eth2' });
    t.not(broadcast.code, 0, 'an address that is its subnet\'s broadcast fails the ADD');
    t.match(broadcast.json?.msg, /^ips\[0\]\.address.*broadcast/, `the field and why: ${broadcast.stdout}`);
    t.equal(broadcast.json?.code, 7, 'invalid configuration');
    t.equal(await g.handle.link.find('eth2'), null, 'no interface left in the container');
    t.equal((await s.host.link.list({ master: 'cni0' })).length, 1, 'no host end left on the bridge');
    t.same(records('badip'), [], 'no record left');
    // The attach's journal entry was being completed while the addresses went on: the rollback came after that write.
    t.same((await ours(s)).filter((e) => e.entry.guestNetns === g.ns.id && e.entry.guestIf === 'eth2').map((e) => e.entry.state), [], 'no journal entry left for it');
    await runCni(s.hostNs, p.dir, { command: 'DEL', containerId: 'c-ok', netns: netnsPath(g2.ns), ifname: 'eth1' }, small);
  }));

t.test("an ADD whose record cannot be written changes nothing: no lease, no bridge, no interface, no journal entry", (t) =>
  withScene(t, async (s) => {
    const { p, g, call } = await setup(s);
    const conf = hostLocalConf(p, { name: 'norec' });
    // A directory where the record's file goes: listed, it is not a record (not a regular file); written over, the rename fails.
    const blocker = join(process.env.PW_STATE_DIR ?? '/run/pipewright', 'cni', recordFile('norec', 'ctr1', 'eth0'));
    mkdirSync(blocker, { recursive: true });
    s.defer(async () => rmdirSync(blocker));
    const add = await call('ADD', conf);
    t.not(add.code, 0, `the ADD fails: ${add.stdout}`);
    t.equal(add.json?.code, 5, "CNI's I/O failure, not the kernel's refusal");
    t.match(add.json?.msg, /state on disk.*Is a directory/, 'the message says what and why');
    t.notMatch(add.json?.details ?? '', /rollback failed/, 'nothing needed undoing');
    t.equal(await s.host.link.find('cni0'), null, 'no bridge was made');
    t.same(leases(p.ipamDir, 'norec'), [], 'IPAM was never asked');
    t.same((await g.handle.link.list()).map((l) => l.name), ['lo'], 'nothing in the container');
    t.same((await ours(s)).filter((e) => e.entry.guestNetns === g.ns.id), [], "the attach's journal entry, written meanwhile, is gone");
    // With the bridge already there (the attach then runs beside the record's write, up to its first change).
    await s.host.link.add({ kind: 'bridge', name: 'cni0', up: true });
    const again = await call('ADD', conf);
    t.not(again.code, 0, 'fails again');
    t.same((await s.host.link.list({ master: 'cni0' })).map((l) => l.name), [], 'no port on the bridge');
    t.same((await g.handle.link.list()).map((l) => l.name), ['lo'], 'nothing in the container');
    t.same((await ours(s)).filter((e) => e.entry.guestNetns === g.ns.id), [], 'no journal entry');
    t.same(leases(p.ipamDir, 'norec'), [], 'no lease');
    await s.host.link.del('cni0');
  }));

t.test('VERSION and STATUS', (t) =>
  withScene(t, async (s) => {
    const { p, call } = await setup(s);
    const v = await call('VERSION', { cniVersion: '1.0.0' });
    t.same(v.json, { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    const conf = hostLocalConf(p);
    const ready = await call('STATUS', conf);
    t.equal(ready.code, 0, `ready: ${ready.stdout}`);
    t.equal(ready.stdout, '');
    const noIpam = await call('STATUS', { ...conf, ipam: { type: 'no-such-ipam' } });
    t.equal(noIpam.json?.code, 50);
    t.match(noIpam.json?.msg, 'IPAM plugin "no-such-ipam" is not in CNI_PATH');
    await s.host.link.add({ kind: 'veth', name: 'cni0', peer: { name: 'cni0p' } });
    const notBridge = await call('STATUS', conf);
    t.equal(notBridge.json?.code, 50);
    t.match(notBridge.json?.msg, '"cni0" exists and is a veth, not a bridge');
    const add = await call('ADD', conf);
    t.equal(add.json?.code, 102, 'ADD refuses a non-bridge too');
    t.same(leases(p.ipamDir, 'pwnet'), [], 'and releases its lease');
    await s.host.link.del('cni0');
  }));
