// What an attach is asked to do, validated once and with pipework's defaults
// filled in, before anything is looked up or created. Every way of asking —
// the library call, the command line's positional and named forms, a batch
// line, a batch JSON plan — ends in buildSpec(), and everything below
// (inspection, the plan, the journal, the steps) reads the frozen result: the
// address, prefix and gateway are carried parsed, never re-read from text,
// and nothing writes to the spec (what an attach decides as it goes, such as
// the host end's generated name, lives in its context).
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import type { GuestRef } from '../guest';
import type { Link } from '../../core/types';
import * as v from '../../core/validate';
import { invalidArgument } from '../../core/errors';
import { macFromSeed } from './names';
import { inSubnet } from './subnet';
import { PIPEWRIGHT_GROUP } from '../ownership/marks';
import { DHCP_CLIENTS, type DhcpSpec } from '../dhcp/spec';

export type { DhcpClient, DhcpSpec } from '../dhcp/spec';

export interface AttachSpec {
  /** A bridge ('br0', created when missing and named br*), another device (macvlan on it), or 'mac:HOSTMAC'. */
  hostIf: string;
  guest: GuestRef;
  /** Interface name inside the guest (pipework's -i); default eth1. */
  guestIf?: string;
  /** Name of the host end of the veth (pipework's -l); default v<guestIf>pl<pid>. */
  hostEnd?: string;
  /** 'IP/PREFIX' (v4 or v6), or '0/0' for an interface without an address. */
  address?: string;
  gateway?: string;
  /** A MAC for the guest interface, or 'U:SEED' for a stable one derived from SEED. */
  mac?: string;
  /** 802.1Q tag: the guest is attached to HOSTIF.VLAN (created when missing). */
  vlan?: number;
  /** Move the host device itself into the guest instead of a macvlan on it. */
  directPhys?: boolean;
  /** Default: the host interface's MTU. */
  mtu?: number;
  dhcp?: DhcpSpec;
  /** Announce the address with a gratuitous ARP (default true). */
  arp?: boolean;
  /**
   * Whether the guest interface makes an IPv6 link-local address (and so
   * sends DAD, MLD and router solicitations, flooded to every port of the
   * bridge). Default: not when it is given an IPv4 address only, as Docker
   * leaves IPv6 off on IPv4-only interfaces; yes with an IPv6 address, DHCP,
   * no address, or directPhys (the host's own device is not changed).
   */
  ipv6LinkLocal?: boolean;
  /** Ownership tag written into the host end's ifalias (default 'pipewright'). */
  owner?: string;
  /** Link group of the host end, for bulk removal (default PIPEWRIGHT_GROUP). */
  group?: number;
  /** Where the host interface lives (default: a handle in the current namespace). */
  host?: Handle;
  /** A handle the caller has open in the guest (guest then being its Netns): used instead of opening another; borrowed, never closed. */
  guestHandle?: Handle;
  /**
   * The host interface as the caller has just read it with `host` (the link
   * named hostIf): used instead of looking it up again. Taken as it is: a
   * link gone or changed since makes the attach fail and roll back, as one
   * changed during any attach does.
   */
  hostIfLink?: Link;
  /** After success, watch the host end this long and report whatever undoes the attachment. */
  watchMs?: number;
  /**
   * Ends the watch before watchMs when aborted, e.g. once the agent that
   * interferes has said it is done. The port is read back one last time
   * first, so a change made just before the abort is still seen.
   */
  watchSignal?: AbortSignal;
  /** Put the port back (up, enslaved) when something undoes it: at verification, and while watching. */
  repair?: boolean;
  /** Named namespaces directory (default /run/netns). */
  runDir?: string;
}

/** A DHCP request with every default filled in. */
export interface NormalizedDhcp {
  readonly client: DhcpSpec['client'];
  readonly foreground: boolean;
  readonly options: readonly string[];
  readonly timeoutMs: number;
}

