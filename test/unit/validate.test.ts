// Bad input is refused before anything is sent, with a code, the field and the value.
import t, { type Test } from 'tap';
import * as v from '../../lib/core/validate';
import { linkAddArgs, linkSetArgs } from '../../lib/core/api/link';
import { addrArgs } from '../../lib/core/api/addr';
import { routeArgs } from '../../lib/core/api/route';
import { ruleArgs } from '../../lib/core/api/rule';
import { fdbArgs, neighArgs } from '../../lib/core/api/neigh';
import { PipewrightError } from '../../lib/core/errors';

function rejects(t: Test, fn: () => unknown, field: string, msg: string) {
  try {
    fn();
    t.fail(`${msg}: accepted`);
  } catch (e) {
    t.ok(e instanceof PipewrightError, `${msg}: a PipewrightError`);
    t.equal((e as PipewrightError).code, 'ERR_PW_INVALID_ARGUMENT', `${msg}: code`);
    t.equal((e as PipewrightError).field, field, `${msg}: names the field`);
    t.match((e as Error).message, field, `${msg}: message names the field`);
  }
}

t.test('interface names', async (t) => {
  t.equal(v.ifname('name', 'eth0'), 'eth0');
  t.equal(v.ifname('name', 'a'.repeat(15)), 'a'.repeat(15), '15 bytes is the maximum');
  rejects(t, () => v.ifname('name', 'a'.repeat(16)), 'name', '16 bytes');
  rejects(t, () => v.ifname('name', 'vethé'.repeat(3)), 'name', 'multi-byte characters count as bytes');
  rejects(t, () => v.ifname('name', ''), 'name', 'empty');
  rejects(t, () => v.ifname('name', '.'), 'name', "'.'");
  rejects(t, () => v.ifname('name', '..'), 'name', "'..'");
  rejects(t, () => v.ifname('name', 'a/b'), 'name', 'slash');
  rejects(t, () => v.ifname('name', 'a b'), 'name', 'space');
  rejects(t, () => v.ifname('name', 'a\tb'), 'name', 'tab');
  rejects(t, () => v.ifname('name', 'eth0:1'), 'name', 'colon');
  rejects(t, () => v.ifname('name', 5), 'name', 'not a string');
  try {
    v.ifname('peer.name', 'this-name-is-too-long');
  } catch (e) {
    t.match((e as Error).message, /21 bytes long; interface names are at most 15 bytes/, 'says why');
    t.equal((e as PipewrightError).value, 'this-name-is-too-long', 'carries the value');
  }
});

t.test('addresses and prefixes', async (t) => {
  t.same(v.cidr('address', '10.0.0.3/24'), { family: 4, address: '10.0.0.3', prefixLen: 24 });
  t.same(v.cidr('address', '2001:DB8::1/64'), { family: 6, address: '2001:db8::1', prefixLen: 64 });
  t.same(v.cidr('dst', '10.1.2.3', { 4: 32, 6: 128 }), { family: 4, address: '10.1.2.3', prefixLen: 32 });
  rejects(t, () => v.cidr('address', '10.0.0.3'), 'address', 'no prefix');
  rejects(t, () => v.cidr('address', '10.0.0.3/33'), 'address', 'prefix too long');
  rejects(t, () => v.cidr('address', '10.0.0.3/'), 'address', 'empty prefix');
  rejects(t, () => v.cidr('address', '10.0.0.3/2a'), 'address', 'non-numeric prefix');
  rejects(t, () => v.cidr('address', '::1/129'), 'address', 'v6 prefix too long');
  rejects(t, () => v.cidr('address', '10.0.0.256/24'), 'address', 'octet out of range');
  rejects(t, () => v.cidr('address', '10.1/16'), 'address', 'short IPv4 forms');
  rejects(t, () => v.ip('gateway', '10'), 'gateway', 'a bare number');
  rejects(t, () => v.ip('gateway', 'fe80::1', 4), 'gateway', 'wrong family');
  t.equal(v.ip('x', '::ffff:10.0.0.1').family, 6);
  // ipaddr.js reads these as IPv4 addresses; nobody writing a guest's
  // address means them, so only four decimal parts are taken.
  for (const odd of ['010.0.0.1', '0x0a.0.0.1', '167772161', '10.0.1', '1.2.3.4.5', '10.0.0.-1', ' 10.0.0.1', '10.0.0.1 ', ''])
    rejects(t, () => v.ip('gateway', odd), 'gateway', `'${odd}'`);
  for (const bad of ['1::2::3', '12345::1', 'fe80:::1', '::g', ':'])
    rejects(t, () => v.ip('gateway', bad), 'gateway', `IPv6 '${bad}'`);
  t.same(v.ip('x', '0.0.0.0'), { family: 4, address: '0.0.0.0' }, 'zero parts are written as 0');
  t.same(v.ip('x', '255.255.255.255'), { family: 4, address: '255.255.255.255' });
  t.same(v.ip('x', 'FE80::A'), { family: 6, address: 'fe80::a' }, 'IPv6 normalised to lower case');
  t.same(v.ip('x', '2001:db8:0:0:0:0:0:1'), { family: 6, address: '2001:db8::1' }, 'and compressed');
  rejects(t, () => v.ip('gateway', 17 as unknown as string), 'gateway', 'not a string');
});

