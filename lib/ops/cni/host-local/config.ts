// The host-local IPAM configuration, read as the reference plugin reads it
// (plugins/ipam/host-local/backend/allocator/config.go, range.go,
// range_set.go): the ranges (the old single range at the ipam level first,
// runtimeConfig.ipRanges before everything), each made canonical (gateway
// .1, start .1, end the last address, IPv4's broadcast excluded), the
// addresses asked for (CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips),
// routes, dataDir, resolvConf.
//
// What the built-in does not understand exactly is not guessed at: the
// answer is { delegate: why }, and the reference binary runs instead. That
// covers keys it does not know (Go's JSON decoder also matches keys in any
// case, and some plugins' forks add keys), values of the wrong JSON type,
// CNI_ARGS the reference would refuse, and versions before 0.3.0.
import { compareVersions, isSemver } from '../version';
import { bits, formatIp, mask, parseCidr, parseIp, type Family, type Ip, type Subnet } from './ip';

export interface Range {
  subnet: Subnet;
  start: Ip;
  end: Ip;
  gateway: Ip;
}

export type RangeSet = Range[];

export interface HostLocalRoute {
  dst: string;
  gw?: string;
}

export interface HostLocalConf {
  network: string;
  cniVersion: string;
  dataDir: string;
  ranges: RangeSet[];
  /** Asked-for addresses, in the order the reference collects them. */
  requested: Ip[];
  routes: HostLocalRoute[];
  resolvConf?: string;
}

/** The reference's own refusal of the configuration (its message, verbatim). */
export class HostLocalConfigError extends Error {}

export type Parsed = { conf: HostLocalConf } | { delegate: string };

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

const IPAM_KEYS = new Set(['type', 'subnet', 'rangeStart', 'rangeEnd', 'gateway', 'routes', 'dataDir', 'resolvConf', 'ranges']);
const RANGE_KEYS = new Set(['subnet', 'rangeStart', 'rangeEnd', 'gateway']);
const ROUTE_KEYS = new Set(['dst', 'gw']);

class Unsure extends Error {}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function only(o: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new Unsure(`${where} has "${k}", which the built-in host-local does not know`);
}

function str(x: unknown, where: string): string | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'string') throw new Unsure(`${where} is not a string`);
  return x;
}

function ipOf(x: unknown, where: string): Ip | undefined {
  const s = str(x, where);
  if (s === undefined || s === '') return undefined;
  const ip = parseIp(s);
  if (!ip) throw new Unsure(`${where} is not an address`);
  return ip;
}

/** Reads one range, unchecked (as JSON decoding leaves it). */
function rawRange(o: Record<string, unknown>, where: string): { subnet?: Subnet; start?: Ip; end?: Ip; gateway?: Ip } {
  const s = str(o.subnet, `${where}.subnet`);
  let subnet: Subnet | undefined;
  if (s !== undefined && s !== '') {
    const c = parseCidr(s);
    if (!c) throw new Unsure(`${where}.subnet is not a CIDR`);
    subnet = c;
  }
  return { subnet, start: ipOf(o.rangeStart, `${where}.rangeStart`), end: ipOf(o.rangeEnd, `${where}.rangeEnd`), gateway: ipOf(o.gateway, `${where}.gateway`) };
}

const cmp = (a: Ip, b: Ip): number => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
const inSubnet = (s: Subnet, ip: Ip): boolean => ip.family === s.ip.family && (ip.value & mask(s)) === s.ip.value;
const cidrText = (s: Subnet) => `${formatIp(s.ip)}/${s.prefix}`;

/** range.go's Contains, for a range being made canonical (start and end may be missing yet). */
export function rangeContains(r: { subnet: Subnet; start?: Ip; end?: Ip }, ip: Ip): boolean {
  if (!inSubnet(r.subnet, ip)) return false;
  if (r.start && cmp(ip, r.start) < 0) return false;
  if (r.end && cmp(ip, r.end) > 0) return false;
  return true;
}

export function rangeText(r: Range): string {
  return `${formatIp(r.start)}-${formatIp(r.end)}`;
}

export function rangeSetText(s: RangeSet): string {
  return s.map(rangeText).join(',');
}

export function rangeSetContains(s: RangeSet, ip: Ip): boolean {
  return s.some((r) => rangeContains(r, ip));
}

