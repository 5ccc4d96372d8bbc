// The built-in host-local's pure parts, against what the reference plugin
// does (its allocator and config tests' cases, and its source): addresses
// spelled as Go spells them, configurations made canonical or refused with
// the reference's words, the cases it hands to the reference binary, and
// the order in which addresses are given.
import t from 'tap';
import { formatIp, parseIp, parseCidr, type Ip } from '../../lib/ops/cni/host-local/ip';
import { parseHostLocal, HostLocalConfigError, rangeSetText, type HostLocalConf } from '../../lib/ops/cni/host-local/config';
import { allocate, candidates, AllocationError, type Chosen, type StoreView } from '../../lib/ops/cni/host-local/allocator';
import { parseResolvConf } from '../../lib/ops/cni/host-local/resolv';

const ip = (s: string): Ip => parseIp(s)!;
const conf = (ipam: Record<string, unknown>, top: Record<string, unknown> = {}, args: Record<string, string> = {}) =>
  parseHostLocal(JSON.stringify({ cniVersion: '1.0.0', name: 'net', ipam: { type: 'host-local', ...ipam }, ...top }), args);
const ok = (p: ReturnType<typeof conf>): HostLocalConf => {
  if ('delegate' in p) throw new Error(`delegated: ${p.delegate}`);
  return p.conf;
};
const refused = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof HostLocalConfigError) return e.message;
    throw e;
  }
  return '(not refused)';
};

t.test('addresses are written as Go writes them', async (t) => {
  const cases: Array<[string, string]> = [
    ['10.0.0.1', '10.0.0.1'],
    ['2001:db8:1::2', '2001:db8:1::2'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['FE80::', 'fe80::'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [given, go] of cases) t.equal(formatIp(ip(given)), go, `${given} -> ${go}`);
  t.equal(parseIp('10.0.0.256'), null);
  t.equal(parseIp('10.0.0.1\n'), null, 'a line break makes it no address (net.ParseIP)');
  t.equal(parseIp('fe80::1%eth0'), null, 'no zones');
  t.same(parseCidr('10.1.0.5/16'), { ip: ip('10.1.0.5'), prefix: 16 }, 'host bits are kept as given');
});

t.test('a single subnet: gateway, start and end default as the reference makes them', async (t) => {
  const c = ok(conf({ subnet: '10.1.2.0/24' }));
  t.equal(rangeSetText(c.ranges[0]!), '10.1.2.1-10.1.2.254', 'start .1, end before the broadcast');
  t.equal(formatIp(c.ranges[0]![0]!.gateway), '10.1.2.1');
  t.equal(c.dataDir, '/var/lib/cni/networks');
  const v6 = ok(conf({ subnet: '2001:db8:1::/64' }));
  t.equal(rangeSetText(v6.ranges[0]!), '2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff', 'IPv6 keeps its last address (one zero group is not shortened)');
  const given = ok(conf({ subnet: '10.1.2.0/24', rangeStart: '10.1.2.100', rangeEnd: '10.1.2.110', gateway: '10.1.2.254', dataDir: '/srv/ipam' }));
  t.equal(rangeSetText(given.ranges[0]!), '10.1.2.100-10.1.2.110');
  t.equal(formatIp(given.ranges[0]![0]!.gateway), '10.1.2.254');
  t.equal(given.dataDir, '/srv/ipam');
});

t.test('range sets: the old single range first, runtimeConfig.ipRanges before all', async (t) => {
  const c = ok(
    conf(
      { subnet: '10.1.0.0/24', ranges: [[{ subnet: '10.2.0.0/24' }, { subnet: '10.3.0.0/24' }], [{ subnet: '2001:db8::/64' }]] },
      { runtimeConfig: { ipRanges: [[{ subnet: '10.9.0.0/24' }]] } },
    ),
  );
  t.same(
    c.ranges.map((s) => rangeSetText(s)),
    ['10.9.0.1-10.9.0.254', '10.1.0.1-10.1.0.254', '10.2.0.1-10.2.0.254,10.3.0.1-10.3.0.254', '2001:db8::1-2001:db8::ffff:ffff:ffff:ffff'],
  );
});

t.test('addresses asked for: CNI_ARGS IP= first, then args.cni.ips, then runtimeConfig.ips', async (t) => {
  const c = ok(conf({ subnet: '10.1.0.0/24' }, { args: { cni: { ips: ['10.1.0.7'] } }, runtimeConfig: { ips: ['10.1.0.8/24'] } }, { IP: '10.1.0.6', IgnoreUnknown: '1', K8S_POD_NAME: 'x' }));
  t.same(c.requested.map(formatIp), ['10.1.0.6', '10.1.0.7', '10.1.0.8']);
});

t.test('the reference\'s refusals, in its words', async (t) => {
  t.equal(refused(() => conf({})), 'no IP ranges specified');
  t.equal(refused(() => conf({ subnet: '10.1.0.0/31' })), 'invalid range set 0: Network 10.1.0.0/31 too small to allocate from');
  t.equal(refused(() => conf({ subnet: '10.1.0.5/24' })), 'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.1.0.0');
  t.equal(refused(() => conf({ subnet: '10.1.0.0/24', rangeStart: '10.2.0.1' })), 'invalid range set 0: RangeStart 10.2.0.1 not in network 10.1.0.0/24');
  t.equal(refused(() => conf({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.50', rangeEnd: '10.1.0.20' })), 'invalid range set 0: RangeStart 10.1.0.50 not in network 10.1.0.0/24');
  t.equal(refused(() => conf({ subnet: '10.1.0.0/24', rangeEnd: '10.1.1.1' })), 'invalid range set 0: RangeEnd 10.1.1.1 not in network 10.1.0.0/24');
  t.equal(refused(() => conf({ ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: '2001:db8::/64' }]] })), 'invalid range set 0: mixed address families');
  t.equal(refused(() => conf({ ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: '10.1.0.0/25' }]] })), 'invalid range set 0: subnets 10.1.0.1-10.1.0.254 and 10.1.0.1-10.1.0.126 overlap');
  t.equal(refused(() => conf({ ranges: [[{ subnet: '10.1.0.0/30' }], [{ subnet: '10.1.0.0/29' }]] })), 'range set 0 overlaps with 1');
  t.equal(refused(() => conf({ ranges: [[]] })), 'invalid range set 0: empty range set');
});