/** An attach as validated: frozen (nested values too), the same whichever way it was asked for. */
export interface NormalizedSpec {
  readonly hostIf: string;
  /** hostIf given as 'mac:HOSTMAC': the MAC, normalised. */
  readonly hostIfMac?: string;
  readonly guest: GuestRef;
  /** The caller's handle for the host side (not frozen: it is a live object). */
  readonly host?: Handle;
  /** The caller's handle in the guest (likewise live, not frozen). */
  readonly guestHandle?: Handle;
  /** The host interface as the caller read it. */
  readonly hostIfLink?: Readonly<Link>;
  readonly runDir?: string;
  readonly guestIf: string;
  /** The host end's name as given; when none is given, the plan chooses one (Ctx.hostEndName). */
  readonly hostEnd?: string;
  /** With its subnet's broadcast address (IPv4). */
  readonly address?: Readonly<v.HostCidr>;
  readonly gateway?: Readonly<v.IpAddress>;
  /** The gateway is outside the address's subnet: it needs an on-link host route first. */
  readonly gatewayOnLink?: boolean;
  readonly mac?: string;
  readonly vlan?: number;
  readonly directPhys: boolean;
  readonly mtu?: number;
  readonly dhcp?: NormalizedDhcp;
  readonly arp: boolean;
  /** As given, or the default for the address; undefined: the caller's guest settings decide (plan.ts), kept when there are none. */
  readonly ipv6LinkLocal?: boolean;
  readonly owner: string;
  readonly group: number;
  readonly watchMs: number;
  readonly watchSignal?: AbortSignal;
  readonly repair: boolean;
}

const KEYS = ['hostIf', 'guest', 'guestIf', 'hostEnd', 'address', 'gateway', 'mac', 'vlan', 'directPhys', 'mtu', 'dhcp', 'arp', 'ipv6LinkLocal', 'owner', 'group', 'host', 'guestHandle', 'hostIfLink', 'watchMs', 'watchSignal', 'repair', 'runDir'];

/** Specs this module built: handed back in, they are taken as they are. */
const built = new WeakSet<object>();

/** True for a spec buildSpec() returned (or withRefs() derived from one). */
export function isBuiltSpec(spec: unknown): spec is NormalizedSpec {
  return typeof spec === 'object' && spec !== null && built.has(spec);
}

function seal(spec: Record<string, unknown>): NormalizedSpec {
  const out = Object.freeze(spec) as unknown as NormalizedSpec;
  built.add(out);
  return out;
}

function buildDhcp(given: unknown): NormalizedDhcp {
  const d = v.object('dhcp', given);
  v.knownKeys('dhcp', d, ['client', 'foreground', 'options', 'timeoutMs']);
  const client = v.oneOf('dhcp.client', d.client, DHCP_CLIENTS);
  if (d.options !== undefined && !Array.isArray(d.options)) throw invalidArgument('dhcp.options', d.options, 'must be an array of strings');
  const options = d.options === undefined ? [] : (d.options as unknown[]).map((x, i) => v.str(`dhcp.options[${i}]`, x, 4096));
  return Object.freeze({
    client,
    foreground: d.foreground === undefined ? false : v.bool('dhcp.foreground', d.foreground),
    options: Object.freeze(options),
    timeoutMs: d.timeoutMs === undefined ? 30_000 : v.uint('dhcp.timeoutMs', d.timeoutMs, 100, 600_000),
  });
}

/**
 * The one spec builder: validates every field (an error names the field,
 * the value and why: ERR_PW_INVALID_ARGUMENT), fills the defaults, parses
 * the address and gateway, and returns a frozen spec. A spec it built is
 * returned unchanged, so a layer handed one does not check it again.
 */
