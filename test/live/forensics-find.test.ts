// findIp / findMac / findIfname against a planted duplicate: the same IP in
// two namespaces (one of them held only by a mount in another mount
// namespace, as in FIELD-NOTES §3) is a conflict, and each copy names the
// holder that leads to it.
import t from 'tap';
import { Handle, Netns } from '../../lib';
import { findIfname, findIp, findMac, scanNamespaces } from '../../lib/ops/forensics';
import { uniqueName } from '../helpers/scene';
import { foreignMountOf, processInNewNetns } from '../helpers/forensics';

// An address no other test uses, varied by pid so parallel runs never collide.
const octet = (process.pid % 200) + 20;
const DUP = `10.249.${octet}.15`;
const UNIQUE = `10.249.${octet}.16`;
const V6 = `fd00:249:${octet.toString(16)}::15`;

t.test('an address in two namespaces is a conflict, with each holder named', async (t) => {
  const name = uniqueName('find');
  const named = await Netns.create({ name });
  t.teardown(() => named.delete());
  const hn = await Handle.open(named);
  t.teardown(() => hn.close());
  await hn.link.set('lo', { up: true });
  await hn.link.add({ kind: 'veth', name: 'web0', peer: { name: 'web1' }, address: '02:00:00:f1:00:01' });
  await hn.link.set('web0', { up: true });
  await hn.addr.add('web0', `${DUP}/24`);
  await hn.addr.add('web0', `${V6}/64`);
  await hn.addr.add('web1', `${UNIQUE}/24`);

  // The ghost: a container's namespace, its process gone, kept by a mount elsewhere.
  const proc = await processInNewNetns();
  const hg = await Handle.open({ pid: proc.pid });
  await hg.link.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth9' }, address: '02:00:00:f1:00:02' });
  await hg.addr.add('eth0', `${DUP}/24`);
  await hg.close();
  const mount = await foreignMountOf(proc.pid);
  t.teardown(() => mount.cleanup());
  await proc.kill();

  const scan = await scanNamespaces({ all: true, detail: true });
  const dup = await findIp(DUP, { scan });
  t.equal(dup.query, DUP);
  t.equal(dup.conflict, true, 'reported as a conflict');
  t.equal(dup.matches.length, 2);
  const inNamed = dup.matches.find((m) => m.netns === named.id);
  const inGhost = dup.matches.find((m) => m.netns === proc.id);
  t.match(inNamed, { ifname: 'web0', prefixLen: 24, names: [`/run/netns/${name}`], via: `name /run/netns/${name}` });
  t.match(inGhost, { ifname: 'eth0', names: [], flags: { orphan: true, unreachableFromHere: true } });
  t.match(inGhost!.via, `mount ${mount.mountPoint} in mnt:[`, 'the ghost copy names the mount that holds it');
  t.equal(inGhost!.path, `/proc/${mount.pid}/root${mount.mountPoint}`, 'and a path that enters it');

  const one = await findIp(`${UNIQUE}/24`, { scan });
  t.same([one.conflict, one.matches.map((m) => [m.netns, m.ifname])], [false, [[named.id, 'web1']]], 'a prefix in the query is ignored; one copy is no conflict');

  const v6 = await findIp(V6.toUpperCase().replace('::', ':0:0:0:0:'), { scan });
  t.same(v6.matches.map((m) => m.address), [V6], 'IPv6 is compared in normal form');

  const lo = await findIp('127.0.0.1', { scan });
  t.equal(lo.conflict, false, 'loopback everywhere is no conflict');
  t.ok(lo.namespaces.includes(named.id));

  const none = await findIp(`10.249.${octet}.250`, { scan });
  t.same([none.matches, none.conflict], [[], false], 'an address nobody has');

  const mac = await findMac('02:00:00:F1:00:02', { scan });
  t.same(mac.matches.map((m) => [m.netns, m.ifname, m.mac]), [[proc.id, 'eth0', '02:00:00:f1:00:02']], 'a MAC, case-insensitive');

  const ifn = await findIfname('web1', { scan });
  t.ok(ifn.matches.some((m) => m.netns === named.id && m.ifname === 'web1'));
  t.equal(ifn.conflict, false, 'names are never conflicts');

  await t.rejects(findIp('10.0.0.300'), { code: 'ERR_PW_INVALID_ARGUMENT' });
  await t.rejects(findMac('zz:00:00:00:00:00'), { code: 'ERR_PW_INVALID_ARGUMENT' });

  // Without a scan passed in, findIp scans by itself.
  t.equal((await findIp(DUP)).conflict, true);
});
