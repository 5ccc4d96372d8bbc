// Rolling back an attach that crashed (or failed and could not undo itself),
// from its journal entry alone: what its undo stack would have done, for
// each object only once it is proven to be the one this attach made. gc
// runs it under the namespace's exclusive lock, so no attach is at work on
// these objects; with dryRun it only says what it would do (the same
// checks, nothing changed).
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { isNetlinkError } from '../../core/errors';
import type { Link } from '../../core/types';
import type { AttachmentEntry } from './entry';
import { reopenGuest } from './guest-ref';
import { readEntries } from './journal';
import { bridgeAlias } from './marks';
import { netnsCookie, sameGuest } from './cookie';

export interface RollbackOutcome {
  /** What was (or, in a dry run, would be) undone, in order. */
  actions: string[];
  /** What was found but is not provably this attach's: with what to do by hand. */
  leftBehind: string[];
  /** Undo actions that failed (the entry is kept for another try). */
  failed: string[];
}

async function deleteLink(h: Handle, index: number): Promise<void> {
  try {
    await h.link.del(index);
  } catch (e) {
    if (!isNetlinkError(e, 'ENODEV')) throw e; // already gone is what we wanted
  }
}

/**
 * Is `he`, found under the entry's host end name, the veth this attach
 * made? true, or why not. The mark is the proof; a link with our group but
 * no alias is this attach's only if its peer is the guest interface it was
 * creating (the kernel applies the group at creation, the alias a moment
 * later: the process was killed in between).
 */
async function judgeHostEnd(he: Link, e: AttachmentEntry, gh: Handle | null): Promise<true | string> {
  if (he.kind !== 'veth') return `is a ${he.kind ?? 'device'}, not the veth this attach creates: not touched`;
  if (e.hostEndIndex !== undefined && he.index !== e.hostEndIndex) return `has index ${he.index}, not ${e.hostEndIndex} as recorded: another link has the name now; not touched`;
  if (he.alias === e.alias) return true;
  if (he.alias) return `carries the alias '${he.alias}', not this attach's mark: not touched`;
  if (he.group !== e.group) return 'carries no pipewright mark: not touched';
  const gl = gh ? await gh.link.find(e.guestIf) : null;
  if (gl && gl.kind === 'veth' && gl.link === he.index && he.link === gl.index) return true;
  return `is in pipewright's group but has no mark, and its peer is not ${e.guestIf} of the recorded guest: not touched (if it is yours to remove: ip link del ${he.name})`;
}

