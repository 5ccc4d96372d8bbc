// The decoders parse bytes the kernel sends, so they must survive any bytes.
// Starting from real messages (our encoders' requests, retyped as the
// RTM_NEW* messages the decoders accept, plus attributes only the kernel
// sends), this feeds decode() every truncation, bit flips, wrong attribute
// lengths, wrong header fields, random bytes and runs of several messages.
// decode() must never crash or throw, and always answer with an array of
// well-formed events. The mutations come from a seeded generator, so a
// failure reproduces; scripts/asan.sh runs this file against the sanitized
// addon, which also catches out-of-bounds reads that happen not to crash.
// scripts/fuzz-decoders.sh is the coverage-guided counterpart (libFuzzer).
import t, { type Test } from 'tap';
import { addon } from '../../lib/core/native';

const NLMSG_HDRLEN = 16;
const RTM_NEWLINK = 16;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const RTM_NEWNEIGH = 28;
// The fixed family header after nlmsghdr: where each type's attributes start.
const FAMILY_HEADER: Record<number, number> = {
  [RTM_NEWLINK]: 16, // ifinfomsg
  [RTM_NEWADDR]: 8, // ifaddrmsg
  [RTM_NEWROUTE]: 12, // rtmsg
  [RTM_NEWNEIGH]: 12, // ndmsg
};
const KIND_OF: Record<number, string> = {
  [RTM_NEWLINK]: 'link',
  [RTM_NEWADDR]: 'addr',
  [RTM_NEWROUTE]: 'route',
  [RTM_NEWNEIGH]: 'neigh',
};

// mulberry32: tiny, fast and good enough to spread mutations; seeded so
// every run (and every failure) is the same.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(0x5eed2026);
const below = (n: number) => Math.floor(rand() * n);
const pick = <T>(items: readonly T[]): T => items[below(items.length)]!;

// --- seeds -----------------------------------------------------------------

/** A request from our encoder, turned into the kernel message of that object. */
function fromRequest(op: string, args: Record<string, unknown>, type: number): Buffer {
  const b = Buffer.from(addon().encode(op as 'link.add', args as never));
  b.writeUInt16LE(type, 4); // nlmsg_type
  b.writeUInt16LE(0, 6); // nlmsg_flags: a kernel message, not a request
  return b;
}

