// CNI_NETNS opened for ADD and CHECK: a namespace that cannot be opened is
// the runtime's error to fix (CNI's "unknown container"), named with the
// path and the reason. Opened with the netlink socket of its first Handle
// (one trip to the addon's threads, not two).
import { openNetnsForHandle, type Netns } from '../../core/netns';
import { CniError, CNI_ERR } from './errors';

export async function openContainerNetns(netnsPath: string): Promise<Netns> {
  try {
    return await openNetnsForHandle({ path: netnsPath });
  } catch (e) {
    throw new CniError(CNI_ERR.UNKNOWN_CONTAINER, `CNI_NETNS=${JSON.stringify(netnsPath)} cannot be used: ${(e as Error).message}`);
  }
}
