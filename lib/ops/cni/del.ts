// DEL: whatever exists of the attachment goes — the interfaces (only what is
// pipewright's), the IPAM lease, the record. Succeeds when everything is
// already gone, when the namespace is gone, and when the configured IPAM
// plugin is no longer installed. Waits for an ADD of the same container that
// is still running (the container's lock), whose file it then removes.
import { Handle } from '../../core/handle';
import type { NetConf } from './config';
import type { CniEnv } from './env';
import { hostEndName } from './names';
import { teardown } from './teardown';
import { lockContainer, readRecord } from './store';

export async function cmdDel(conf: NetConf, env: CniEnv): Promise<string[]> {
  const containerId = env.containerId!;
  const ifname = env.ifname!;
  const lock = await lockContainer(containerId);
  let removed = false;
  try {
    const rec = await readRecord(conf.name, containerId, ifname);
    const netns = env.netns ?? rec?.netns;
    const ipam = conf.ipam?.type ?? rec?.ipam;
    const host = await Handle.open();
    try {
      const notes = await teardown(
        { network: conf.name, containerId, ifname, ...(netns ? { netns } : {}), ...(rec?.guestNetns ? { guestNetns: rec.guestNetns } : {}), hostEnd: hostEndName(conf.name, containerId, ifname), ...(ipam ? { ipam } : {}), stdin: conf.raw, env: env.raw, path: env.path },
        host,
      );
      removed = true;
      return notes;
    } finally {
      await host.close();
    }
  } finally {
    // Gone: its lock file goes too (a DEL that failed keeps it for the next try).
    await (removed ? lock.unlockAndRemove() : lock.unlock());
  }
}
