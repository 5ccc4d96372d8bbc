// CNI results: one internal form, read from any version's JSON (an IPAM
// plugin's answer, a prevResult) and written in the version the
// configuration asks for. Reading checks every field it keeps, so a bad
// prevResult or IPAM answer is refused with the field that is wrong.
import { CniError, CNI_ERR, show } from './errors';
import { atLeast } from './version';
import * as v from '../../core/validate';

export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0 */
  mtu?: number;
  sandbox?: string;
  /** 1.1.0 */
  socketPath?: string;
  /** 1.1.0 */
  pciID?: string;
}

export interface CniIp {
  /** ADDRESS/PREFIX */
  address: string;
  gateway?: string;
  /** Index into interfaces. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  /** 1.1.0 */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: CniDns;
}

export function emptyResult(): CniResult {
  return { interfaces: [], ips: [], routes: [], dns: {} };
}

function decodeError(where: string, field: string, value: unknown, why: string): CniError {
  return new CniError(CNI_ERR.DECODE, `failed to decode ${where}: ${field}: ${show(value)} ${why}`);
}

function strList(where: string, field: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) throw decodeError(where, field, value, 'must be a list of strings');
  return value as string[];
}

function optUint(where: string, field: string, value: unknown, max = 0xffffffff): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) throw decodeError(where, field, value, `must be an integer from 0 to ${max}`);
  return value;
}

function checked<T>(where: string, field: string, value: unknown, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw decodeError(where, field, value, (e as Error).message.replace(/^[^:]*: ("[^"]*"|\S+) /, ''));
  }
}

/**
 * A result in any supported version's form (0.3.0 to 1.1.0). `where` names
 * it in errors ("prevResult", "the IPAM plugin's result").
 */
export function parseResult(raw: unknown, where: string): CniResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw decodeError(where, 'result', raw, 'must be an object');
  const o = raw as Record<string, unknown>;
  if (o.ip4 !== undefined || o.ip6 !== undefined) throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `${where} is in the 0.2.0 form (ip4/ip6), which pipewright does not read`);
  const out = emptyResult();
  const list = (k: string): unknown[] => {
    const x = o[k];
    if (x === undefined || x === null) return [];
    if (!Array.isArray(x)) throw decodeError(where, k, x, 'must be a list');
    return x;
  };
  list('interfaces').forEach((x, i) => {
    const f = `interfaces[${i}]`;
    if (typeof x !== 'object' || x === null) throw decodeError(where, f, x, 'must be an object');
    const it = x as Record<string, unknown>;
    if (typeof it.name !== 'string' || it.name === '') throw decodeError(where, `${f}.name`, it.name, 'must be a non-empty string');
    const iface: CniInterface = { name: it.name };
    if (it.mac !== undefined && it.mac !== '') {
      if (typeof it.mac !== 'string') throw decodeError(where, `${f}.mac`, it.mac, 'must be a string');
      iface.mac = it.mac;
    }
    const mtu = optUint(where, `${f}.mtu`, it.mtu, 65535);
    if (mtu) iface.mtu = mtu;
    for (const k of ['sandbox', 'socketPath', 'pciID'] as const) {
      if (it[k] === undefined || it[k] === '') continue;
      if (typeof it[k] !== 'string') throw decodeError(where, `${f}.${k}`, it[k], 'must be a string');
      iface[k] = it[k] as string;
    }
    out.interfaces.push(iface);
  });
  list('ips').forEach((x, i) => {
    const f = `ips[${i}]`;
    if (typeof x !== 'object' || x === null) throw decodeError(where, f, x, 'must be an object');
    const ip = x as Record<string, unknown>;
    const c = checked(where, `${f}.address`, ip.address, () => v.cidr(`${f}.address`, ip.address));
    const entry: CniIp = { address: `${c.address}/${c.prefixLen}` };
    if (ip.version !== undefined && ip.version !== String(c.family)) throw decodeError(where, `${f}.version`, ip.version, `does not match the address ${entry.address} (IPv${c.family})`);
    if (ip.gateway !== undefined && ip.gateway !== null && ip.gateway !== '') entry.gateway = checked(where, `${f}.gateway`, ip.gateway, () => v.ip(`${f}.gateway`, ip.gateway, c.family)).address;
    const idx = optUint(where, `${f}.interface`, ip.interface);
    if (idx !== undefined) {
      if (idx >= out.interfaces.length) throw decodeError(where, `${f}.interface`, idx, `points past the ${out.interfaces.length} interface(s) listed`);
      entry.interface = idx;
    }
    out.ips.push(entry);
  });
  list('routes').forEach((x, i) => {
    const f = `routes[${i}]`;
    if (typeof x !== 'object' || x === null) throw decodeError(where, f, x, 'must be an object');
    const r = x as Record<string, unknown>;
    const c = checked(where, `${f}.dst`, r.dst, () => v.cidr(`${f}.dst`, r.dst));
    const route: CniRoute = { dst: `${c.address}/${c.prefixLen}` };
    if (r.gw !== undefined && r.gw !== null && r.gw !== '') route.gw = checked(where, `${f}.gw`, r.gw, () => v.ip(`${f}.gw`, r.gw, c.family)).address;
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      const n = optUint(where, `${f}.${k}`, r[k]);
      if (n !== undefined) route[k] = n;
    }
    out.routes.push(route);
  });
  if (o.dns !== undefined && o.dns !== null) {
    if (typeof o.dns !== 'object' || Array.isArray(o.dns)) throw decodeError(where, 'dns', o.dns, 'must be an object');
    out.dns = parseDns(where, 'dns', o.dns as Record<string, unknown>);
  }
  return out;
}