t.test('what it does not understand exactly goes to the reference binary', async (t) => {
  const why = (p: ReturnType<typeof conf>) => ('delegate' in p ? p.delegate : '(taken by the built-in)');
  t.match(why(conf({ Subnet: '10.1.0.0/24' })), /"Subnet"/, 'a key in another case (Go matches it; we do not guess)');
  t.match(why(conf({ subnet: '10.1.0.0/24', exclude: ['10.1.0.5'] })), /"exclude"/, 'a key of some fork');
  t.match(why(conf({ ranges: [[{ subnet: '10.1.0.0/24', excludeRanges: [] }]] })), /excludeRanges/, 'an unknown key in a range');
  t.match(why(conf({ subnet: '10.1.0.0/24', routes: [{ dst: '0.0.0.0/0', mtu: 1400 }] })), /mtu/, 'route keys the reference release ignores');
  t.match(why(conf({ subnet: 42 })), /not a string/, 'a value of another JSON type');
  t.match(why(conf({ subnet: '10.1.0.0/24' }, {}, { FOO: 'bar' })), /FOO/, 'CNI_ARGS the reference refuses (no IgnoreUnknown)');
  t.match(why(conf({ subnet: '10.1.0.0/24', dataDir: 'relative/dir' })), /relative/);
  t.match(why(parseHostLocal(JSON.stringify({ cniVersion: '0.2.0', name: 'n', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } }), {})), /0\.3\.0/, 'versions before 0.3.0');
  t.equal(why(conf({ subnet: '10.1.0.0/24' }, { runtimeConfig: { portMappings: [] }, args: { other: 1 } }, { IgnoreUnknown: 'true', FOO: 'x' })), '(taken by the built-in)', 'keys the reference ignores are ignored');
});