t.test('MAC, MTU, VLAN id', async (t) => {
  t.equal(v.mac('address', '02:42:AC:11:00:02'), '02:42:ac:11:00:02');
  rejects(t, () => v.mac('address', '02:42:ac:11:00'), 'address', 'five bytes');
  rejects(t, () => v.mac('address', '02-42-ac-11-00-02'), 'address', 'dashes');
  rejects(t, () => v.mac('address', '01:00:5e:00:00:01'), 'address', 'multicast');
  rejects(t, () => v.mac('address', '00:00:00:00:00:00'), 'address', 'all zeros');
  t.equal(v.mac('lladdr', '00:00:00:00:00:00', { allowZero: true }), '00:00:00:00:00:00');
  t.equal(v.mtu('mtu', 1500), 1500);
  rejects(t, () => v.mtu('mtu', 67), 'mtu', 'below 68');
  rejects(t, () => v.mtu('mtu', 65536), 'mtu', 'above 65535');
  rejects(t, () => v.mtu('mtu', 1500.5), 'mtu', 'fractional');
  t.equal(v.vlanId('vlanId', 4094), 4094);
  rejects(t, () => v.vlanId('vlanId', 0), 'vlanId', '0');
  rejects(t, () => v.vlanId('vlanId', 4095), 'vlanId', '4095');
});

t.test('link specs', async (t) => {
  t.same(linkAddArgs({ kind: 'veth', name: 'vh1', up: true, master: 'br0', peer: { name: 'eth0', mtu: 1400 } }), {
    kind: 'veth', name: 'vh1', up: true, master: 'br0', peer: { mtu: 1400, name: 'eth0' },
  });
  rejects(t, () => linkAddArgs({ kind: 'veth', name: 'vh1', peer: { name: 'x'.repeat(16) } }), 'peer.name', 'long peer name');
  rejects(t, () => linkAddArgs({ kind: 'veth', name: 'vh1', colour: 'red' } as never), 'colour', 'unknown option');
  rejects(t, () => linkAddArgs({ kind: 'veth', name: 'vh1', peer: { nmae: 'x' } } as never), 'peer.nmae', 'unknown peer option');
  rejects(t, () => linkAddArgs({ kind: 'tunnel', name: 'x' } as never), 'kind', 'unknown kind');
  rejects(t, () => linkAddArgs({ kind: 'bridge', name: 'br0', master: null } as never), 'master', 'null master on add');
  rejects(t, () => linkAddArgs({ kind: 'vlan', name: 'v', parent: 'eth0', vlanId: 5000 }), 'vlanId', 'vlan id');
  rejects(t, () => linkAddArgs({ kind: 'vxlan', name: 'vx', vni: 1 << 24 }), 'vni', 'vni too big');
  rejects(t, () => linkAddArgs({ kind: 'vxlan', name: 'vx', vni: 1, remote: '10.0.0.1', multicastGroup: '239.1.1.1' }), 'multicastGroup', 'remote and group');
  rejects(t, () => linkAddArgs({ kind: 'macvlan', name: 'mv', parent: 'eth0', mode: 'bridged' } as never), 'mode', 'macvlan mode');
  t.same(linkSetArgs('eth0', { master: null }), { index: 'eth0', master: 0 }, 'null master releases');
  rejects(t, () => linkSetArgs('eth0', { mtu: 20 }), 'mtu', 'bad mtu on set');
  t.same(linkSetArgs('br0', { bridge: { stp: true } }), { index: 'br0', bridge: { stp: true } }, "a bridge's settings changed in place");
  rejects(t, () => linkSetArgs('br0', { bridge: { stp: 'yes' } } as never), 'bridge.stp', 'stp not a boolean');
  rejects(t, () => linkSetArgs('br0', { bridge: { vni: 4 } } as never), 'bridge.vni', 'a key that is not a bridge setting');
});

t.test('addr, route, rule, neigh and fdb specs', async (t) => {
  t.same(addrArgs('eth0', '10.0.0.3/24'), { index: 'eth0', address: '10.0.0.3', prefixLen: 24 });
  rejects(t, () => addrArgs('eth0', '10.0.0.3'), 'address', 'address without prefix');
  rejects(t, () => addrArgs('eth0', '10.0.0.3/24', { label: 'foo' }), 'label', 'label not starting with the device');
  t.same(routeArgs({ dst: 'default', gateway: '10.0.0.1' }), { gateway: '10.0.0.1', dst: 'default', dstLen: 0, family: 4 });
  t.same(routeArgs({ dst: '2001:db8::/32', dev: 'eth0' }), { dst: '2001:db8::', dstLen: 32, family: 6, dev: 'eth0' });
  rejects(t, () => routeArgs({ dst: '10.1.0.0/16' }), 'route', 'no gateway, dev or type');
  rejects(t, () => routeArgs({ dst: '10.1.0.0/16', gateway: 'fe80::1' }), 'gateway', 'mixed families');
  rejects(t, () => routeArgs({ gateway: '10.0.0.1' } as never), 'dst', 'missing dst');
  t.same(ruleArgs({ from: '10.0.0.0/24', table: 100, priority: 1000 }), { from: '10.0.0.0', fromLen: 24, family: 4, priority: 1000, table: 100, action: 'lookup' });
  rejects(t, () => ruleArgs({ from: '10.0.0.0/24' }), 'table', 'lookup without a table');
  t.same(neighArgs({ dev: 'eth0', address: '10.0.0.9', lladdr: '02:00:00:00:00:09' }), { family: 4, index: 'eth0', address: '10.0.0.9', lladdr: '02:00:00:00:00:09' });
  t.same(fdbArgs({ dev: 'vxlan0', lladdr: '00:00:00:00:00:00', dst: '192.0.2.2' }), {
    family: 'bridge', index: 'vxlan0', lladdr: '00:00:00:00:00:00', address: '192.0.2.2', flags: { self: true },
  });
  rejects(t, () => fdbArgs({ dev: 'vxlan0', lladdr: 'zz' }), 'lladdr', 'bad fdb mac');
});