export function parseDns(where: string, field: string, d: Record<string, unknown>): CniDns {
  const dns: CniDns = {};
  if (d.nameservers != null) dns.nameservers = strList(where, `${field}.nameservers`, d.nameservers);
  if (d.domain != null && d.domain !== '') {
    if (typeof d.domain !== 'string') throw decodeError(where, `${field}.domain`, d.domain, 'must be a string');
    dns.domain = d.domain;
  }
  if (d.search != null) dns.search = strList(where, `${field}.search`, d.search);
  if (d.options != null) dns.options = strList(where, `${field}.options`, d.options);
  return dns;
}

/** The result as JSON of the given version: fields that version lacks are left out, 0.3.x/0.4.0 ips carry "version". */
export function renderResult(r: CniResult, cniVersion: string): Record<string, unknown> {
  const v11 = atLeast(cniVersion, '1.1.0');
  const pre1 = !atLeast(cniVersion, '1.0.0');
  const interfaces = r.interfaces.map((i) => {
    const o: Record<string, unknown> = { name: i.name };
    if (i.mac) o.mac = i.mac;
    if (v11 && i.mtu) o.mtu = i.mtu;
    if (i.sandbox) o.sandbox = i.sandbox;
    if (v11 && i.socketPath) o.socketPath = i.socketPath;
    if (v11 && i.pciID) o.pciID = i.pciID;
    return o;
  });
  const ips = r.ips.map((ip) => {
    const o: Record<string, unknown> = {};
    if (pre1) o.version = ip.address.includes(':') ? '6' : '4';
    if (ip.interface !== undefined) o.interface = ip.interface;
    o.address = ip.address;
    if (ip.gateway) o.gateway = ip.gateway;
    return o;
  });
  const routes = r.routes.map((rt) => {
    const o: Record<string, unknown> = { dst: rt.dst };
    if (rt.gw) o.gw = rt.gw;
    if (v11) for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (rt[k] !== undefined) o[k] = rt[k];
    return o;
  });
  const out: Record<string, unknown> = { cniVersion };
  if (interfaces.length) out.interfaces = interfaces;
  if (ips.length) out.ips = ips;
  if (routes.length) out.routes = routes;
  out.dns = { ...r.dns };
  return out;
}
