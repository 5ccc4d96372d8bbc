// Who is connected at the other end of a unix socket, as the kernel recorded
// it when the peer connected (SO_PEERCRED): the engine's only trusted answer
// to "who is asking". Node does not expose it; the addon does.
import { transport } from './native';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The peer of the connected unix socket `fd` (the fd of an accepted connection). */
export function peerCredentials(fd: number): Promise<PeerCredentials> {
  return transport().peerCredentials(fd);
}
