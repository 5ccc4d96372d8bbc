// Removing one attachment: its interfaces (through detach, which removes only
// what the ownership mark or journal says is pipewright's), its journal
// entry, its IPAM lease (the IPAM plugin's DEL) and its record. Idempotent:
// an interface already gone, a namespace already gone, an IPAM plugin no
// longer installed are all "nothing left to remove". Shared by DEL, GC and a
// failed ADD's rollback.
import { Handle } from '../../core/handle';
import { openNetnsForHandle, type Netns } from '../../core/netns';
import { PipewrightError, isNetlinkError } from '../../core/errors';
import { detach } from '../attach/detach';
import { forgetVeth, netnsIdOf, parseOwnerAlias } from '../ownership';
import { PluginMissing } from './delegate';
import { runIpam } from './ipam';
import { ownerTag } from './names';
import { removeRecord } from './store';

export interface Teardown {
  network: string;
  containerId: string;
  ifname: string;
  netns?: string;
  /** The namespace's "dev:ino" the ADD recorded, when there is a record. */
  guestNetns?: string;
  hostEnd: string;
  ipam?: string;
  /** The configuration bytes and environment the IPAM plugin gets. */
  stdin: string;
  env: NodeJS.ProcessEnv;
  path: readonly string[];
}

/**
 * Removes what exists of the attachment; returns notes on what was left
 * alone (and why). The IPAM lease is released once the interfaces are gone
 * (an address is never free in IPAM while an interface still holds it), and
 * the record goes last, once both are done (a DEL that failed is tried
 * again, and finds it).
 */
export async function teardown(t: Teardown, host: Handle): Promise<string[]> {
  const notes: string[] = [];
  await removeInterfaces(t, host, notes);
  const lease = await releaseLease(t);
  if (lease) notes.push(lease);
  await removeRecord(t.network, t.containerId, t.ifname);
  return notes;
}

async function removeInterfaces(t: Teardown, host: Handle, notes: string[]): Promise<void> {
  let guestNetnsId: string | undefined;
  // The veth detach removed, its host end seen gone (and its journal entries forgotten by detach).
  let detachedHostEnd: string | undefined;
  if (t.netns) {
    let ns: Netns | null = null;
    try {
      // With the socket detach's Handle takes (one trip, not two).
      ns = await openNetnsForHandle({ path: t.netns });
    } catch (e) {
      // Gone (ENOENT), or no longer a namespace (a stale name): what is left is found by name below.
      notes.push(`the namespace ${t.netns} cannot be opened, taken as gone (${(e as Error).message})`);
    }
    if (ns) {
      guestNetnsId = ns.id;
      try {
        detachedHostEnd = (await detach({ guest: ns, guestIf: t.ifname, host })).hostEnd;
      } catch (e) {
        // Not ours (the ADD never made it, something else holds the name): left alone.
        if (!(e instanceof PipewrightError && e.code === 'ERR_PW_CONFLICT')) throw e;
        notes.push(e.message);
      } finally {
        await ns.close();
      }
    }
  }
  // Gone with the veth detach removed: nothing of it to look for by name.
  if (detachedHostEnd === t.hostEnd) return;
  // The host end, when its namespace is gone (or was never given): only with our mark.
  const owner = ownerTag(t.network);
  const stray = await host.link.find(t.hostEnd);
  let hostEndGone = !stray;
  if (stray && parseOwnerAlias(stray.alias)?.owner === owner) {
    try {
      await host.link.del(stray.index);
    } catch (e) {
      if (!isNetlinkError(e, 'ENODEV')) throw e;
    }
    hostEndGone = true;
  }
  // Detach removes the journal entry of what it removes; with the namespace
  // gone it never ran, and the entry would outlive the veth (gc and doctor
  // would report a leak). Once the host end is gone the entry describes nothing.
  if (hostEndGone) {
    const guestNetns = t.guestNetns ?? guestNetnsId;
    await forgetVeth({ hostNetns: await netnsIdOf(host), hostEnd: t.hostEnd, owner, guestIf: t.ifname, ...(guestNetns ? { guestNetns } : {}) });
  }
}

/** The IPAM plugin's DEL; one no longer installed is a note (returned), not an error. */
async function releaseLease(t: Teardown): Promise<string | null> {
  if (!t.ipam) return null;
  const env = { ...t.env, CNI_CONTAINERID: t.containerId, CNI_IFNAME: t.ifname, ...(t.netns ? { CNI_NETNS: t.netns } : {}) };
  try {
    await runIpam(t.ipam, 'DEL', t.stdin, env, t.path);
    return null;
  } catch (e) {
    if (!(e instanceof PluginMissing)) throw e;
    return e.msg;
  }
}
