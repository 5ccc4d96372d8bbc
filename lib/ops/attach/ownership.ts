// Whether a guest interface is pipewright's to detach, and why not. The
// evidence, strongest first: the mark on the link (a veth's host end, a
// macvlan, a moved device), then the journal entry of the attach that made
// it, whose recorded indexes must match what is there now.
import type { Handle } from '../../core/handle';
import type { Link } from '../../core/types';
import type { ResolvedGuest } from '../guest';
import { identityPrefix, ownerAlias, parseOwnerAlias, parsePhysAlias, readEntries, sameGuest } from '../ownership';
import { hostEndName } from './names';

export interface DetachOwnership {
  ours: boolean;
  /** When not ours: why, naming the link. */
  why: string;
  /** A veth's host end (it goes with the guest side). */
  hostEnd?: Link;
  /** A moved device: its name on the host. */
  phys?: string;
}

export async function detachOwnership(host: Handle, guest: ResolvedGuest, guestIf: string, link: Link, cookie: string | undefined): Promise<DetachOwnership> {
  const id = guest.netns.id;
  const phys = parsePhysAlias(link.alias);
  if (phys) return { ours: true, why: '', phys: phys.original };
  const hostEnd = link.kind === 'veth' && link.link ? await host.link.find(link.link) : null;
  const peer = hostEnd && hostEnd.kind === 'veth' && hostEnd.link === link.index ? hostEnd : undefined;
  const marked = (l: Link | undefined) => {
    const m = parseOwnerAlias(l?.alias);
    return m !== null && m.guest === id && m.guestIf === guestIf;
  };
  const base = peer ? { hostEnd: peer } : {};
  if (link.kind === 'veth' ? marked(peer) : marked(link)) return { ours: true, why: '', ...base };
  // The journal: an entry of this guest interface whose indexes are these.
  const entries = (await readEntries(identityPrefix(id, guestIf)).catch(() => [])).filter((s) => sameGuest(s.entry, cookie));
  if (entries.some((s) => s.entry.guestIndex === link.index || (peer && s.entry.hostEndIndex === peer.index))) return { ours: true, why: '', ...base };
  let why: string;
  if (link.kind === 'veth') {
    if (!peer) why = `it is a veth whose peer is not in ${host.describe()}, and no journal entry records it`;
    else if (peer.alias) why = `its host end ${peer.name} carries the alias '${peer.alias}', not pipewright's mark for this guest interface, and no journal entry records it`;
    else why = `its host end ${peer.name} carries no pipewright mark and no journal entry records it (it was not made by pipewright attach)`;
  } else {
    why = `it is a ${link.kind ?? 'device'} ${link.alias ? `with the alias '${link.alias}'` : 'without a pipewright mark'}, and no journal entry records it`;
  }
  return { ours: false, why, ...base };
}

/**
 * A host end of ours for this guest interface whose guest side is gone (its
 * peer was moved or renamed away): found by the journal's host end name, or
 * attach's default name, and only if it carries the mark for exactly this
 * guest interface.
 */
export async function strayHostEnd(host: Handle, guest: ResolvedGuest, guestIf: string, cookie: string | undefined): Promise<Link | null> {
  const entries = (await readEntries(identityPrefix(guest.netns.id, guestIf)).catch(() => [])).filter((s) => sameGuest(s.entry, cookie));
  const names = new Set(entries.map((s) => s.entry.hostEnd).filter((n): n is string => n !== undefined));
  names.add(hostEndName(guestIf, guest.pid ?? guest.netns.ino, guest.pid !== undefined));
  for (const name of names) {
    const l = await host.link.find(name);
    const m = parseOwnerAlias(l?.alias);
    if (l && l.kind === 'veth' && m && l.alias === ownerAlias(m.owner, guest.netns.id, guestIf)) return l;
  }
  return null;
}
