// Input validation: every value a caller gives is checked here, before
// anything is sent, and a failure names the field, the value and the reason.
import ipaddr from 'ipaddr.js';
import { invalidArgument } from './errors';

export const IFNAMSIZ = 16; // including the NUL: names are at most 15 bytes

/** An interface name as the kernel accepts it (dev_valid_name). */
export function ifname(field: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgument(field, value, 'must be an interface name (a string)');
  const bytes = Buffer.byteLength(value);
  if (bytes === 0) throw invalidArgument(field, value, 'must not be empty');
  if (bytes >= IFNAMSIZ) throw invalidArgument(field, value, `is ${bytes} bytes long; interface names are at most ${IFNAMSIZ - 1} bytes`);
  if (value === '.' || value === '..') throw invalidArgument(field, value, 'is not allowed as an interface name');
  if (value.includes('/')) throw invalidArgument(field, value, "must not contain '/'");
  if (value.includes(':')) throw invalidArgument(field, value, "must not contain ':' (that is an address label)");
  if (/\s/.test(value)) throw invalidArgument(field, value, 'must not contain whitespace');
  return value;
}

/** A link reference: a name, or an ifindex. */
export function linkRef(field: string, value: unknown): string | number {
  if (typeof value === 'number') return uint(field, value, 1, 0x7fffffff);
  return ifname(field, value);
}

export function uint(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw invalidArgument(field, value, `must be an integer from ${min} to ${max}`);
  return value;
}

export function bool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(field, value, 'must be true or false');
  return value;
}