// The reference's allocator cases (allocator_test.go: subnets, taken addresses, last reserved -> next).
t.test('round-robin order, as the reference iterates', async (t) => {
  const order = (subnets: string[], last: string | null, n = 20) => {
    const set = ok(conf({ ranges: [subnets.map((subnet) => ({ subnet }))] })).ranges[0]!;
    const out: string[] = [];
    for (const c of candidates(set, last ? ip(last) : null)) {
      out.push(formatIp(c.ip));
      if (out.length >= n) break;
    }
    return out;
  };
  t.same(order(['192.168.1.0/29'], null), ['192.168.1.2', '192.168.1.3', '192.168.1.4', '192.168.1.5', '192.168.1.6'], 'from the beginning: the gateway skipped, no broadcast');
  t.same(order(['192.168.1.0/29'], '192.168.1.6'), ['192.168.1.2', '192.168.1.3', '192.168.1.4', '192.168.1.5', '192.168.1.6'], 'from the end');
  t.same(order(['192.168.1.0/29'], '192.168.1.3'), ['192.168.1.4', '192.168.1.5', '192.168.1.6', '192.168.1.2', '192.168.1.3'], 'from the middle, the last one tried last');
  t.same(order(['10.0.0.0/29'], '10.0.0.128'), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'], 'a last address out of the set: from the start');
  t.same(order(['10.0.0.0/30', '10.0.1.0/30'], '10.0.0.2'), ['10.0.1.2', '10.0.0.2'], 'on into the next range of the set');
  t.same(order(['10.0.0.0/30', '10.0.1.0/30', '10.0.2.0/30'], '10.0.2.2'), ['10.0.0.2', '10.0.1.2', '10.0.2.2'], 'wrapping to the first range');
  t.same(order(['2001:db8:1::/64'], null, 2), ['2001:db8:1::2', '2001:db8:1::3']);
  const gwInside = ok(conf({ subnet: '10.5.0.0/29', gateway: '10.5.0.4' })).ranges[0]!;
  t.same([...candidates(gwInside, null)].map((c) => formatIp(c.ip)), ['10.5.0.1', '10.5.0.2', '10.5.0.3', '10.5.0.5', '10.5.0.6'], 'a gateway inside the range is skipped, .1 then is given');
});

function view(taken: string[], last: Record<number, string> = {}, held: string[] = []): StoreView {
  return { taken: (n) => taken.includes(n), lastReserved: (i) => (last[i] ? ip(last[i]!) : null), held: held.map(ip) };
}

async function alloc(c: HostLocalConf, v: StoreView, exists: string[] = []): Promise<string[] | string> {
  const got: Chosen[] = [];
  try {
    await allocate(c, v, 'ctr', async (x) => !exists.includes(formatIp(x.ip)), got);
    return got.map((x) => `${formatIp(x.ip)}/${x.range.subnet.prefix} gw ${formatIp(x.range.gateway)} set ${x.set}`);
  } catch (e) {
    if (e instanceof AllocationError) return e.message;
    throw e;
  }
}

t.test('allocation: one address per range set, the reference\'s errors', async (t) => {
  const one = ok(conf({ subnet: '10.0.0.0/29' }));
  t.same(await alloc(one, view(['10.0.0.2'])), ['10.0.0.3/29 gw 10.0.0.1 set 0'], 'a taken name is skipped');
  t.same(await alloc(one, view(['10.0.0.4', '10.0.0.5'], { 0: '10.0.0.3' })), ['10.0.0.6/29 gw 10.0.0.1 set 0']);
  t.same(await alloc(one, view([], {}), ['10.0.0.2']), ['10.0.0.3/29 gw 10.0.0.1 set 0'], 'a name found taken when creating it: the search goes on');
  t.equal(await alloc(one, view(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'])), 'failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.6');
  t.equal(await alloc(one, view([], {}, ['10.0.0.5'])), 'failed to allocate for range 0: 10.0.0.5 has been allocated to ctr, duplicate allocation is not allowed');
  const dual = ok(conf({ ranges: [[{ subnet: '10.0.0.0/29' }], [{ subnet: '2001:db8::/64' }]] }));
  t.same(await alloc(dual, view([], { 1: '2001:db8::9' })), ['10.0.0.2/29 gw 10.0.0.1 set 0', '2001:db8::a/64 gw 2001:db8::1 set 1']);
  const asked = (ips: string[], c = dual) => ({ ...c, requested: ips.map(ip) });
  t.same(await alloc(asked(['10.0.0.5']), view([])), ['10.0.0.5/29 gw 10.0.0.1 set 0', '2001:db8::2/64 gw 2001:db8::1 set 1'], 'an address asked for, a free one for the other set');
  t.equal(await alloc(asked(['10.0.0.1']), view([])), "failed to allocate for range 0: requested ip 10.0.0.1 is subnet's gateway");
  t.equal(await alloc(asked(['10.0.0.5']), view(['10.0.0.5'])), 'failed to allocate for range 0: requested IP address 10.0.0.5 is not available in range set 10.0.0.1-10.0.0.6');
  t.equal(await alloc(asked(['10.0.0.5', '10.0.0.6']), view([])), 'failed to allocate all requested IPs: 10.0.0.6');
  t.equal(await alloc(asked(['10.9.9.9']), view([])), 'failed to allocate all requested IPs: 10.9.9.9');
});

t.test('resolvConf is read as the reference reads it', async (t) => {
  t.same(parseResolvConf('# c\n; c\nnameserver 10.0.0.53\nnameserver 10.0.0.54 extra\ndomain a.example\ndomain b.example\nsearch x.example y.example\noptions ndots:2\noptions edns0\nsortlist\n'), {
    nameservers: ['10.0.0.53', '10.0.0.54'],
    domain: 'b.example',
    search: ['x.example', 'y.example'],
    options: ['ndots:2', 'edns0'],
  });
});
