// GC (spec 1.1): every attachment of this network that the runtime no longer
// lists in cni.dev/valid-attachments is removed, as DEL would — exactly
// those: the records are listed once, at the start, so an attachment made
// while GC runs is never among them, and each is re-read under its
// container's lock before anything is removed (one re-made meanwhile, or an
// ADD at work, is left alone). Then the IPAM plugin's own GC, when it speaks 1.1.0.
import { Handle } from '../../core/handle';
import type { NetConf } from './config';
import type { CniEnv } from './env';
import { badConfig } from './errors';
import { delegate, findPlugin } from './delegate';
import { teardown } from './teardown';
import { listRecords, lockAndReadRecord } from './store';
import { supportsVersion } from './status';

export interface GcOutcome {
  removed: Array<{ containerID: string; ifname: string }>;
  notes: string[];
}

export async function cmdGc(conf: NetConf, env: CniEnv): Promise<GcOutcome> {
  const valid = conf.validAttachments;
  if (!valid) throw badConfig('cni.dev/valid-attachments', undefined, 'is required for GC (the attachments the runtime still has; [] for none)');
  const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
  const stale = (await listRecords(conf.name)).filter((r) => !keep.has(`${r.containerId}\0${r.ifname}`));
  const out: GcOutcome = { removed: [], notes: [] };
  const host = await Handle.open();
  try {
    for (const seen of stale) {
      // The record is read again under the container's lock (one trip).
      const { lock, record: now } = await lockAndReadRecord(seen.network, seen.containerId, seen.ifname);
      let removed = false;
      try {
        if (!now || now.createdAt !== seen.createdAt || now.pid !== seen.pid) continue; // gone, or made again since we looked
        const notes = await teardown(
          { network: now.network, containerId: now.containerId, ifname: now.ifname, netns: now.netns, ...(now.guestNetns ? { guestNetns: now.guestNetns } : {}), hostEnd: now.hostEnd, ...(now.ipam ? { ipam: now.ipam } : {}), stdin: conf.raw, env: env.raw, path: env.path },
          host,
        );
        removed = true;
        out.removed.push({ containerID: now.containerId, ifname: now.ifname });
        out.notes.push(...notes);
      } finally {
        await (removed ? lock.unlockAndRemove() : lock.unlock());
      }
    }
  } finally {
    await host.close();
  }
  if (conf.ipam && (await findPlugin(conf.ipam.type, env.path)) && (await supportsVersion(conf.ipam.type, '1.1.0', env))) await delegate(conf.ipam.type, 'GC', conf.raw, env.raw, env.path);
  return out;
}