function canonical(raw: ReturnType<typeof rawRange>): Range {
  const subnet = raw.subnet!;
  const fam: Family = subnet.ip.family;
  if (subnet.prefix > bits(fam) - 2) throw new HostLocalConfigError(`Network ${cidrText(subnet)} too small to allocate from`);
  if (fam === 6 && subnet.ip.value >> 32n === 0xffffn && subnet.prefix >= 96) throw new HostLocalConfigError('IPNet IP and Mask version mismatch');
  const network = subnet.ip.value & mask(subnet);
  if (network !== subnet.ip.value)
    throw new HostLocalConfigError(`Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${formatIp({ family: fam, value: network })}`);
  const gateway = raw.gateway ?? { family: fam, value: network + 1n };
  const partial: { subnet: Subnet; start?: Ip; end?: Ip } = { subnet, start: raw.start, end: raw.end };
  if (raw.start && !rangeContains(partial, raw.start)) throw new HostLocalConfigError(`RangeStart ${formatIp(raw.start)} not in network ${cidrText(subnet)}`);
  const start = raw.start ?? { family: fam, value: network + 1n };
  partial.start = start;
  if (raw.end && !rangeContains(partial, raw.end)) throw new HostLocalConfigError(`RangeEnd ${formatIp(raw.end)} not in network ${cidrText(subnet)}`);
  const last = network | (((1n << BigInt(bits(fam))) - 1n) ^ mask(subnet));
  const end = raw.end ?? { family: fam, value: fam === 4 ? last - 1n : last };
  return { subnet, start, end, gateway };
}

function overlaps(a: Range, b: Range): boolean {
  if (a.start.family !== b.start.family) return false;
  return rangeContains(a, b.start) || rangeContains(a, b.end) || rangeContains(b, a.start) || rangeContains(b, a.end);
}

function canonicalSet(raws: ReturnType<typeof rawRange>[]): RangeSet {
  if (raws.length === 0) throw new HostLocalConfigError('empty range set');
  const set: RangeSet = [];
  for (const raw of raws) {
    if (!raw.subnet) throw new Unsure('a range without a subnet');
    const r = canonical(raw);
    if (set.length && set[0]!.start.family !== r.start.family) throw new HostLocalConfigError('mixed address families');
    set.push(r);
  }
  for (let i = 0; i < set.length; i++)
    for (let j = i + 1; j < set.length; j++) if (overlaps(set[i]!, set[j]!)) throw new HostLocalConfigError(`subnets ${rangeText(set[i]!)} and ${rangeText(set[j]!)} overlap`);
  return set;
}

function rangeSets(x: unknown, where: string): ReturnType<typeof rawRange>[][] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) throw new Unsure(`${where} is not a list`);
  return x.map((set, i) => {
    if (!Array.isArray(set)) throw new Unsure(`${where}[${i}] is not a list`);
    return set.map((r, j) => {
      if (!isObject(r)) throw new Unsure(`${where}[${i}][${j}] is not an object`);
      only(r, RANGE_KEYS, `${where}[${i}][${j}]`);
      return rawRange(r, `${where}[${i}][${j}]`);
    });
  });
}

/** CNI_ARGS as types.LoadArgs reads them into host-local's IP and IgnoreUnknown. */
function envIp(args: Record<string, string>): Ip | undefined {
  let ip: Ip | undefined;
  let ignoreUnknown = false;
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(args)) {
    if (k === 'IP') {
      const p = parseIp(v);
      if (!p) throw new Unsure(`CNI_ARGS IP=${v} is not an address`);
      ip = p;
    } else if (k === 'IgnoreUnknown') {
      const l = v.toLowerCase();
      if (l !== '1' && l !== 'true' && l !== '0' && l !== 'false') throw new Unsure(`CNI_ARGS IgnoreUnknown=${v}`);
      ignoreUnknown = l === '1' || l === 'true';
    } else unknown.push(k);
  }
  if (unknown.length && !ignoreUnknown) throw new Unsure(`CNI_ARGS has ${unknown.join(', ')} without IgnoreUnknown (the reference refuses them)`);
  return ip;
}

function ipList(x: unknown, where: string): Ip[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) throw new Unsure(`${where} is not a list`);
  return x.map((s, i) => {
    // ip.IP in the reference: an address, or an address with a prefix (the prefix is dropped).
    const text = str(s, `${where}[${i}]`) ?? '';
    const ip = text.includes('/') ? parseCidr(text)?.ip : parseIp(text);
    if (!ip) throw new Unsure(`${where}[${i}] is not an address`);
    return ip.family === 6 && ip.value >> 32n === 0xffffn ? { family: 4, value: ip.value & 0xffffffffn } : ip;
  });
}

