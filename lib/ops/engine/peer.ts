// Whether the engine serves a peer: root (or a uid it was told to allow);
// and its command lines only in the engine's own network and mount namespaces. A command names links,
// namespaces and files as its caller sees them; run in another namespace
// it would act on other objects, so such a peer runs its command itself.
// What the peer is comes from the kernel (SO_PEERCRED, /proc), never from it:
// the addon reads both when it accepts the connection (lib/core/engine-socket.ts).
import { statSync } from 'node:fs';
import type { PeerIdentity } from '../../core/engine-socket';

/** One of the engine's own namespaces, as the addon reports a peer's ("dev:ino" of /proc/self/ns/KIND). */
function ownNsId(kind: 'net' | 'mnt' | 'time'): string | null {
  try {
    const st = statSync(`/proc/self/ns/${kind}`);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Why the peer is not served at all ('' when it is). */
export function peerRefusal(cred: PeerIdentity, allowUids: readonly number[]): string {
  if (cred.uid !== 0 && !allowUids.includes(cred.uid)) return `uid ${cred.uid} is not root (the engine serves root only unless started with --allow-uid)`;
  return '';
}

/** The engine's own namespaces never change: read once. */
let own: [string | null, string | null] | undefined;

/** Why the peer's command lines are not run here ('' when they are): they must run in the peer's namespaces. */
export function namespaceRefusal(cred: PeerIdentity): string {
  // SO_PEERCRED gives pid 0 for a peer whose process the engine's pid namespace cannot see.
  if (cred.pid <= 0) return 'the peer is in a pid namespace the engine cannot see';
  own ??= [ownNsId('net'), ownNsId('mnt')];
  const ours = own;
  const theirs = [cred.net ?? null, cred.mnt ?? null];
  if (theirs[0] === null || theirs[1] === null) return cred.nsError ? `the peer's namespaces could not be read (${cred.nsError})` : 'the peer went away before it could be identified';
  if (theirs[0] !== ours[0]) return 'the peer is in another network namespace';
  if (theirs[1] !== ours[1]) return 'the peer is in another mount namespace';
  return '';
}

/** The engine's time namespace ('' on a kernel without them): read once. */
let ownClock: string | null | undefined;

/**
 * Whether the peer reads the same CLOCK_MONOTONIC as the engine, so that a
 * deadline it sent means the same instant here (protocol.ts). A time
 * namespace may offset that clock; a kernel without time namespaces has
 * one clock for all.
 */
export function sharesClock(cred: PeerIdentity): boolean {
  if (cred.pid <= 0) return false;
  ownClock ??= ownNsId('time') ?? '';
  if (ownClock === '') return true;
  return cred.time === ownClock;
}