function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}
const u8 = (v: number) => Buffer.from([v]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const str = (s: string) => Buffer.from(`${s}\0`);

/** msg with attributes appended (encoded messages end aligned) and nlmsg_len fixed. */
function withAttrs(msg: Buffer, ...attrs: Buffer[]): Buffer {
  const out = Buffer.concat([msg, ...attrs]);
  out.writeUInt32LE(out.length, 0);
  return out;
}

/** rtnexthop {len, flags, hops, ifindex} followed by its attributes. */
function nexthop(ifindex: number, hops: number, attrs: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(8 + attrs.length, 0);
  h.writeUInt8(0, 2);
  h.writeUInt8(hops, 3);
  h.writeInt32LE(ifindex, 4);
  return Buffer.concat([h, attrs]);
}

interface Seed {
  name: string;
  type: number;
  bytes: Buffer;
  /** What decoding the unmutated seed must show, so the base is known good. */
  expect: Record<string, unknown>;
}

function seeds(): Seed[] {
  const s = (name: string, op: string, args: Record<string, unknown>, type: number, expect: Record<string, unknown>): Seed => ({
    name,
    type,
    bytes: fromRequest(op, args, type),
    expect,
  });
  const list: Seed[] = [
    s('bridge', 'link.add', {
      kind: 'bridge', name: 'br0', up: true, mtu: 1400, address: '02:00:00:00:00:01', txqlen: 1000, group: 3,
      alias: 'the bridge', stp: true, forwardDelay: 1500, ageingTime: 30000, priority: 100, vlanFiltering: true,
      multicastSnooping: false,
    }, RTM_NEWLINK, { name: 'br0', kind: 'bridge', mtu: 1400 }),
    s('veth', 'link.add', { kind: 'veth', name: 'vh1', master: 3, peer: { name: 'eth0', mtu: 1450, up: true, netnsFd: 7 } },
      RTM_NEWLINK, { name: 'vh1', kind: 'veth', master: 3 }),
    s('vxlan4', 'link.add', {
      kind: 'vxlan', name: 'vx0', vni: 42, dev: 2, remote: '192.0.2.1', local: '192.0.2.2', ttl: 64, learning: false,
      ageing: 300, port: 4789,
    }, RTM_NEWLINK, { name: 'vx0', kind: 'vxlan' }),
    s('vxlan6', 'link.add', { kind: 'vxlan', name: 'vx6', vni: 7, multicastGroup: 'ff05::100', local: '2001:db8::1' },
      RTM_NEWLINK, { name: 'vx6', kind: 'vxlan' }),
    s('vlan', 'link.add', { kind: 'vlan', name: 'v100', parent: 2, vlanId: 100, protocol: '802.1ad' },
      RTM_NEWLINK, { name: 'v100', vlanId: 100, protocol: '802.1ad' }),
    s('macvlan', 'link.add', { kind: 'macvlan', name: 'mv0', parent: 2, mode: 'bridge' },
      RTM_NEWLINK, { name: 'mv0', mode: 'bridge' }),
    s('addr4', 'addr.add', {
      index: 2, address: '10.0.0.1', prefixLen: 24, peer: '10.0.0.2', broadcast: '10.0.0.255', label: 'eth0:1',
      metric: 5, validLifetime: 100, preferredLifetime: 50,
    }, RTM_NEWADDR, { address: '10.0.0.1', peer: '10.0.0.2', label: 'eth0:1', validLifetime: 100 }),
    s('addr6', 'addr.add', { index: 2, address: '2001:db8::5', prefixLen: 64, nodad: true, noprefixroute: true },
      RTM_NEWADDR, { address: '2001:db8::5', prefixLen: 64 }),
    s('route4', 'route.add', {
      dst: '10.1.0.0', dstLen: 16, gateway: '10.0.0.1', dev: 2, table: 1000, metric: 10, src: '10.0.0.2', mtu: 1400,
      onlink: true,
    }, RTM_NEWROUTE, { dst: '10.1.0.0', gateway: '10.0.0.1', table: 1000, mtu: 1400 }),
    s('route4-via6', 'route.add', { dst: 'default', family: 4, gateway: 'fe80::1', dev: 2 },
      RTM_NEWROUTE, { dst: 'default', gateway: 'fe80::1' }),
    s('route6', 'route.add', { dst: '2001:db8:1::', dstLen: 48, type: 'unreachable', proto: 'static' },
      RTM_NEWROUTE, { dst: '2001:db8:1::', type: 'unreachable' }),
    s('neigh4', 'neigh.add', { index: 2, address: '10.0.0.9', lladdr: '02:00:00:00:00:09', state: 'reachable' },
      RTM_NEWNEIGH, { address: '10.0.0.9', lladdr: '02:00:00:00:00:09' }),
    s('neigh6', 'neigh.add', { index: 2, address: 'fe80::9', lladdr: '02:00:00:00:00:0a', flags: { router: true } },
      RTM_NEWNEIGH, { address: 'fe80::9' }),
    s('fdb', 'neigh.append', {
      family: 'bridge', index: 4, lladdr: '00:00:00:00:00:00', address: '192.0.2.7', vlan: 10, port: 4789, vni: 42,
    }, RTM_NEWNEIGH, { family: 'bridge', address: '192.0.2.7', vlan: 10, port: 4789, vni: 42 }),
  ];

  // Attributes only the kernel sends, which no request of ours contains.
  const port = fromRequest('link.add', { kind: 'veth', name: 'vh2' }, RTM_NEWLINK);
  const linkinfo = attr(18, Buffer.concat([ // IFLA_LINKINFO
    attr(1, str('veth')), // IFLA_INFO_KIND
    attr(4, str('bridge')), // IFLA_INFO_SLAVE_KIND
    // IFLA_INFO_SLAVE_DATA: IFLA_BRPORT_STATE, _MODE, _LEARNING, _COST
    attr(5, Buffer.concat([attr(1, u8(3)), attr(4, u8(1)), attr(8, u8(1)), attr(3, u32(100))])),
  ]));
  const stats = Buffer.alloc(200); // rtnl_link_stats64
  stats.writeBigUInt64LE(11n, 0);
  const bytes = withAttrs(
    port.subarray(0, 32), // nlmsghdr + ifinfomsg; the request's own linkinfo is replaced
    attr(3, str('vh2')), // IFLA_IFNAME
    attr(16, u8(6)), // IFLA_OPERSTATE
    attr(33, u8(1)), // IFLA_CARRIER
    attr(37, u32(0)), // IFLA_LINK_NETNSID
    attr(23, stats), // IFLA_STATS64
    linkinfo,
  );
  list.push({ name: 'bridge-port', type: RTM_NEWLINK, bytes, expect: { name: 'vh2', operstate: 'up', carrier: true } });

  const mp = fromRequest('route.add', { dst: '10.2.0.0', dstLen: 16, dev: 2 }, RTM_NEWROUTE);
  const multipath = attr(9, Buffer.concat([ // RTA_MULTIPATH
    nexthop(2, 1, attr(5, Buffer.from([10, 0, 0, 2]))), // RTA_GATEWAY
    nexthop(3, 0, attr(18, Buffer.from([10, 0, 0xfe, 0x80, ...Array(13).fill(0), 1]))), // RTA_VIA AF_INET6 fe80::1
  ]));
  list.push({ name: 'multipath', type: RTM_NEWROUTE, bytes: withAttrs(mp, multipath), expect: { dst: '10.2.0.0' } });
  return list;
}

// --- checking ----------------------------------------------------------------

const KINDS = new Set(['link', 'addr', 'route', 'neigh']);

/** Why decode(buf) is unacceptable, or null when it answered properly. */
function problem(buf: Buffer): string | null {
  let out: unknown;
  try {
    out = addon().decode(buf);
  } catch (e) {
    return `threw ${String(e)}`;
  }
  if (!Array.isArray(out)) return `returned ${typeof out}, not an array`;
  for (const ev of out as Array<Record<string, unknown>>) {
    if (!ev || !KINDS.has(ev.kind as string) || (ev.action !== 'new' && ev.action !== 'del') ||
        typeof ev.object !== 'object' || ev.object === null)
      return `malformed event ${JSON.stringify(ev)}`;
  }
  return null;
}

/** Runs every input through decode and reports the first few failures with their bytes. */
function survives(t: Test, what: string, inputs: Iterable<Buffer>) {
  let count = 0;
  const failures: string[] = [];
  for (const buf of inputs) {
    count++;
    const p = problem(buf);
    if (p && failures.length < 3) failures.push(`${p}; input ${buf.toString('hex')}`);
  }
  t.same(failures, [], `${what}: ${count} inputs decoded without a problem`);
}

// --- mutations -----------------------------------------------------------------

/** Offsets of attribute headers, top level and (where the payload parses as attributes) nested. */
function attrOffsets(buf: Buffer, start: number, end: number, out: number[] = [], depth = 0): number[] {
  let off = start;
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > end) break;
    out.push(off);
    if (depth < 4 && len >= 8) attrOffsets(buf, off + 4, off + len, out, depth + 1);
    off += (len + 3) & ~3;
  }
  return out;
}

