// Addresses as the reference host-local plugin sees them: numbers of 32 or
// 128 bits, an IPv4-mapped IPv6 address taken as the IPv4 address it maps
// (its canonicalizeIP), and written the way Go's net.IP.String() writes them
// (the store's file names and last_reserved_ip contents are those strings,
// so a byte-identical store needs the same spelling: RFC 5952, lower case,
// the longest run of two or more zero groups as "::", the first on a tie).
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Ip {
  family: Family;
  value: bigint;
}

export interface Subnet {
  ip: Ip;
  prefix: number;
}

export const bits = (f: Family): number => (f === 4 ? 32 : 128);

/** An address in any spelling Go's net.ParseIP accepts (IPv4 dotted quad, IPv6), or null. */
export function parseIp(s: string): Ip | null {
  if (isIPv4(s)) return { family: 4, value: s.split('.').reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n) };
  if (!isIPv6(s) || s.includes('%')) return null;
  const v = v6Value(s);
  // ::ffff:a.b.c.d (in any spelling) is the IPv4 address.
  if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
  return { family: 6, value: v };
}

function v6Value(s: string): bigint {
  // isIPv6 has checked the spelling; a trailing dotted quad is two more groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  let text = s;
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${s.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length > 1 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Go's net.IP.String(). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((sh) => String((ip.value >> sh) & 0xffn)).join('.');
  const g = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** "ADDR/PREFIX" as net.ParseCIDR reads it (no host-bits check here), or null. */
export function parseCidr(s: string): Subnet | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const p = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p)) return null;
  const prefix = Number(p);
  // net.ParseCIDR keeps an IPv4-mapped IPv6 address with an IPv6 prefix as IPv6; only a dotted quad is IPv4.
  const ip = isIPv4(addr) ? parseIp(addr) : isIPv6(addr) && !addr.includes('%') ? { family: 6 as const, value: v6Value(addr) } : null;
  if (!ip || prefix > bits(ip.family)) return null;
  return { ip, prefix };
}

export function mask(s: Subnet): bigint {
  const b = BigInt(bits(s.ip.family));
  return ((1n << b) - 1n) ^ ((1n << (b - BigInt(s.prefix))) - 1n);
}

export function formatCidr(ip: Ip, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}

export const sameIp = (a: Ip | null | undefined, b: Ip | null | undefined): boolean => !!a && !!b && a.family === b.family && a.value === b.value;
