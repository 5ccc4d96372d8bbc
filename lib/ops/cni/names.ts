// The names an attachment's identity gives it. The host end's name is derived
// from (network, container ID, interface), so an ADD run again, a DEL whose
// namespace is gone and GC all find the same link without a lookup table,
// and two attachments never share one. The owner tag in the ownership mark
// names the network, so pipewright's own gc and doctor say whose it is.
import { createHash } from 'node:crypto';

/** "pw" and 13 hex digits of the identity's hash: 15 bytes, the kernel's limit. */
export function hostEndName(network: string, containerId: string, ifname: string): string {
  return `pw${createHash('sha256').update(`${network}\0${containerId}\0${ifname}`).digest('hex').slice(0, 13)}`;
}

/** The owner tag on the ownership mark: "cni-NETWORK" (a hash of it when the name is long). */
export function ownerTag(network: string): string {
  return network.length <= 60 ? `cni-${network}` : `cni-${createHash('sha256').update(network).digest('hex').slice(0, 16)}`;
}
