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
import { lockAndReadRecord } from './store';

export async function cmdDel(conf: NetConf, env: CniEnv): Promise<string[]> {
  const containerId = env.containerId!;
  const ifname = env.ifname!;
  // The host's handle is opened while the lock is waited for (the record is read under it, in the same trip).
  const [lockR, hostR] = await Promise.allSettled([lockAndReadRecord(conf.name, containerId, ifname), Handle.open()]);
  if (lockR.status === 'rejected' || hostR.status === 'rejected') {
    if (hostR.status === 'fulfilled') await hostR.value.close();
    if (lockR.status === 'fulfilled') await lockR.value.lock.unlock();
    throw lockR.status === 'rejected' ? lockR.reason : (hostR as PromiseRejectedResult).reason;
  }
  const { lock, record: rec } = lockR.value;
  const host = hostR.value;
  let removed = false;
  try {
    const netns = env.netns ?? rec?.netns;
    const ipam = conf.ipam?.type ?? rec?.ipam;
    const notes = await teardown(
      { network: conf.name, containerId, ifname, ...(netns ? { netns } : {}), ...(rec?.guestNetns ? { guestNetns: rec.guestNetns } : {}), hostEnd: hostEndName(conf.name, containerId, ifname), ...(ipam ? { ipam } : {}), stdin: conf.raw, env: env.raw, path: env.path },
      host,
    );
    removed = true;
    return notes;
  } finally {
    await host.close();
    // Gone: its lock file goes too (a DEL that failed keeps it for the next try).
    await (removed ? lock.unlockAndRemove() : lock.unlock());
  }
}