export async function rollBackAttachment(host: Handle, e: AttachmentEntry, opts: { dryRun: boolean }): Promise<RollbackOutcome> {
  const out: RollbackOutcome = { actions: [], leftBehind: [], failed: [] };
  const act = async (what: string, run: () => Promise<void>): Promise<void> => {
    if (opts.dryRun) {
      out.actions.push(what);
      return;
    }
    try {
      await run();
      out.actions.push(what);
    } catch (err) {
      out.failed.push(`${what}: ${(err as Error).message}`);
    }
  };
  // The guest, if it is still the one the entry was written for (its cookie:
  // another namespace may have its inode by now).
  let guestNs = await reopenGuest(e.guest, e.guestNetns);
  let gh = guestNs ? await Handle.open(guestNs).catch(() => null) : null;
  if (gh && !sameGuest(e, await netnsCookie(gh).catch(() => undefined))) {
    await gh.close();
    await guestNs!.close();
    gh = null;
    guestNs = null;
  }
  try {
    // The interface (routes and addresses on it go with it).
    let interfaceGone = false;
    if (e.mode === 'bridge' && e.hostEnd) {
      const he = await host.link.find(e.hostEnd);
      if (he) {
        const verdict = await judgeHostEnd(he, e, gh);
        if (verdict === true) {
          await act(`delete host end ${he.name} (index ${he.index}; its peer ${e.guestIf} goes with it)`, () => deleteLink(host, he.index));
          interfaceGone = true;
        } else out.leftBehind.push(`${he.name} ${verdict}`);
      }
    } else if (e.mode === 'macvlan' && gh) {
      const gl = await gh.link.find(e.guestIf);
      if (gl && gl.kind === 'macvlan' && (gl.alias === e.alias || (!gl.alias && gl.group === e.group)) && (e.guestIndex === undefined || gl.index === e.guestIndex)) {
        await act(`delete macvlan ${gl.name} in the guest`, () => deleteLink(gh, gl.index));
        interfaceGone = true;
      } else if (gl) out.leftBehind.push(`${gl.name} in the guest is not this attach's macvlan (no pipewright mark): not touched`);
    } else if (e.mode === 'direct-phys' && gh) {
      const gl = await gh.link.find(e.guestIf);
      if (gl && gl.alias === e.alias) {
        await act(`move ${gl.name} back to the host as ${e.hostIf}`, async () => {
          const home = host.netns ?? (await Netns.current());
          try {
            await gh.link.set(gl.index, { up: false, netns: home, name: e.hostIf, alias: '' });
          } finally {
            if (!host.netns) await home.close();
          }
        });
        interfaceGone = true;
      }
    }
    // The default route the attach replaced went with the interface: put it back.
    if (e.previousDefault && gh && interfaceGone) {
      const prev = e.previousDefault;
      await act(`restore the guest's default route${prev.gateway ? ` via ${prev.gateway}` : ''}`, async () => {
        const family = prev.gateway?.includes(':') ? 6 : 4;
        if ((await gh.route.list({ family })).some((r) => r.dst === 'default')) return;
        await gh.route.replace({ dst: 'default', ...(prev.gateway ? { gateway: prev.gateway } : {}), ...(prev.dev !== undefined ? { dev: prev.dev } : {}), ...(prev.onlink ? { onlink: true } : {}) });
      });
    }
    // A kept DHCP client and its files.
    if (e.spec.dhcp && guestNs) {
      await act(`stop the ${e.spec.dhcp.client} client for ${e.guestIf} and remove its files`, async () => {
        const { releaseDhcp } = await import('../dhcp'); // lazy: dhcp/ loads node:child_process, needed only to stop a client (~3-5 ms of every attach)
        await releaseDhcp({ netns: guestNs, kind: e.guest.kind, label: e.guest.label, owned: false }, e.guestIf);
      });
    }
    // The bridge it created (or was creating: killed before the journal got
    // its index), if it carries our mark and nothing uses it.
    if (e.createsBridge) {
      const br = await host.link.find(e.hostIf);
      if (br && br.kind === 'bridge' && (e.bridgeIndex === undefined || br.index === e.bridgeIndex) && br.alias === bridgeAlias(e.owner)) {
        if (opts.dryRun) out.actions.push(`delete bridge ${br.name} (this attach created it), unless something else is a port of it by then`);
        else {
          const [ports, addrs] = await Promise.all([host.link.list({ master: br.index }), host.addr.list({ dev: br.index })]);
          const global = addrs.filter((a) => a.scope !== 'link');
          if (ports.length || global.length) {
            const why = ports.length ? `ports ${ports.map((p) => p.name).join(', ')}` : `addresses ${global.map((a) => `${a.address}/${a.prefixLen}`).join(', ')}`;
            out.actions.push(`kept bridge ${br.name}, which this attach created: it has ${why} now`);
          } else await act(`delete bridge ${br.name} (this attach created it; nothing else uses it)`, () => deleteLink(host, br.index));
        }
      } else if (br && br.kind === 'bridge' && !br.alias && e.bridgeIndex === undefined && !(await host.link.list({ master: br.index })).length) {
        out.leftBehind.push(`bridge ${br.name} carries no mark: if this attach created it (killed before marking it), remove it with 'ip link del ${br.name}'`);
      }
    }
    // The macvlan's lower device it brought up (the attach may have been
    // killed right after), unless another attachment the journal knows uses it.
    if (e.bringsHostIfUp) {
      const lower = await host.link.find(e.hostIf);
      if (lower && lower.up && (e.hostIfIndex === undefined || lower.index === e.hostIfIndex)) {
        const users = (await readEntries()).filter((x) => x.entry.hostNetns === e.hostNetns && x.entry.mode === 'macvlan' && x.entry.hostIfIndex === lower.index && !(x.entry.guestNetns === e.guestNetns && x.entry.guestIf === e.guestIf && x.entry.startedAt === e.startedAt));
        if (users.length) out.actions.push(`kept ${lower.name} up: ${users.length} other attachment(s) use it`);
        else await act(`bring ${lower.name} back down (this attach brought it up)`, () => host.link.set(lower.index, { up: false }));
      }
    }
    if (e.createsVlan && (await host.link.find(e.createsVlan))) {
      out.leftBehind.push(`VLAN device ${e.createsVlan} may have been created by this attach; it carries no mark: remove it with 'ip link del ${e.createsVlan}' if nothing uses it`);
    }
  } finally {
    await gh?.close();
    await guestNs?.close();
  }
  return out;
}