/** b with its nlmsg_len set to its own length (in place). */
function sealed(b: Buffer): Buffer {
  if (b.length >= 4) b.writeUInt32LE(b.length, 0);
  return b;
}

function flipBits(seed: Seed): Buffer {
  const b = Buffer.from(seed.bytes);
  for (let n = 1 + below(8); n > 0; n--) {
    const bit = below(b.length * 8);
    b[bit >> 3] ^= 1 << (bit & 7);
  }
  return b;
}

function wrongAttrLength(seed: Seed): Buffer {
  const b = Buffer.from(seed.bytes);
  const offsets = attrOffsets(b, NLMSG_HDRLEN + FAMILY_HEADER[seed.type]!, b.length);
  for (let n = 1 + below(2); n > 0 && offsets.length; n--) {
    const off = pick(offsets);
    const orig = b.readUInt16LE(off);
    const rest = b.length - off;
    const len = pick([0, 1, 3, 4, 5, 7, 8, orig - 1, orig + 1, orig + 4, rest, rest + 1, 0xffff, below(0x10000)]);
    b.writeUInt16LE(Math.max(0, Math.min(0xffff, len)), off);
  }
  return b;
}

function randomBytes(seed: Seed): Buffer {
  const b = Buffer.from(seed.bytes);
  const start = below(b.length);
  const n = Math.min(b.length - start, 1 + below(16));
  for (let i = 0; i < n; i++) b[start + i] = below(256);
  return b;
}