export function buildSpec(spec: AttachSpec | NormalizedSpec): NormalizedSpec {
  if (isBuiltSpec(spec)) return spec;
  const o = v.object('spec', spec);
  v.knownKeys('', o, KEYS);
  if (o.guest === undefined) throw invalidArgument('guest', undefined, 'is required');
  const guestIf = o.guestIf === undefined ? 'eth1' : v.ifname('guestIf', o.guestIf);
  const directPhys = o.directPhys === undefined ? false : v.bool('directPhys', o.directPhys);
  const arp = o.arp === undefined ? true : v.bool('arp', o.arp);
  const owner = o.owner === undefined ? 'pipewright' : v.str('owner', o.owner, 64);
  const group = o.group === undefined ? PIPEWRIGHT_GROUP : v.uint('group', o.group, 1, 0xffffffff);
  const watchMs = o.watchMs === undefined ? 0 : v.uint('watchMs', o.watchMs, 0, 3_600_000);
  const repair = o.repair === undefined ? false : v.bool('repair', o.repair);
  if (owner === '') throw invalidArgument('owner', owner, 'is empty: an owner tag names who made the attachment');
  if (o.watchSignal !== undefined && !(o.watchSignal instanceof AbortSignal)) throw invalidArgument('watchSignal', o.watchSignal, 'must be an AbortSignal');
  if (/\s/.test(owner)) throw invalidArgument('owner', owner, 'must not contain whitespace');
  const out: Record<string, unknown> = { hostIf: '' };
  const hostIf = v.str('hostIf', o.hostIf, 64);
  if (hostIf.startsWith('mac:')) {
    out.hostIfMac = v.mac('hostIf', hostIf.slice(4), { allowMulticast: true });
    out.hostIf = hostIf;
  } else out.hostIf = v.ifname('hostIf', hostIf);
  out.guest = o.guest;
  if (o.host !== undefined) out.host = o.host;
  if (o.guestHandle !== undefined) {
    if (!(o.guestHandle instanceof Handle) || !(o.guest instanceof Netns) || o.guestHandle.netns !== o.guest)
      throw invalidArgument('guestHandle', o.guestHandle, 'must be a Handle opened on the Netns given as guest');
    out.guestHandle = o.guestHandle;
  }
  if (o.hostIfLink !== undefined) {
    const l = o.hostIfLink as Partial<Link> | null;
    if (o.host === undefined) throw invalidArgument('hostIfLink', o.hostIfLink, 'needs host: the handle it was read with');
    if (typeof l !== 'object' || l === null || !Number.isInteger(l.index) || l.name !== out.hostIf)
      throw invalidArgument('hostIfLink', o.hostIfLink, `must be the link named '${out.hostIf}' as read with host (an object with its index and name)`);
    out.hostIfLink = Object.freeze({ ...l });
  }
  if (o.runDir !== undefined) out.runDir = o.runDir;
  out.guestIf = guestIf;
  if (o.hostEnd !== undefined) out.hostEnd = v.ifname('hostEnd', o.hostEnd);
  let address: v.HostCidr | undefined;
  if (o.address !== undefined && o.address !== '0/0') out.address = Object.freeze((address = v.hostCidr('address', o.address)));
  if (o.gateway !== undefined) {
    const gateway = v.gateway('gateway', o.gateway, address);
    out.gateway = Object.freeze(gateway);
    out.gatewayOnLink = !address || !inSubnet(gateway.address, address);
  }
  if (o.mac !== undefined) {
    const m = v.str('mac', o.mac, 200);
    out.mac = m.startsWith('U:') ? macFromSeed(m.slice(2)) : v.mac('mac', m);
  }
  if (o.vlan !== undefined) out.vlan = v.vlanId('vlan', o.vlan);
  out.directPhys = directPhys;
  if (o.mtu !== undefined) out.mtu = v.mtu('mtu', o.mtu);
  if (o.dhcp !== undefined) {
    out.dhcp = buildDhcp(o.dhcp);
    if (address) throw invalidArgument('dhcp', o.dhcp, 'cannot be combined with a static address');
  }
  if (address === undefined && out.gateway) throw invalidArgument('gateway', o.gateway, 'needs an address (ADDRESS/PREFIX@GATEWAY)');
  if (directPhys && o.hostEnd !== undefined) throw invalidArgument('hostEnd', o.hostEnd, 'has no meaning with directPhys (the device itself moves)');
  if (o.ipv6LinkLocal !== undefined) {
    out.ipv6LinkLocal = v.bool('ipv6LinkLocal', o.ipv6LinkLocal);
    if (directPhys && !out.ipv6LinkLocal) throw invalidArgument('ipv6LinkLocal', o.ipv6LinkLocal, "cannot be false with directPhys: the device is the host's own, and its IPv6 settings are not changed");
  } else if (directPhys || out.dhcp) out.ipv6LinkLocal = true;
  else if (address) out.ipv6LinkLocal = address.family === 6;
  Object.assign(out, { arp, owner, group, watchMs, repair });
  if (o.watchSignal !== undefined) out.watchSignal = o.watchSignal;
  return seal(out);
}

/**
 * The same spec for another guest or host: what a batch does when it has
 * created the guest's namespace or shares one host handle. Neither is a
 * validated value (the guest is resolved when the attach opens it), so the
 * rest is kept as built.
 */
export function withRefs(spec: NormalizedSpec, refs: { guest?: GuestRef; host?: Handle; watchSignal?: AbortSignal }): NormalizedSpec {
  const base = buildSpec(spec);
  return seal({
    ...base,
    ...(refs.guest !== undefined ? { guest: refs.guest } : {}),
    ...(refs.host !== undefined ? { host: refs.host } : {}),
    ...(refs.watchSignal !== undefined ? { watchSignal: refs.watchSignal } : {}),
  });
}
