// The shapes of what the kernel reports (decoded by the addon) and of what
// callers ask for. Specs accept a link by name or ifindex (LinkRef).
import type { Netns } from './netns';
import type { AddrGenModeName } from './op-types';

/** A link by name ('br0') or ifindex (7). */
export type LinkRef = string | number;

export type LinkKind = 'veth' | 'bridge' | 'macvlan' | 'macvtap' | 'vxlan' | 'vlan' | 'dummy' | 'ifb';
export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
export type PortState = 'disabled' | 'listening' | 'learning' | 'forwarding' | 'blocking';

export interface Link {
  index: number;
  name: string;
  /** null for devices without rtnl_link_ops (lo, physical NICs). */
  kind: string | null;
  /** Raw IFF_* flags. */
  flags: number;
  up: boolean;
  lowerUp: boolean;
  operstate?: OperState;
  mtu?: number;
  address?: string;
  broadcast?: string;
  /** ifindex of the bridge (or other master) it is enslaved to. */
  master: number | null;
  /**
   * A veth's peer index, or a macvlan/vlan/vxlan's lower device (IFLA_LINK,
   * as the kernel sends it; it may equal this link's own index when the
   * other device is in another namespace).
   */
  link?: number;
  /**
   * Set when `link` is in another namespace: the id this namespace gives it
   * (IFLA_LINK_NETNSID). Only (link, linkNetnsId) together identify the device.
   */
  linkNetnsId?: number;
  group?: number;
  txqlen?: number;
  /** How many transmit and receive queues the link has (the most it can use; a veth uses one of each unless told otherwise). */
  txQueues?: number;
  rxQueues?: number;
  alias?: string;
  carrier?: boolean;
  /** How the kernel makes the link's IPv6 link-local address ('none': it makes none); absent when the link has no IPv6 (the kernel's ipv6.disable). */
  ipv6AddrGenMode?: AddrGenModeName | number;
  /** Present when the link is a port of a bridge (or other master). */
  port?: { kind: string; state?: PortState; hairpin?: boolean; learning?: boolean; cost?: number };
  bridge?: { stp?: boolean; forwardDelay?: number; ageingTime?: number; priority?: number; vlanFiltering?: boolean; multicastSnooping?: boolean };
  vxlan?: { vni?: number; port?: number; dev?: number; local?: string; remote?: string; multicastGroup?: string | null; ttl?: number; learning?: boolean; ageing?: number };
  mode?: MacvlanMode;
  vlanId?: number;
  protocol?: '802.1Q' | '802.1ad';
  stats?: { rxPackets: number; txPackets: number; rxBytes: number; txBytes: number; rxErrors: number; txErrors: number; rxDropped: number; txDropped: number };
}

/** Where a link should live: a namespace object, or a process's namespace by PID. */
export type NetnsTarget = Netns | { pid: number };

/** What every link spec may give (link.add). */
export interface CommonLinkOptions extends LinkQueues {
  mtu?: number;
  /** MAC address. */
  address?: string;
  up?: boolean;
  /** Bridge to enslave to (name or index); null releases it (set only). */
  master?: LinkRef | null;
  /** Link group (bulk delete by group). */
  group?: number;
  /** ifalias; '' clears it (set only). */
  alias?: string;
  /** Create (or move) the link in another namespace. */
  netns?: NetnsTarget;
  txqlen?: number;
}

export interface VethPeer {
  name?: string;
  mtu?: number;
  address?: string;
  up?: boolean;
  group?: number;
  /** Create the peer directly inside this namespace, under its final name. */
  netns?: NetnsTarget;
  /** As LinkQueues, for the peer (the link's own are not the peer's). */
  txQueues?: number;
  rxQueues?: number;
}

/**
 * How many transmit and receive queues a link is created with (1-4096;
 * creation only). Unset, the kernel chooses: for a veth, one per possible
 * CPU, of which it uses one each way. One of each spares the kernel the
 * reduction to one, which waits out an RCU grace period per end
 * (design-notes, "Kernel facts"); the cost is that `ethtool -L` cannot
 * raise them later.
 */
export interface LinkQueues {
  txQueues?: number;
  rxQueues?: number;
}

export interface VethSpec extends CommonLinkOptions { kind: 'veth'; name: string; peer?: VethPeer }
/** A bridge's own settings: given when it is created, or changed later (LinkChanges.bridge). */
export interface BridgeSettings {
  stp?: boolean;
  /** Centiseconds, as the kernel takes it. */
  forwardDelay?: number;
  ageingTime?: number;
  priority?: number;
  vlanFiltering?: boolean;
  multicastSnooping?: boolean;
}
export interface BridgeSpec extends CommonLinkOptions, BridgeSettings {
  kind: 'bridge';
  name: string;
}
export interface MacvlanSpec extends CommonLinkOptions { kind: 'macvlan' | 'macvtap'; name: string; parent: LinkRef; mode?: MacvlanMode }
export interface VxlanSpec extends CommonLinkOptions {
  kind: 'vxlan';
  name: string;
  vni: number;
  /** UDP destination port; the kernel's default is 8472, IANA's 4789. */
  port?: number;
  local?: string;
  /** Unicast remote VTEP (exclusive with multicastGroup). */
  remote?: string;
  /** Multicast group (exclusive with remote). */
  multicastGroup?: string;
  /** Lower device. */
  dev?: LinkRef;
  learning?: boolean;
  ttl?: number;
  ageing?: number;
}
export interface VlanSpec extends CommonLinkOptions { kind: 'vlan'; name: string; parent: LinkRef; vlanId: number; protocol?: '802.1Q' | '802.1ad' }
export interface SimpleSpec extends CommonLinkOptions { kind: 'dummy' | 'ifb'; name: string }

