// The state of a namespace as a comparable value: links (name, kind, master
// name, up), addresses and routes. Two equal snapshots around a failed
// operation prove it left nothing behind.
import type { Handle } from '../../lib';
import { netState, pipewrightMounts, type NetState } from '../../lib/ops/repro/state';

export type { NetState as Snapshot } from '../../lib/ops/repro/state';

/** The library's own "left exactly as it was" view of a namespace (lib/ops/repro/state). */
export async function snapshot(h: Handle): Promise<NetState> {
  return netState(h);
}

/**
 * Mount points of this process's mount namespace that pipewright could make
 * (a failed attach must not leave one): /run/netns and what is under it.
 * Test files run in parallel in one sandbox and share its mount namespace:
 * their own mounts (the pack test's scratch tmpfs, namespace names in
 * directories of their own) and named namespaces (their names carry their
 * PID, see uniqueName) are not ours to compare.
 */
export function mounts(): string[] {
  return pipewrightMounts('/run/netns').filter((m) => !m.startsWith('/run/netns/') || m.includes(`-${process.pid}-`));
}