export function str(field: string, value: unknown, max = 255): string {
  if (typeof value !== 'string') throw invalidArgument(field, value, 'must be a string');
  if (Buffer.byteLength(value) > max) throw invalidArgument(field, value, `is longer than ${max} bytes`);
  return value;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw invalidArgument(field, value, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** MTU: 68 (the IPv4 minimum) to 65535. */
export function mtu(field: string, value: unknown): number {
  return uint(field, value, 68, 65535);
}

export function vlanId(field: string, value: unknown): number {
  return uint(field, value, 1, 4094);
}

export function vni(field: string, value: unknown): number {
  return uint(field, value, 0, 0xffffff);
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** A unicast MAC address, normalised to lower case. */
export function mac(field: string, value: unknown, opts: { allowMulticast?: boolean; allowZero?: boolean } = {}): string {
  if (typeof value !== 'string' || !MAC_RE.test(value))
    throw invalidArgument(field, value, 'is not a MAC address (six hex bytes separated by colons, e.g. 02:42:ac:11:00:02)');
  const lower = value.toLowerCase();
  const first = parseInt(lower.slice(0, 2), 16);
  if (lower === '00:00:00:00:00:00' && !opts.allowZero) throw invalidArgument(field, value, 'is the all-zeros address');
  if (first & 1 && !opts.allowMulticast) throw invalidArgument(field, value, 'is a multicast address (its first byte is odd)');
  return lower;
}

export interface IpAddress {
  family: 4 | 6;
  /** Normalised text form. */
  address: string;
}

export interface Cidr extends IpAddress {
  prefixLen: number;
}

// The one IPv4 form accepted: four decimal parts without leading zeros
// (ipaddr.js also reads 010.1, 0x0a.1 and 167772161, which no one means).
const FOUR_PART_DECIMAL = /^(0|[1-9]\d*)(\.(0|[1-9]\d*)){3}$/;

/** Parses once: each ipaddr.js check (isValid...) is a whole parse of its own, on every guest's calls. */
function parseOnce<T>(parse: () => T): T | null {
  try {
    return parse();
  } catch {
    return null;
  }
}

function parseIp(field: string, value: unknown, family?: 4 | 6): ipaddr.IPv4 | ipaddr.IPv6 {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6 | null = null;
  if (typeof value === 'string') {
    // ipaddr.js refuses a part over 255 (parse throws).
    if (FOUR_PART_DECIMAL.test(value)) parsed = parseOnce(() => ipaddr.IPv4.parse(value));
    else if (value.includes(':')) parsed = parseOnce(() => ipaddr.IPv6.parse(value));
  }
  if (!parsed) throw invalidArgument(field, value, 'is not an IPv4 or IPv6 address');
  const fam = parsed.kind() === 'ipv4' ? 4 : 6;
  if (family && fam !== family) throw invalidArgument(field, value, `is an IPv${fam} address; IPv${family} is needed here`);
  return parsed;
}

const familyOf = (a: ipaddr.IPv4 | ipaddr.IPv6): 4 | 6 => (a.kind() === 'ipv4' ? 4 : 6);

/** A bare IPv4 (dotted quad) or IPv6 address. */
export function ip(field: string, value: unknown, family?: 4 | 6): IpAddress {
  const parsed = parseIp(field, value, family);
  return { family: familyOf(parsed), address: parsed.toString() };
}

/**
 * Why no interface (and no gateway) can have this address, from its range
 * as ipaddr.js classifies it; null when it can.
 */
function notAHostAddress(a: ipaddr.IPv4 | ipaddr.IPv6): string | null {
  switch (a.range()) {
    case 'multicast':
      return 'is a multicast address';
    case 'broadcast':
      return 'is the limited broadcast address';
    case 'unspecified':
      return a.kind() === 'ipv4' ? 'is in 0.0.0.0/8 ("this network"), which is never an interface\'s address' : 'is the unspecified address';
    case 'ipv4Mapped':
      return `is an IPv4-mapped IPv6 address (write the IPv4 address ${(a as ipaddr.IPv6).toIPv4Address().toString()} instead)`;
    case 'loopback':
      return 'is a loopback address (it belongs on lo)';
    default:
      return null;
  }
}

/** The IPv4 broadcast address of a subnet with room for one (prefix shorter than /31). */
function subnetBroadcast(a: ipaddr.IPv4 | ipaddr.IPv6, prefixLen: number): string | undefined {
  if (a.kind() !== 'ipv4' || prefixLen >= 31) return undefined;
  return ipaddr.IPv4.broadcastAddressFromCIDR(`${a.toString()}/${prefixLen}`).toString();
}

function networkOf(c: Cidr): string {
  return `${ipaddr.IPv4.networkAddressFromCIDR(`${c.address}/${c.prefixLen}`).toString()}/${c.prefixLen}`;
}

/** An address an interface may hold, with its prefix: not multicast, broadcast, 0.0.0.0/8, ::, IPv4-mapped or loopback. */
export interface HostCidr extends Cidr {
  /** The subnet's broadcast address (IPv4, prefixes up to /30). */
  broadcast?: string;
}

export function hostCidr(field: string, value: unknown): HostCidr {
  const c = cidr(field, value);
  const parsed = ipaddr.parse(c.address);
  const why = notAHostAddress(parsed);
  if (why) throw invalidArgument(field, value, why);
  const broadcast = subnetBroadcast(parsed, c.prefixLen);
  if (broadcast === c.address) throw invalidArgument(field, value, `is the broadcast address of ${networkOf(c)}`);
  return broadcast ? { ...c, broadcast } : c;
}

/** A gateway for an interface that has `own` (when it has one): a unicast address other than its own. */
export function gateway(field: string, value: unknown, own?: HostCidr): IpAddress {
  const parsed = parseIp(field, value, own?.family);
  const why = notAHostAddress(parsed);
  if (why) throw invalidArgument(field, value, why);
  const address = parsed.toString();
  if (own && address === own.address) throw invalidArgument(field, value, "is the guest's own address: a gateway is another host on the link");
  if (own?.broadcast === address) throw invalidArgument(field, value, `is the broadcast address of ${networkOf(own)}`);
  return { family: familyOf(parsed), address };
}

/** "10.0.0.3/24" or "fe80::1/64". A prefix is required unless `defaultPrefix` is given. */
export function cidr(field: string, value: unknown, defaultPrefix?: { 4: number; 6: number }): Cidr {
  if (typeof value !== 'string') throw invalidArgument(field, value, 'must be an address with a prefix, e.g. 10.0.0.3/24');
  const slash = value.indexOf('/');
  if (slash < 0) {
    if (!defaultPrefix) throw invalidArgument(field, value, 'has no prefix length; write it as ADDRESS/PREFIX, e.g. 10.0.0.3/24');
    const a = ip(field, value);
    return { ...a, prefixLen: defaultPrefix[a.family] };
  }
  const a = ip(field, value.slice(0, slash));
  const p = value.slice(slash + 1);
  const max = a.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(p) || Number(p) > max)
    throw invalidArgument(field, value, `has a bad prefix length '${p}' (0 to ${max} for IPv${a.family})`);
  return { ...a, prefixLen: Number(p) };
}

/** Rejects keys that no option of this call knows: a typo must not be silently ignored. */
export function knownKeys(field: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const where = field ? `${field}.${key}` : key;
      throw invalidArgument(where, (value as Record<string, unknown>)[key], `is not a known option (known: ${allowed.join(', ')})`);
    }
  }
}

export function object(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidArgument(field, value, 'must be an object');
  return value as Record<string, unknown>;
}

/** The kernel requires an IPv4 address label to start with the device name. */
export function labelError(label: string, dev: string) {
  return invalidArgument('label', label, `must start with the device name '${dev}' (e.g. '${dev}:1')`);
}