export type LinkSpec = VethSpec | BridgeSpec | MacvlanSpec | VxlanSpec | VlanSpec | SimpleSpec;

export interface LinkChanges {
  /** Rename. */
  name?: string;
  up?: boolean;
  mtu?: number;
  address?: string;
  master?: LinkRef | null;
  group?: number;
  alias?: string;
  netns?: NetnsTarget;
  txqlen?: number;
  /** A bridge's own settings, changed in place (the link must be a bridge). */
  bridge?: BridgeSettings;
  /**
   * How the kernel makes the link's IPv6 link-local address, as `ip link set
   * DEV addrgenmode` sets it: 'none' makes none, so the link sends no DAD,
   * MLD report or router solicitation of its own. Given with `up: true`,
   * it is sent first, in the same hop (the kernel would apply it after the
   * up, when the address is already made).
   */
  ipv6AddrGenMode?: AddrGenModeName;
}

export type AddrScope = 'universe' | 'site' | 'link' | 'host' | 'nowhere';

export interface Address {
  index: number;
  family: 4 | 6;
  /** The interface's own address (IFA_LOCAL). */
  address: string;
  prefixLen: number;
  /** Point-to-point peer, when it differs from the local address. */
  peer?: string;
  broadcast?: string;
  scope: AddrScope | number;
  label?: string;
  flags: number;
  permanent: boolean;
  tentative?: boolean;
  dadFailed?: boolean;
  validLifetime?: number;
  preferredLifetime?: number;
}

export interface AddrOptions {
  broadcast?: string;
  scope?: AddrScope;
  label?: string;
  /** Point-to-point peer address. */
  peer?: string;
}

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'local';
export type RouteProto = 'boot' | 'static' | 'kernel' | number;

export interface Route {
  family: 4 | 6;
  /** 'default' or the destination address. */
  dst: string;
  dstLen: number;
  gateway?: string;
  dev?: number;
  src?: string;
  table: number;
  metric?: number;
  scope: string | number;
  proto: string | number;
  type: string;
  flags: number;
  onlink: boolean;
}

export interface RouteSpec {
  /** Needed only when neither dst nor gateway tells it (an IPv6 default route via a dev). */
  family?: 4 | 6;
  /** 'default', '10.1.0.0/16', '2001:db8::/64' (a bare address is a host route). */
  dst: string;
  gateway?: string;
  dev?: LinkRef;
  src?: string;
  table?: number;
  metric?: number;
  scope?: 'universe' | 'site' | 'link' | 'host' | 'nowhere';
  proto?: RouteProto;
  type?: RouteType;
  onlink?: boolean;
  mtu?: number;
}

export interface RouteFilter {
  family?: 4 | 6;
  /** A table id, or 'all'; default the main table (254). */
  table?: number | 'all';
}

export type RuleAction = 'lookup' | 'blackhole' | 'unreachable' | 'prohibit';

export interface Rule {
  family: 4 | 6;
  priority?: number;
  from?: string;
  fromLen: number;
  to?: string;
  toLen: number;
  table: number;
  iif?: string;
  oif?: string;
  fwmark?: number;
  action: string;
}

export interface RuleSpec {
  family?: 4 | 6;
  priority?: number;
  /** '10.0.0.0/24' or an address (a /32 or /128). */
  from?: string;
  to?: string;
  table?: number;
  iif?: string;
  oif?: string;
  fwmark?: number;
  action?: RuleAction;
}

export type NeighState = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent';

export interface Neighbour {
  family: 4 | 6 | 'bridge';
  index: number;
  address?: string;
  lladdr?: string;
  /** NUD_* names, e.g. ['permanent'] or ['noarp', 'permanent']. */
  state: string[];
  flags: number;
  master?: number;
  vlan?: number;
  vni?: number;
  port?: number;
}

export interface NeighSpec {
  dev: LinkRef;
  address: string;
  lladdr?: string;
  state?: NeighState;
}

export interface FdbSpec {
  dev: LinkRef;
  /** MAC; '00:00:00:00:00:00' is a VXLAN device's flood (BUM) entry. */
  lladdr: string;
  /** Remote VTEP address (for a VXLAN device). */
  dst?: string;
  vlan?: number;
  vni?: number;
  port?: number;
  /** Entry of the bridge itself (master) rather than of the device (self, the default). */
  master?: boolean;
}

export type WatchKind = 'link' | 'addr' | 'route' | 'neigh' | 'nsid';

export type NetEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: Link }
  | { kind: 'addr'; action: 'new' | 'del'; addr: Address }
  | { kind: 'route'; action: 'new' | 'del'; route: Route }
  | { kind: 'neigh'; action: 'new' | 'del'; neigh: Neighbour }
  /**
   * This namespace gave another an id ('new'), or dropped it ('del'): the
   * other namespace is being destroyed (the ids its links report as linkNetnsId).
   */
  | { kind: 'nsid'; action: 'new' | 'del'; nsid: number }
  /** The kernel dropped events (receive buffer full): re-read the state you track. */
  | { kind: 'overrun' };
