// What an attach is asked to do, validated and with pipework's defaults
// filled in, before anything is looked up or created.
import type { Handle } from '../../core/handle';
import type { GuestRef } from '../guest';
import * as v from '../../core/validate';
import { invalidArgument } from '../../core/errors';
import { macFromSeed } from './names';
import { inSubnet } from './subnet';

export type DhcpClient = 'dhcp' | 'udhcpc' | 'dhclient' | 'dhcpcd';

export interface DhcpSpec {
  client: DhcpClient;
  /** Keep the client running (pipework's "-f"): renewals keep working. */
  foreground?: boolean;
  /** Extra client arguments (pipework's "dhcp:OPTS"). */
  options?: string[];
  /** How long to wait for a lease. */
  timeoutMs?: number;
}

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
  /** Ownership tag written into the host end's ifalias (default 'pipewright'). */
  owner?: string;
  /** Link group of the host end, for bulk removal (default PIPEWRIGHT_GROUP). */
  group?: number;
  /** Where the host interface lives (default: a handle in the current namespace). */
  host?: Handle;
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

/** The link group pipewright puts its host ends in ("pw" in ASCII). */
export const PIPEWRIGHT_GROUP = 0x7077;

export interface NormalizedSpec {
  hostIf: string;
  hostIfMac?: string;
  guestIf: string;
  hostEnd?: string;
  /** With its subnet's broadcast address (IPv4). */
  address?: v.HostCidr;
  gateway?: v.IpAddress;
  /** The gateway is outside the address's subnet: it needs an on-link host route first. */
  gatewayOnLink?: boolean;
  mac?: string;
  vlan?: number;
  directPhys: boolean;
  mtu?: number;
  dhcp?: DhcpSpec;
  arp: boolean;
  owner: string;
  group: number;
  watchMs: number;
  watchSignal?: AbortSignal;
  repair: boolean;
}

const KEYS = ['hostIf', 'guest', 'guestIf', 'hostEnd', 'address', 'gateway', 'mac', 'vlan', 'directPhys', 'mtu', 'dhcp', 'arp', 'owner', 'group', 'host', 'watchMs', 'watchSignal', 'repair', 'runDir'];

export function normalizeSpec(spec: AttachSpec): NormalizedSpec {
  const o = v.object('spec', spec);
  v.knownKeys('', o, KEYS);
  if (o.guest === undefined) throw invalidArgument('guest', undefined, 'is required');
  const out: NormalizedSpec = {
    hostIf: '',
    guestIf: o.guestIf === undefined ? 'eth1' : v.ifname('guestIf', o.guestIf),
    directPhys: o.directPhys === undefined ? false : v.bool('directPhys', o.directPhys),
    arp: o.arp === undefined ? true : v.bool('arp', o.arp),
    owner: o.owner === undefined ? 'pipewright' : v.str('owner', o.owner, 64),
    group: o.group === undefined ? PIPEWRIGHT_GROUP : v.uint('group', o.group, 1, 0xffffffff),
    watchMs: o.watchMs === undefined ? 0 : v.uint('watchMs', o.watchMs, 0, 3_600_000),
    repair: o.repair === undefined ? false : v.bool('repair', o.repair),
  };
  if (out.owner === '') throw invalidArgument('owner', out.owner, 'is empty: an owner tag names who made the attachment');
  if (o.watchSignal !== undefined) {
    if (!(o.watchSignal instanceof AbortSignal)) throw invalidArgument('watchSignal', o.watchSignal, 'must be an AbortSignal');
    out.watchSignal = o.watchSignal;
  }
  if (/\s/.test(out.owner)) throw invalidArgument('owner', out.owner, 'must not contain whitespace');
  const hostIf = v.str('hostIf', o.hostIf, 64);
  if (hostIf.startsWith('mac:')) {
    out.hostIfMac = v.mac('hostIf', hostIf.slice(4), { allowMulticast: true });
    out.hostIf = hostIf;
  } else out.hostIf = v.ifname('hostIf', hostIf);
  if (o.hostEnd !== undefined) out.hostEnd = v.ifname('hostEnd', o.hostEnd);
  if (o.address !== undefined && o.address !== '0/0') out.address = v.hostCidr('address', o.address);
  if (o.gateway !== undefined) {
    out.gateway = v.gateway('gateway', o.gateway, out.address);
    out.gatewayOnLink = !out.address || !inSubnet(out.gateway.address, out.address);
  }
  if (o.mac !== undefined) {
    const m = v.str('mac', o.mac, 200);
    out.mac = m.startsWith('U:') ? macFromSeed(m.slice(2)) : v.mac('mac', m);
  }
  if (o.vlan !== undefined) out.vlan = v.vlanId('vlan', o.vlan);
  if (o.mtu !== undefined) out.mtu = v.mtu('mtu', o.mtu);
  if (o.dhcp !== undefined) {
    const d = v.object('dhcp', o.dhcp);
    v.knownKeys('dhcp', d, ['client', 'foreground', 'options', 'timeoutMs']);
    const client = v.oneOf('dhcp.client', d.client, ['dhcp', 'udhcpc', 'dhclient', 'dhcpcd'] as const);
    if (d.options !== undefined && !Array.isArray(d.options)) throw invalidArgument('dhcp.options', d.options, 'must be an array of strings');
    const options = d.options === undefined ? [] : (d.options as unknown[]).map((x, i) => v.str(`dhcp.options[${i}]`, x, 4096));
    out.dhcp = {
      client,
      foreground: d.foreground === undefined ? false : v.bool('dhcp.foreground', d.foreground),
      options,
      timeoutMs: d.timeoutMs === undefined ? 30_000 : v.uint('dhcp.timeoutMs', d.timeoutMs, 100, 600_000),
    };
    if (out.address) throw invalidArgument('dhcp', o.dhcp, 'cannot be combined with a static address');
  }
  if (out.address === undefined && out.gateway) throw invalidArgument('gateway', o.gateway, 'needs an address (ADDRESS/PREFIX@GATEWAY)');
  if (out.directPhys && o.hostEnd !== undefined) throw invalidArgument('hostEnd', o.hostEnd, 'has no meaning with directPhys (the device itself moves)');
  return out;
}
