// Our encoder against iproute2, byte for byte. Each fixture in
// test/fixtures/iproute2/ is the request iproute2 sent for one command
// (scripts/capture-fixtures.sh captured it); encode() must produce the same
// bytes from the fixture's args, or `ourHex` where we differ on purpose.
// Needs the built addon, no privileges and no kernel.
import t, { type Test } from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { addon } from '../../lib/core/native';
import type { OpArgs } from '../../lib/core/op-types';
import { NetlinkError } from '../../lib/core/errors';

interface Fixture {
  command: string;
  iproute2: string;
  op: string;
  args: Record<string, unknown>;
  hex: string;
  ourHex?: string;
  note: string;
}

const dir = join(__dirname, '..', 'fixtures', 'iproute2');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const fixtures = files.map((f) => ({ file: f, ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture) }));

const NLM_F_ECHO = 0x8;

/** The request as hex; for link.add without NLM_F_ECHO, which iproute2 never sets. */
function encodeHex(op: string, args: Record<string, unknown>): string {
  // Fixtures are data (op and args from JSON): the addon checks them at run time.
  const buf = Buffer.from(addon().encode(op as 'link.add', args as never));
  if (op === 'link.add') buf.writeUInt16LE(buf.readUInt16LE(6) & ~NLM_F_ECHO, 6);
  return buf.toString('hex');
}

t.test('every fixture encodes to iproute2 bytes', async (t) => {
  t.ok(fixtures.length > 0, 'there are fixtures');
  for (const f of fixtures) t.equal(encodeHex(f.op, f.args), f.ourHex ?? f.hex, f.command);
});

t.test('the fixtures are the ones commands.txt lists', async (t) => {
  const listed = readFileSync(join(dir, 'commands.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => (JSON.parse(l) as { name: string }).name + '.json')
    .sort();
  t.same(files, listed, 'scripts/capture-fixtures.sh made every fixture, and only those');
  const ops = new Set(addon().opNames());
  t.same(fixtures.filter((f) => !ops.has(f.op)).map((f) => f.file), [], 'every fixture names a real op');
});

t.test('link.add asks for an echo, except into another namespace', async (t) => {
  const flags = (args: OpArgs['link.add']) => Buffer.from(addon().encode('link.add', args)).readUInt16LE(6);
  t.equal(flags({ kind: 'bridge', name: 'br9' }) & NLM_F_ECHO, NLM_F_ECHO, 'echo here');
  t.equal(flags({ kind: 'bridge', name: 'br9', netnsFd: 3 }) & NLM_F_ECHO, 0, 'no echo across namespaces');
});

function refuses(t: Test, op: string, args: Record<string, unknown>, field: string, what: string) {
  try {
    addon().encode(op as 'link.add', args as never);
    t.fail(`${what}: accepted`);
  } catch (e) {
    t.ok(e instanceof NetlinkError, `${what}: a NetlinkError`);
    t.equal((e as NetlinkError).code, 'ERR_PW_INVALID_ARGUMENT', `${what}: code`);
    t.equal((e as NetlinkError).field, field, `${what}: names the field`);
  }
}

t.test('encode refuses bad args and names the field', async (t) => {
  refuses(t, 'link.add', { kind: 'nope', name: 'x0' }, 'kind', 'unknown kind');
  refuses(t, 'link.add', { kind: 'vxlan', name: 'vx0', vni: 1 << 24 }, 'vni', 'vni above 24 bits');
  refuses(t, 'link.add', { kind: 'vxlan', name: 'vx0' }, 'vni', 'vxlan without vni');
  refuses(t, 'link.add', { kind: 'vxlan', vni: 1, remote: '192.0.2.1', multicastGroup: '239.1.1.1' }, 'remote', 'remote and group');
  refuses(t, 'link.add', { kind: 'vxlan', vni: 1, local: '10.0.0' }, 'local', 'bad local address');
  refuses(t, 'link.add', { kind: 'veth', name: 've0', address: '02:00:00:00:00' }, 'address', 'short MAC');
  refuses(t, 'link.add', { kind: 'veth', name: 've0', address: 'zz:00:00:00:00:00' }, 'address', 'non-hex MAC');
  refuses(t, 'link.add', { kind: 'veth', name: 've0', peer: 5 }, 'peer', 'peer not an object');
  refuses(t, 'link.add', { kind: 'veth', name: 've0', mtu: -1 }, 'mtu', 'negative mtu');
  refuses(t, 'link.add', { kind: 'veth', name: 5 }, 'name', 'name not a string');
  refuses(t, 'link.add', { kind: 'vlan', parent: 3, vlanId: 4095 }, 'vlanId', 'vlan id 4095');
  refuses(t, 'link.add', { kind: 'vlan', parent: 3, vlanId: 5, protocol: '802.1x' }, 'protocol', 'unknown vlan protocol');
  refuses(t, 'link.add', { kind: 'macvlan', parent: 3, mode: 'open' }, 'mode', 'unknown macvlan mode');
  refuses(t, 'link.set', { mtu: 1400 }, 'index', 'set without index');
  refuses(t, 'link.get', {}, 'index', 'get without index or name');
  refuses(t, 'link.delGroup', { group: 0 }, 'group', 'deleting group 0');
});

t.test('a bad veth peer field is named with its peer. prefix', async (t) => {
  refuses(t, 'link.add', { kind: 'veth', name: 've0', peer: { name: 've1', address: 'nope' } }, 'peer.address', 'bad peer MAC');
});

t.test("neigh.announce: the kernel's own announcement, asked for as a resolution of our address", async (t) => {
  const b = Buffer.from(addon().encode('neigh.announce', { index: 7, address: '10.0.0.9' }));
  const RTM_NEWNEIGH = 28, NLM_F_REQUEST = 0x1, NLM_F_ACK = 0x4, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
  const NTF_USE = 0x1, NDA_DST = 1, AF_INET = 2;
  t.equal(b.readUInt32LE(0), b.length, 'length');
  t.equal(b.readUInt16LE(4), RTM_NEWNEIGH, 'RTM_NEWNEIGH');
  t.equal(b.readUInt16LE(6), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 'create, and only if absent (EXCL): an entry someone has is left alone');
  // ndmsg after the 16-byte header: family, pad x3, ifindex, state (u16), flags, type
  t.equal(b.readUInt8(16), AF_INET, 'IPv4');
  t.equal(b.readInt32LE(20), 7, 'ifindex');
  t.equal(b.readUInt16LE(24), 0, 'no state of ours (NUD_NONE): resolution sets it');
  t.equal(b.readUInt8(26), NTF_USE, 'NTF_USE: resolve now, which makes the kernel send the ARP');
  t.equal(b.readUInt16LE(28), 8, 'NDA_DST length');
  t.equal(b.readUInt16LE(30), NDA_DST, 'NDA_DST');
  t.same([...b.subarray(32, 36)], [10, 0, 0, 9], 'the address');
  t.equal(b.length, 36, 'nothing else');
  refuses(t, 'neigh.announce', { index: 7, address: '2001:db8::9' }, 'address', 'IPv6 (ARP is IPv4)');
  refuses(t, 'neigh.announce', { index: 0, address: '10.0.0.9' }, 'index', 'index 0');
  refuses(t, 'neigh.announce', { index: 7 }, 'address', 'no address');
});
