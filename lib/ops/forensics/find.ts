// findIp / findMac / findIfname: which namespace(s) hold an address, a MAC or
// an interface name, on which interface, and through which holder one can
// reach it. The same unicast address (or MAC) in two namespaces is reported
// as a conflict: that is the ghost IP of FIELD-NOTES §3.
import ipaddr from 'ipaddr.js';
import * as v from '../../core/validate';
import { scanNamespaces } from './scan';
import { describeHolder } from './types';
import type { NetnsFlags, NetnsScan, ScannedNetns } from './types';

export interface FindMatch {
  netns: string;
  /** Names of the namespace (/run/netns, Docker's). */
  names: string[];
  /** The holder that leads to it, in one phrase. */
  via: string;
  /** A path that enters it (for nsenter --net=PATH), when one was found. */
  path?: string;
  flags: NetnsFlags;
  ifname: string;
  index: number;
  address?: string;
  prefixLen?: number;
  mac?: string;
}

export interface FindResult {
  kind: 'ip' | 'mac' | 'ifname';
  /** The query, normalised. */
  query: string;
  matches: FindMatch[];
  /** The distinct namespaces among the matches. */
  namespaces: string[];
  /** The same address (or MAC) configured in more than one namespace. */
  conflict: boolean;
}

export interface FindOptions {
  /** A scan made with `detail: true` to search instead of scanning again. */
  scan?: NetnsScan;
}

function base(ns: ScannedNetns): Omit<FindMatch, 'ifname' | 'index'> {
  return {
    netns: ns.id,
    names: ns.names.map((n) => n.path),
    via: describeHolder(ns),
    ...(ns.openedVia !== undefined ? { path: ns.openedVia } : {}),
    flags: ns.flags,
  };
}

async function namespacesOf(opts: FindOptions): Promise<ScannedNetns[]> {
  const scan = opts.scan ?? (await scanNamespaces({ all: true, detail: true }));
  return scan.namespaces;
}

function result(kind: FindResult['kind'], query: string, matches: FindMatch[], canConflict: boolean): FindResult {
  const namespaces = [...new Set(matches.map((m) => m.netns))];
  return { kind, query, matches, namespaces, conflict: canConflict && namespaces.length > 1 };
}

/**
 * Addresses every namespace may carry on its own without anyone being
 * confused: loopback, link-local (scoped to one link), unspecified.
 */
export function isLocalOnly(address: string): boolean {
  const range = ipaddr.parse(address).range();
  return range === 'loopback' || range === 'linkLocal' || range === 'unspecified';
}

/** Where an IPv4/IPv6 address is configured; a prefix ('10.0.0.3/24') is ignored. */
export async function findIp(addr: string, opts: FindOptions = {}): Promise<FindResult> {
  const text = v.str('addr', addr, 64);
  const query = v.ip('addr', text.includes('/') ? text.slice(0, text.indexOf('/')) : text).address;
  const matches: FindMatch[] = [];
  for (const ns of await namespacesOf(opts)) {
    for (const a of ns.addresses ?? []) {
      if (ipaddr.parse(a.address).toString() !== query) continue;
      matches.push({ ...base(ns), ifname: a.ifname, index: a.index, address: a.address, prefixLen: a.prefixLen });
    }
  }
  return result('ip', query, matches, !isLocalOnly(query));
}

/** Where a MAC address is the address of an interface. */
export async function findMac(mac: string, opts: FindOptions = {}): Promise<FindResult> {
  const query = v.mac('mac', mac, { allowMulticast: true, allowZero: true });
  const matches: FindMatch[] = [];
  for (const ns of await namespacesOf(opts)) {
    for (const l of ns.links ?? []) {
      if (l.address?.toLowerCase() !== query) continue;
      matches.push({ ...base(ns), ifname: l.name, index: l.index, mac: query });
    }
  }
  // Loopbacks all have the zero MAC: that is no conflict.
  return result('mac', query, matches, query !== '00:00:00:00:00:00');
}

/** Every namespace that has an interface of this name (eth0 in many is normal: never a conflict). */
export async function findIfname(name: string, opts: FindOptions = {}): Promise<FindResult> {
  const query = v.ifname('name', name);
  const matches: FindMatch[] = [];
  for (const ns of await namespacesOf(opts)) {
    for (const l of ns.links ?? []) {
      if (l.name !== query) continue;
      matches.push({ ...base(ns), ifname: l.name, index: l.index, ...(l.address !== undefined ? { mac: l.address } : {}) });
    }
  }
  return result('ifname', query, matches, false);
}
