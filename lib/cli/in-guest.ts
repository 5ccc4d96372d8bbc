// Runs a function with a Handle inside a guest's network namespace, resolved
// the same way attach resolves guests, and closes everything afterwards.
import type { Handle } from '../core/handle';

export async function inGuest<T>(guest: string, fn: (h: Handle) => Promise<T>): Promise<T> {
  // Lazy: route and rule, which use this, load for every commander command (help ...); the guest and Handle only when run.
  const { resolveGuest } = await import('../ops/guest');
  const { Handle } = await import('../core/handle');
  const g = await resolveGuest(guest);
  try {
    const h = await Handle.open(g.netns);
    try {
      return await fn(h);
    } finally {
      await h.close();
    }
  } finally {
    if (g.owned) await g.netns.close();
  }
}

/** ifindex → name, for printing what the kernel reports by index. */
export async function linkNames(h: Handle): Promise<Map<number, string>> {
  return new Map((await h.link.list()).map((l) => [l.index, l.name]));
}
