// detach(): the reverse of attach. Removes the guest interface (a veth takes
// its host end with it; a macvlan goes alone; a device moved in with
// directPhys is moved back under its original name) and confirms it is gone
// on both sides. Before that, what a DHCP attach left (a kept client, its
// files in the guest's state dir) is released.
import { Handle } from '../handle';
import { Netns } from '../netns';
import { PipewrightError } from '../errors';
import { resolveGuest, GuestRef } from '../guest';
import * as v from '../validate';
import { releaseDhcp } from '../dhcp';

export interface DetachSpec {
  guest: GuestRef;
  guestIf?: string;
  host?: Handle;
  runDir?: string;
}

export interface DetachResult {
  guest: string;
  guestIf: string;
  kind: string | null;
  removed: string[];
}

export async function detach(spec: DetachSpec): Promise<DetachResult> {
  v.knownKeys('', v.object('spec', spec), ['guest', 'guestIf', 'host', 'runDir']);
  const guestIf = spec.guestIf === undefined ? 'eth1' : v.ifname('guestIf', spec.guestIf);
  const guest = await resolveGuest(spec.guest, spec.runDir !== undefined ? { runDir: spec.runDir } : {});
  const gh = await Handle.open(guest.netns);
  const host = spec.host ?? (await Handle.open());
  try {
    const link = await gh.link.find(guestIf);
    if (!link) throw new PipewrightError('ERR_PW_LINK_NOT_FOUND', `guest ${guest.label} has no interface '${guestIf}'`, { field: 'guestIf', value: guestIf });
    // A kept DHCP client would otherwise outlive its interface, and its
    // files the attachment. It is stopped while the interface is still
    // there, so that it never sees the interface vanish mid-renewal.
    const removed: string[] = await releaseDhcp(guest, guestIf);
    const phys = link.alias?.match(/^pipewright owner=\S+ phys=(\S+)$/);
    if (phys) {
      const home = host.netns ?? (await Netns.current());
      try {
        await gh.link.set(link.index, { up: false, netns: home, name: phys[1]!, alias: '' });
      } finally {
        if (!host.netns) await home.close();
      }
      removed.push(`moved ${guestIf} back to the host as ${phys[1]}`);
    } else {
      // The host end's index, to confirm it went with the pair.
      const hostEnd = link.kind === 'veth' && link.link ? await host.link.find(link.link) : null;
      const peerIsOurs = hostEnd !== null && hostEnd.link === link.index;
      await gh.link.del(link.index);
      removed.push(`deleted ${guestIf} (${link.kind ?? 'device'}) in the guest`);
      if (peerIsOurs) {
        if (await host.link.find(hostEnd.index)) throw new PipewrightError('ERR_PW_VERIFY_FAILED', `host end ${hostEnd.name} is still there after its peer was deleted`);
        removed.push(`its host end ${hostEnd.name} went with it`);
      }
    }
    return { guest: guest.label, guestIf, kind: link.kind, removed };
  } finally {
    await gh.close();
    if (guest.owned) await guest.netns.close();
    if (!spec.host) await host.close();
  }
}
