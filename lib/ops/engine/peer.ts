// Whether the engine serves a peer: root (or a uid it was told to allow);
// and its command lines only in the engine's own network and mount namespaces. A command names links,
// namespaces and files as its caller sees them; run in another namespace
// it would act on other objects, so such a peer runs its command itself.
// What the peer is comes from the kernel (SO_PEERCRED, /proc), never from it.
import { statSync } from 'node:fs';
import type { PeerCredentials } from '../../core/peer-cred';

/**
 * A namespace's identity, read on the event loop's thread: a stat of a
 * /proc/PID/ns entry is answered from the kernel's memory (it never waits
 * for a disk), and doing it here spares every request two round trips
 * through libuv's thread pool (~0.2 ms of the engine's answer, measured).
 */
function nsId(pid: number | 'self', kind: 'net' | 'mnt' | 'time'): string | null {
  try {
    const st = statSync(`/proc/${pid}/ns/${kind}`);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Why the peer is not served at all ('' when it is). */
export function peerRefusal(cred: PeerCredentials, allowUids: readonly number[]): string {
  if (cred.uid !== 0 && !allowUids.includes(cred.uid)) return `uid ${cred.uid} is not root (the engine serves root only unless started with --allow-uid)`;
  return '';
}

/** The engine's own namespaces never change: read once. */
let own: [string | null, string | null] | undefined;

/** Why the peer's command lines are not run here ('' when they are): they must run in the peer's namespaces. */
export function namespaceRefusal(cred: PeerCredentials): string {
  // SO_PEERCRED gives pid 0 for a peer whose process the engine's pid namespace cannot see.
  if (cred.pid <= 0) return 'the peer is in a pid namespace the engine cannot see';
  own ??= [nsId('self', 'net'), nsId('self', 'mnt')];
  const ours = own;
  const theirs = [nsId(cred.pid, 'net'), nsId(cred.pid, 'mnt')];
  if (theirs[0] === null || theirs[1] === null) return 'the peer went away before it could be identified';
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
export function sharesClock(cred: PeerCredentials): boolean {
  if (cred.pid <= 0) return false;
  ownClock ??= nsId('self', 'time') ?? '';
  if (ownClock === '') return true;
  return nsId(cred.pid, 'time') === ownClock;
}