// The fields the decoders branch on: message type, family, lengths.
function wrongHeader(seed: Seed): Buffer {
  const b = Buffer.from(seed.bytes);
  switch (below(4)) {
    case 0: b.writeUInt16LE(pick([16, 17, 20, 21, 24, 25, 28, 29, below(0x10000)]), 4); break;
    case 1: b[16] = pick([0, 1, 2, 7, 10, 28, 129, 255]); break; // the family byte of every family header
    case 2: b.writeUInt32LE(pick([0, 15, 16, 17, 19, 20, 24, b.length - 1, b.length + 1, 0xffffffff, below(b.length + 8)]), 0); break;
    default: b.writeUInt32LE(below(0x100000000), 16 + below(3) * 4); break; // index, flags, scope, ...
  }
  return b;
}

// Several messages in one buffer, as a dump or an event batch arrives; the
// last may be cut short, or claim a length that is not a multiple of 4.
function run(all: Seed[], mutate: (s: Seed) => Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let n = 2 + below(3); n > 0; n--) parts.push(rand() < 0.5 ? Buffer.from(pick(all).bytes) : mutate(pick(all)));
  const joined = Buffer.concat(parts);
  const cut = rand() < 0.5 ? joined.length : below(joined.length + 1);
  return joined.subarray(0, cut);
}

function noise(): Buffer {
  const b = Buffer.alloc(below(512));
  for (let i = 0; i < b.length; i++) b[i] = below(256);
  // Usually with a plausible header, so the bytes reach a decoder.
  if (b.length >= 16 && rand() < 0.8) {
    b.writeUInt32LE(b.length, 0);
    b.writeUInt16LE(pick([16, 17, 20, 21, 24, 25, 28, 29]), 4);
  }
  return b;
}

// --- tests -------------------------------------------------------------------

const all = seeds();

t.test('every seed decodes to the object it describes', (t) => {
  for (const seed of all) {
    const events = addon().decode(seed.bytes);
    t.equal(events.length, 1, `${seed.name}: one event`);
    t.equal(events[0]?.kind, KIND_OF[seed.type], `${seed.name}: kind`);
    t.match(events[0]?.object, seed.expect, `${seed.name}: fields`);
  }
  const port = addon().decode(all.find((s) => s.name === 'bridge-port')!.bytes)[0]!.object!;
  t.match(port.port, { kind: 'bridge', state: 'forwarding', cost: 100 }, 'bridge port data');
  t.match(port.stats, { rxPackets: 11 }, 'stats64');
  const route = addon().decode(all.find((s) => s.name === 'multipath')!.bytes)[0]!.object!;
  t.match(route.nexthops, [{ dev: 2, weight: 2, gateway: '10.0.0.2' }, { dev: 3, weight: 1, gateway: 'fe80::1' }], 'nexthops');
  t.end();
});

t.test('truncated at every length', (t) => {
  function* cuts() {
    for (const seed of all)
      for (let len = 0; len <= seed.bytes.length; len++) {
        // As received (the header then claims more than there is) ...
        yield seed.bytes.subarray(0, len);
        // ... and with the header agreeing, so the decoder sees the short message.
        yield sealed(Buffer.from(seed.bytes.subarray(0, len)));
      }
  }
  survives(t, 'truncations', cuts());
  t.end();
});

const ROUNDS = 2000;
const strategies: Array<[string, (s: Seed) => Buffer]> = [
  ['bit flips', flipBits],
  ['wrong attribute lengths', wrongAttrLength],
  ['random bytes', randomBytes],
  ['wrong header fields', wrongHeader],
];
for (const [name, mutate] of strategies) {
  t.test(name, (t) => {
    function* inputs() {
      for (let i = 0; i < ROUNDS; i++) yield mutate(pick(all));
    }
    survives(t, name, inputs());
    t.end();
  });
}

t.test('runs of several messages, mutated and cut', (t) => {
  function* inputs() {
    for (let i = 0; i < ROUNDS; i++) yield run(all, pick(strategies)[1]);
  }
  survives(t, 'message runs', inputs());
  t.end();
});

t.test('random bytes from scratch', (t) => {
  function* inputs() {
    for (let i = 0; i < ROUNDS; i++) yield noise();
  }
  survives(t, 'noise', inputs());
  t.end();
});
