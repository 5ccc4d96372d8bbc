// Is the requested attachment already there? A re-run of the same attach is
// a no-op only when everything the attach would set is as asked: the host
// interface, the veth pair (or macvlan) and the host end's name when one is
// given, the ownership mark, MAC, MTU, up, whether it makes an IPv6
// link-local address, the address with its prefix, the
// default route via the gateway (or none through this interface when no
// gateway is asked for) and the gateway's on-link route. The first
// difference is an ERR_PW_CONFLICT naming its field; nothing is changed.
import type { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import type { Link } from '../../core/types';
import { PipewrightError, type NetlinkError } from '../../core/errors';
import type { Ctx } from './context';
import { markOwner, ownerAlias } from '../ownership/marks';

export function conflict(message: string, field: string, value: unknown): PipewrightError {
  return new PipewrightError('ERR_PW_CONFLICT', message, { field, value });
}

/** The ifalias attach gives a host end: its ownership mark. */
export function aliasFor(ctx: Pick<Ctx, 'spec' | 'guest'>): string {
  return ownerAlias(ctx.spec.owner, ctx.guest.netns.id, ctx.spec.guestIf);
}

/** The owner named by a link's pipewright mark, or null when it carries none. */
export function ownerOf(link: Link): string | null {
  return markOwner(link.alias);
}

/**
 * The id `from`'s namespace gives `to` (what `from`'s links report as
 * linkNetnsId for a peer in `to`); undefined when it gives none, as for its
 * own namespace.
 */
async function nsidOf(from: Handle, to: Netns): Promise<number | undefined> {
  const { nsid } = await from.run('netns.nsid', { fd: to.fd });
  return nsid ?? undefined;
}

/**
 * The host end of the guest's veth: the host link at the guest link's
 * IFLA_LINK index whose own (IFLA_LINK, IFLA_LINK_NETNSID) lead back to the
 * guest link in the guest's namespace. An index alone proves nothing: the
 * peer of a veth in another namespace often has the same index as
 * something here.
 */
async function hostPeerOf(ctx: Ctx, inGuest: Link): Promise<Link | null> {
  if (inGuest.link === undefined || inGuest.linkNetnsId === undefined) return null;
  const [candidate, guestId] = await Promise.all([ctx.host.link.find(inGuest.link), nsidOf(ctx.host, ctx.guest.netns)]);
  if (!candidate || candidate.kind !== 'veth') return null;
  return candidate.link === inGuest.index && candidate.linkNetnsId === guestId ? candidate : null;
}

/** A host end that exists while the guest interface does not: a leftover of ours, or someone else's link. */
function nameTaken(ctx: Ctx, hostEnd: Link): PipewrightError {
  const owner = ownerOf(hostEnd);
  if (owner !== null)
    return conflict(
      `host end '${hostEnd.name}' already exists (made by pipewright, owner ${owner}) but the guest has no '${ctx.spec.guestIf}': a leftover? remove it with 'pipewright gc --owner ${owner}' or 'ip link del ${hostEnd.name}'`,
      'hostEnd',
      hostEnd.name,
    );
  return conflict(
    `host end name '${hostEnd.name}' is taken by an existing ${hostEnd.kind ?? 'device'} that pipewright did not create: choose another name (-l LOCALIF)`,
    'hostEnd',
    hostEnd.name,
  );
}

/** The host side: the guest interface is the peer (or macvlan) of what this attach would make. */
async function checkHostSide(ctx: Ctx, inGuest: Link, hostEndGiven: boolean, where: string): Promise<void> {
  const { spec } = ctx;
  if (ctx.mode === 'bridge') {
    if (inGuest.kind !== 'veth') throw conflict(`${where} and is a ${inGuest.kind ?? 'device'}, not a veth`, 'guestIf', spec.guestIf);
    const peer = await hostPeerOf(ctx, inGuest);
    if (!peer) throw conflict(`${where} and its peer is not a host end in ${ctx.host.describe()}`, 'guestIf', spec.guestIf);
    if (hostEndGiven && peer.name !== ctx.hostEndName)
      throw conflict(`${where} with host end '${peer.name}', not '${ctx.hostEndName}'`, 'hostEnd', ctx.hostEndName);
    if (ctx.hostIfLink === null || peer.master !== ctx.hostIfLink.index)
      throw conflict(`${where}, but its host end '${peer.name}' is not a port of ${ctx.hostIfName}`, 'hostIf', ctx.hostIfName);
    const owner = ownerOf(peer);
    if (owner !== spec.owner || peer.group !== spec.group)
      throw conflict(
        owner === null
          ? `${where}, but its host end '${peer.name}' does not carry pipewright's mark: it was not made by pipewright`
          : `${where}, but its host end '${peer.name}' belongs to ${owner === spec.owner ? `owner ${owner} in link group ${peer.group}, not ${spec.group}` : `owner ${owner}, not ${spec.owner}`}`,
        owner === spec.owner ? 'group' : 'owner',
        owner === spec.owner ? spec.group : spec.owner,
      );
    if (!peer.up) throw conflict(`${where}, but its host end '${peer.name}' is down`, 'hostEnd', peer.name);
    if (peer.mtu !== ctx.mtu) throw conflict(`${where}, but its host end '${peer.name}' has MTU ${peer.mtu}, not ${ctx.mtu}`, 'mtu', ctx.mtu);
    ctx.hostEnd = peer;
  } else if (ctx.mode === 'macvlan') {
    const lower = (ctx.vlanLink ?? ctx.hostIfLink)!;
    const hostId = inGuest.kind === 'macvlan' && inGuest.link === lower.index ? await nsidOfHost(ctx) : null;
    if (inGuest.kind !== 'macvlan' || inGuest.link !== lower.index || inGuest.linkNetnsId !== hostId)
      throw conflict(`${where} and is not a macvlan of ${lower.name}`, 'guestIf', spec.guestIf);
    if (inGuest.mode !== 'bridge') throw conflict(`${where} as a macvlan in ${inGuest.mode ?? 'unknown'} mode, not bridge`, 'guestIf', spec.guestIf);
  } else {
    throw conflict(`${where}; cannot move '${ctx.hostIfName}' in under that name`, 'guestIf', spec.guestIf);
  }
}

/** The id the guest's namespace gives the host's (its macvlans' lower device is there). */
async function nsidOfHost(ctx: Ctx): Promise<number | undefined> {
  if (ctx.host.netns) return nsidOf(ctx.gh, ctx.host.netns);
  const self = await Netns.current();
  try {
    return await nsidOf(ctx.gh, self);
  } finally {
    await self.close();
  }
}

/** The guest side: the link's own settings, its address, and its routes. */
async function checkGuestSide(ctx: Ctx, inGuest: Link, where: string): Promise<void> {
  const { spec, gh } = ctx;
  if (spec.mac && inGuest.address !== spec.mac) throw conflict(`${where} with MAC ${inGuest.address}, not ${spec.mac}`, 'mac', spec.mac);
  if (inGuest.mtu !== ctx.mtu) throw conflict(`${where} with MTU ${inGuest.mtu}, not ${ctx.mtu}`, 'mtu', ctx.mtu);
  if (!inGuest.up) throw conflict(`${where} but is down`, 'guestIf', spec.guestIf);
  // Whether it makes an IPv6 link-local address (link-local.ts); a moved device's is the host's business, not asked.
  const makesNone = inGuest.ipv6AddrGenMode === 'none';
  if (!spec.directPhys && spec.ipv6LinkLocal !== undefined && inGuest.ipv6AddrGenMode !== undefined && makesNone === spec.ipv6LinkLocal)
    throw conflict(
      makesNone ? `${where} making no IPv6 link-local address; this attach keeps it` : `${where} with an IPv6 link-local address; this attach makes none`,
      'ipv6LinkLocal',
      spec.ipv6LinkLocal,
    );
  const a = spec.address;
  const gw = spec.gateway;
  // The default route this interface would carry: of the gateway's family,
  // else of the address's (a route via another interface is not ours).
  const family = gw?.family ?? a?.family;
  const [addrs, routes] = await Promise.all([
    a ? gh.addr.list({ dev: inGuest.index }) : [],
    family ? gh.route.list({ family }) : [],
  ]);
  if (a && !addrs.some((x) => x.address === a.address && x.prefixLen === a.prefixLen))
    throw conflict(`${where} without the address ${a.address}/${a.prefixLen} (it has ${addrs.map((x) => `${x.address}/${x.prefixLen}`).join(', ') || 'none'})`, 'address', `${a.address}/${a.prefixLen}`);
  const ours = routes.filter((r) => r.dev === inGuest.index);
  const defaults = ours.filter((r) => r.dst === 'default');
  if (gw) {
    if (!defaults.some((r) => r.gateway === gw.address)) {
      const other = defaults.find((r) => r.gateway !== undefined)?.gateway;
      throw conflict(
        other ? `${where} with its default route via ${other}, not ${gw.address}` : `${where} but the guest has no default route via ${gw.address} on it`,
        'gateway',
        gw.address,
      );
    }
    if (spec.gatewayOnLink && !ours.some((r) => r.dst === gw.address && r.dstLen === (gw.family === 4 ? 32 : 128) && r.scope === 'link'))
      throw conflict(`${where} but without the on-link route to ${gw.address} its default route needs`, 'gateway', gw.address);
  } else if (defaults.length > 0) {
    const via = defaults[0]!.gateway;
    throw conflict(`${where} with a default route${via ? ` via ${via}` : ''} on it; this attach asks for no gateway`, 'gateway', null);
  }
}

/**
 * Returns true when the attachment is already there exactly as asked;
 * throws ERR_PW_CONFLICT naming the first difference when something else
 * holds the names; false when nothing is there yet. `hostEndGiven`: the
 * caller named the host end (otherwise any name the pair has will do).
 */
export async function existing(ctx: Ctx, hostEndGiven: boolean): Promise<boolean> {
  const { spec, gh, host } = ctx;
  // One round trip on the first attach, where neither exists.
  const [inGuest, byName] = await Promise.all([gh.link.find(spec.guestIf), ctx.mode === 'bridge' ? host.link.find(ctx.hostEndName!) : null]);
  if (!inGuest) {
    if (byName) throw nameTaken(ctx, byName);
    return false;
  }
  const where = `'${spec.guestIf}' already exists in the guest`;
  await checkHostSide(ctx, inGuest, hostEndGiven, where);
  await checkGuestSide(ctx, inGuest, where);
  ctx.guestLink = inGuest;
  return true;
}

/**
 * Thrown by a creating step that found the attachment made, exactly as
 * asked, by a concurrent attach: the caller reports "already attached".
 */
export class AlreadyInPlace extends Error {
  constructor() {
    super('the attachment was made by a concurrent attach, exactly as asked');
    this.name = 'AlreadyInPlace';
  }
}

/**
 * A create refused with EEXIST: since existing() looked, something (most
 * often an attach of the same guest interface running at the same time)
 * took a name. Look again: identical and complete is AlreadyInPlace;
 * anything else is a conflict naming what is in the way.
 */
export async function lostRace(ctx: Ctx, hostEndGiven: boolean, e: NetlinkError): Promise<Error> {
  const what = e.field === 'peer.name' ? `'${ctx.spec.guestIf}' appeared in the guest` : `'${e.object ?? ctx.hostEndName}' appeared on the host`;
  try {
    if (await existing(ctx, hostEndGiven)) return new AlreadyInPlace();
  } catch (c) {
    if (!(c instanceof PipewrightError) || c.code !== 'ERR_PW_CONFLICT') throw c;
    return new PipewrightError('ERR_PW_CONFLICT', `${what} while this attach ran (a concurrent attach?): ${c.message}`, { field: c.field ?? 'guestIf', value: c.value, cause: e });
  }
  return new PipewrightError('ERR_PW_CONFLICT', `${what} while this attach ran and went again (a concurrent attach or detach?): ${e.message}`, {
    field: e.field === 'peer.name' ? 'guestIf' : 'hostEnd',
    value: e.object,
    cause: e,
  });
}
