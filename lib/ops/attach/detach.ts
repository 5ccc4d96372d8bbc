// detach(): the reverse of attach, for what attach made. Removes the guest
// interface (a veth takes its host end with it; a macvlan goes alone; a
// device moved in with directPhys is moved back under its original name),
// confirms it is gone on both sides and forgets its journal entry. Before
// that, what a DHCP attach left (a kept client, its files) is released.
//
// Only what is pipewright's is touched (ownership.ts): anything else is a
// conflict naming the link and why it is not ours, unless `force`. Like
// CNI's DEL it is idempotent: an interface that is already gone (or that a
// concurrent detach removed first) is "nothing attached", not an error; a
// guest that does not exist still is one.
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { PipewrightError, isNetlinkError } from '../../core/errors';
import { resolveGuest, GuestRef } from '../guest';
import * as v from '../../core/validate';
import { releaseDhcp } from '../dhcp';
import { forgetAttachment, identityPrefix, netnsCookie, readEntries, sameGuest } from '../ownership';
import { detachOwnership, strayHostEnd } from './ownership';

export interface DetachSpec {
  guest: GuestRef;
  guestIf?: string;
  host?: Handle;
  runDir?: string;
  /** Remove the interface even when nothing says pipewright made it. */
  force?: boolean;
}

export interface DetachResult {
  /** 'nothing-attached': the guest has no such interface (already detached, maybe just now by another detach). */
  status: 'detached' | 'nothing-attached';
  guest: string;
  guestIf: string;
  kind: string | null;
  removed: string[];
  /** Set when force removed an interface that is not pipewright's: why it is not. */
  forced?: string;
  /** A veth's host end that went with it, seen gone. */
  hostEnd?: string;
  /** For 'nothing-attached': what was found. */
  note?: string;
}

export async function detach(spec: DetachSpec): Promise<DetachResult> {
  v.knownKeys('', v.object('spec', spec), ['guest', 'guestIf', 'host', 'runDir', 'force']);
  const guestIf = spec.guestIf === undefined ? 'eth1' : v.ifname('guestIf', spec.guestIf);
  const force = spec.force === undefined ? false : v.bool('force', spec.force);
  const guest = await resolveGuest(spec.guest, spec.runDir !== undefined ? { runDir: spec.runDir, forHandle: true } : { forHandle: true });
  const gh = await Handle.open(guest.netns);
  const host = spec.host ?? (await Handle.open());
  let cookie: string | undefined;
  const nothing = async (note: string, removed: string[] = []): Promise<DetachResult> => {
    await forgetAttachment(guest.netns.id, guestIf, cookie);
    return { status: 'nothing-attached', guest: guest.label, guestIf, kind: null, removed, note };
  };
  try {
    // Journal entries count only if written for this very guest (../ownership/cookie.ts).
    const [link, guestCookie] = await Promise.all([gh.link.find(guestIf), netnsCookie(gh).catch(() => undefined)]);
    cookie = guestCookie;
    if (!link) {
      // The guest side is gone; a host end of ours may still wait for it.
      const stray = await strayHostEnd(host, guest, guestIf, cookie);
      const removed: string[] = [];
      if (stray) {
        await delIfPresent(host, stray.index);
        removed.push(`deleted ${stray.name}, a host end of ours left without its guest interface`);
      }
      return await nothing(`guest ${guest.label} has no interface '${guestIf}'`, removed);
    }
    const own = await detachOwnership(host, guest, guestIf, link, cookie);
    // Its host end vanished while we looked: another detach is removing it.
    if (!own.ours && !(await gh.link.find(link.index))) return await nothing(`'${guestIf}' was already detached (removed at the same time by another detach)`);
    if (!own.ours && !force)
      throw new PipewrightError('ERR_PW_CONFLICT', `'${guestIf}' in guest ${guest.label} is not pipewright's: ${own.why}; nothing was changed (--force removes it anyway)`, { field: 'guestIf', value: guestIf });
    // The default route the attach replaced, to put back once ours is gone with the interface.
    const previous = (await readEntries(identityPrefix(guest.netns.id, guestIf)).catch(() => [])).find((x) => x.entry.previousDefault && sameGuest(x.entry, cookie))?.entry.previousDefault;
    // A kept DHCP client would otherwise outlive its interface, and its
    // files the attachment. It is stopped while the interface is still
    // there, so that it never sees the interface vanish mid-renewal.
    const removed: string[] = await releaseDhcp(guest, guestIf);
    try {
      if (own.phys) {
        const home = host.netns ?? (await Netns.current());
        try {
          await gh.link.set(link.index, { up: false, netns: home, name: own.phys, alias: '' });
        } finally {
          if (!host.netns) await home.close();
        }
        removed.push(`moved ${guestIf} back to the host as ${own.phys}`);
      } else {
        await gh.link.del(link.index);
        removed.push(`deleted ${guestIf} (${link.kind ?? 'device'}) in the guest`);
        if (own.hostEnd) {
          if (await host.link.find(own.hostEnd.index)) throw new PipewrightError('ERR_PW_VERIFY_FAILED', `host end ${own.hostEnd.name} is still there after its peer was deleted`);
          removed.push(`its host end ${own.hostEnd.name} went with it`);
        }
      }
    } catch (e) {
      // Another detach removed it between our look and our delete.
      if (isNetlinkError(e, 'ENODEV') && !(await gh.link.find(link.index))) return await nothing(`'${guestIf}' was already detached (removed at the same time by another detach)`);
      throw e;
    }
    if (previous) {
      const family = previous.gateway?.includes(':') ? 6 : 4;
      if (!(await gh.route.list({ family })).some((r) => r.dst === 'default')) {
        await gh.route.replace({ dst: 'default', ...(previous.gateway ? { gateway: previous.gateway } : {}), ...(previous.dev !== undefined ? { dev: previous.dev } : {}), ...(previous.onlink ? { onlink: true } : {}) });
        removed.push(`restored the default route the attach had replaced${previous.gateway ? ` (via ${previous.gateway})` : ''}`);
      }
    }
    await forgetAttachment(guest.netns.id, guestIf, cookie);
    return { status: 'detached', guest: guest.label, guestIf, kind: link.kind, removed, ...(own.ours ? {} : { forced: own.why }), ...(!own.phys && own.hostEnd ? { hostEnd: own.hostEnd.name } : {}) };
  } finally {
    await gh.close();
    if (guest.owned) await guest.netns.close();
    if (!spec.host) await host.close();
  }
}

async function delIfPresent(h: Handle, index: number): Promise<void> {
  try {
    await h.link.del(index);
  } catch (e) {
    if (!isNetlinkError(e, 'ENODEV')) throw e;
  }
}
