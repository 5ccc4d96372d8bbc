// The handle on the process's own network namespace that attach and detach
// use when their caller gives none. A resident process (the engine) shares
// one across the commands it runs (shareHostHandle) instead of opening a
// netlink socket for each; any other process opens one per call, as before.
// One handle is right for every command: the process's namespace never
// changes (only the addon's namespace threads enter others, and they come
// back before they take other work), and the engine serves only callers in
// its own namespace (../engine/peer.ts). A handle holds no verdicts, only a
// socket: nothing a command decides is carried to the next one.
import { Handle } from '../../core/handle';

let shared: Handle | null = null;

/** Shares h with every later attach and detach that is given no host handle (null: stop sharing). The sharer keeps closing it. */
export function shareHostHandle(h: Handle | null): void {
  shared = h;
}

/** The shared handle (not the caller's to close), else a new one (the caller's). */
export async function hostHandle(): Promise<{ handle: Handle; owned: boolean }> {
  if (shared && !shared.closed) return { handle: shared, owned: false };
  return { handle: await Handle.open(), owned: true };
}