function routes(x: unknown): HostLocalRoute[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) throw new Unsure('ipam.routes is not a list');
  return x.map((r, i) => {
    if (!isObject(r)) throw new Unsure(`ipam.routes[${i}] is not an object`);
    only(r, ROUTE_KEYS, `ipam.routes[${i}]`);
    const dst = str(r.dst, `ipam.routes[${i}].dst`);
    const c = dst === undefined ? null : parseCidr(dst);
    if (!c) throw new Unsure(`ipam.routes[${i}].dst is not a CIDR`);
    const gw = ipOf(r.gw, `ipam.routes[${i}].gw`);
    // The reference prints them back as Go writes them (its own spelling, host bits kept as given).
    const route: HostLocalRoute = { dst: `${formatIp(c.ip)}/${c.prefix}` };
    if (gw) route.gw = formatIp(gw);
    return route;
  });
}

/** The configuration, or why the reference binary must read it instead; throws HostLocalConfigError for the reference's own refusals. */
export function parseHostLocal(stdin: string, args: Record<string, string>): Parsed {
  try {
    return { conf: read(stdin, args) };
  } catch (e) {
    if (e instanceof Unsure) return { delegate: e.message };
    throw e;
  }
}

function read(stdin: string, args: Record<string, string>): HostLocalConf {
  const n = JSON.parse(stdin) as Record<string, unknown>;
  if (!isObject(n)) throw new Unsure('the configuration is not an object');
  const cniVersion = str(n.cniVersion, 'cniVersion') ?? '';
  if (!isSemver(cniVersion) || compareVersions(cniVersion, '0.3.0') < 0) throw new Unsure(`cniVersion ${JSON.stringify(cniVersion)} is before 0.3.0`);
  const ipam = n.ipam;
  if (!isObject(ipam)) throw new Unsure('ipam is not an object');
  only(ipam, IPAM_KEYS, 'ipam');
  const network = str(n.name, 'name');
  if (!network) throw new Unsure('name is missing');
  const requested: Ip[] = [];
  const e = envIp(args);
  if (e) requested.push(e);
  const netArgs = n.args;
  if (netArgs !== undefined && netArgs !== null) {
    if (!isObject(netArgs)) throw new Unsure('args is not an object');
    const cni = netArgs.cni;
    if (cni !== undefined && cni !== null) {
      if (!isObject(cni)) throw new Unsure('args.cni is not an object');
      requested.push(...ipList(cni.ips, 'args.cni.ips'));
    }
  }
  const rc = n.runtimeConfig;
  let runtimeRanges: ReturnType<typeof rawRange>[][] = [];
  if (rc !== undefined && rc !== null) {
    if (!isObject(rc)) throw new Unsure('runtimeConfig is not an object');
    requested.push(...ipList(rc.ips, 'runtimeConfig.ips'));
    runtimeRanges = rangeSets(rc.ipRanges, 'runtimeConfig.ipRanges');
  }
  let sets = rangeSets(ipam.ranges, 'ipam.ranges');
  const single = rawRange(ipam, 'ipam');
  if (single.subnet) sets = [[single], ...sets];
  sets = [...runtimeRanges, ...sets];
  if (sets.length === 0) throw new HostLocalConfigError('no IP ranges specified');
  const ranges = sets.map((s, i) => {
    try {
      return canonicalSet(s);
    } catch (err) {
      if (err instanceof HostLocalConfigError) throw new HostLocalConfigError(`invalid range set ${i}: ${err.message}`);
      throw err;
    }
  });
  for (let i = 0; i < ranges.length; i++)
    for (let j = i + 1; j < ranges.length; j++)
      if (ranges[i]!.some((a) => ranges[j]!.some((b) => overlaps(a, b)))) throw new HostLocalConfigError(`range set ${i} overlaps with ${j}`);
  const dataDir = str(ipam.dataDir, 'ipam.dataDir') || DEFAULT_DATA_DIR;
  if (!dataDir.startsWith('/')) throw new Unsure(`ipam.dataDir ${JSON.stringify(dataDir)} is relative (the reference resolves it against its working directory)`);
  const resolvConf = str(ipam.resolvConf, 'ipam.resolvConf');
  return { network, cniVersion, dataDir, ranges, requested, routes: routes(ipam.routes), ...(resolvConf ? { resolvConf } : {}) };
}
