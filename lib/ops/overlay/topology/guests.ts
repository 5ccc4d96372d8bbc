// A topology's guests: attach steps for those not attached yet (each
// attach is its own verified transaction; undone by detach), and detach
// steps for attachments of this topology the file no longer names, found in
// the ownership journal by the topology's owner tag (undone by attaching
// again as recorded).
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Handle } from '../../../core/handle';
import { DEFAULT_RUN_DIR, Netns, netnsName } from '../../../core/netns';
import { attach, planAttach } from '../../attach';
import { detach } from '../../attach/detach';
import type { AttachSpec } from '../../attach/spec';
import { resolveGuest, type GuestRef } from '../../guest';
import { guestRefOf, netnsIdOf, readEntries, type AttachmentEntry } from '../../ownership';
import type { Step } from '../../transaction';
import type { NormalizedGuest, NormalizedTopology } from './spec';

/** The name --create-netns / createNetns would create for this guest, if it names a namespace not there yet. */
async function namespaceToCreate(g: GuestRef): Promise<string | undefined> {
  let name: string | undefined;
  if (typeof g === 'string') name = g.startsWith('netns:') ? g.slice('netns:'.length) : /^[^:/]+$/.test(g) && !/^\d+$/.test(g) ? g : undefined;
  else if (g && typeof g === 'object' && 'name' in g) name = g.name;
  if (name === undefined) return undefined;
  const there = await lstat(join(DEFAULT_RUN_DIR, netnsName('guest', name))).then(() => true, () => false);
  return there ? undefined : name;
}

export interface GuestPlan {
  attach: string[];
  present: string[];
  detach: string[];
  steps: Step<unknown>[];
  /** Host ends that detaching removes (a bridge that loses only these may go too). */
  hostEndsRemoved: Set<string>;
}

function attachStep(h: Handle, g: NormalizedGuest, create: string | undefined): Step<unknown> {
  return {
    describe: `attach ${g.label} to ${g.normalized.hostIf}${create ? ` (creating named namespace ${create})` : ''}`,
    undo: `detach ${g.label}${create ? ` and delete namespace ${create}` : ''}`,
    run: async () => {
      const made = create ? await Netns.create({ name: create }) : undefined;
      try {
        await attach({ ...g.spec, ...(made ? { guest: made } : {}), host: h });
      } catch (e) {
        await made?.delete().catch(() => undefined);
        throw e;
      }
      const guest = made ? { name: create! } : g.spec.guest;
      await made?.close();
      return async () => {
        await detach({ guest, guestIf: g.normalized.guestIf, host: h });
        if (create) await (await Netns.open({ name: create })).delete();
      };
    },
  };
}

/** The attach a journal entry records, to undo its detach. */
function reattachSpec(e: AttachmentEntry, guest: GuestRef, h: Handle): AttachSpec {
  const s = e.spec;
  return {
    hostIf: s.hostIf, guest, guestIf: s.guestIf, owner: s.owner, host: h, arp: s.arp,
    ...(s.hostEnd ? { hostEnd: s.hostEnd } : {}), ...(s.address ? { address: s.address } : {}), ...(s.gateway ? { gateway: s.gateway } : {}),
    ...(s.mac ? { mac: s.mac } : {}), ...(s.mtu ? { mtu: s.mtu } : {}),
  };
}

export async function planGuests(h: Handle, t: NormalizedTopology, declaredBridges: Set<string>): Promise<GuestPlan> {
  const out: GuestPlan = { attach: [], present: [], detach: [], steps: [], hostEndsRemoved: new Set() };
  const declaredIds = new Set<string>();
  for (const g of t.guests) {
    const create = t.createNetns ? await namespaceToCreate(g.spec.guest) : undefined;
    if (!create) {
      const r = await resolveGuest(g.spec.guest);
      declaredIds.add(`${r.netns.id}/${g.normalized.guestIf}`);
      if (r.owned) await r.netns.close();
    }
    // A bridge this apply creates cannot be planned against yet: the attach is planned whole when it runs.
    const bridgePending = declaredBridges.has(g.normalized.hostIf) && !(await h.link.find(g.normalized.hostIf));
    if (!create && !bridgePending && (await planAttach({ ...g.spec, host: h })).alreadyInPlace) {
      out.present.push(g.label);
      continue;
    }
    out.attach.push(g.label);
    out.steps.push(attachStep(h, g, create));
  }
  const hostId = await netnsIdOf(h);
  for (const { entry } of await readEntries()) {
    if (entry.owner !== t.guestOwner || entry.hostNetns !== hostId || entry.state !== 'complete') continue;
    if (declaredIds.has(`${entry.guestNetns}/${entry.guestIf}`)) continue;
    const guest = guestRefOf(entry.guest);
    if (!guest) continue; // an anonymous namespace nobody can name: gc's to find
    const label = `${entry.guest.label} ${entry.guestIf} (on ${entry.hostIf}, no longer declared)`;
    out.detach.push(label);
    if (entry.hostEnd) out.hostEndsRemoved.add(entry.hostEnd);
    out.steps.push({
      describe: `detach ${label}`,
      undo: `attach ${entry.guest.label} ${entry.guestIf} again`,
      run: async () => {
        await detach({ guest, guestIf: entry.guestIf, host: h });
        return async () => void (await attach(reattachSpec(entry, guest, h)));
      },
    });
  }
  return out;
}
