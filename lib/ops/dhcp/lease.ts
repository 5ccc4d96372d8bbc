// Waiting for the lease: the client reports nothing to us directly, so we
// watch the guest's addresses through netlink events, then read back what
// its scripts configured. The client's log explains a failure.
import { readFileSync } from 'node:fs';
import type { ResolvedGuest } from '../guest';
import { Handle } from '../../core/handle';
import { delay } from './process';

export interface Lease {
  address: string;
  prefixLen: number;
  gateway?: string;
}

/** What the clients print when they give up for lack of an answer. */
export const NO_LEASE = /no lease|timed out|no dhcpoffers|unable to obtain a lease/i;

/** The client log's last lines, as a suffix for an error message ('' when there are none). */
export function logTail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    return lines.length ? `: ${lines.slice(-3).join(' | ')}` : '';
  } catch {
    return '';
  }
}

/**
 * Waits until the interface has an IPv4 address, lets `settle` finish, and
 * reads back the address and the default gateway. Returns null at the
 * deadline, or as soon as `signal` aborts (the client exited).
 */
export async function waitForLease(
  guest: ResolvedGuest,
  ifname: string,
  timeoutMs: number,
  opts: { signal?: AbortSignal; settle?: () => Promise<void> } = {},
): Promise<Lease | null> {
  const h = await Handle.open(guest.netns);
  try {
    const w = h.watch(['addr'], opts.signal ? { signal: opts.signal } : {});
    try {
      await w.ready;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let addrs = await h.addr.list({ dev: ifname, family: 4 });
        if (addrs.length) {
          if (opts.settle) {
            await opts.settle();
            addrs = await h.addr.list({ dev: ifname, family: 4 });
            if (!addrs.length) continue;
          }
          const gw = (await h.route.list({ family: 4 })).find((r) => r.dst === 'default')?.gateway;
          return { address: addrs[0]!.address, prefixLen: addrs[0]!.prefixLen, ...(gw ? { gateway: gw } : {}) };
        }
        const left = deadline - Date.now();
        if (left <= 0 || opts.signal?.aborted) return null;
        const t0 = Date.now();
        await w.waitFor((ev) => ev.kind === 'addr' && ev.action === 'new', left, { keepOpen: true }).catch(() => undefined);
        // A watcher that ended (aborted or failed) returns at once. Pause so
        // the loop cannot spin.
        if (Date.now() - t0 < 5 && !opts.signal?.aborted) await delay(Math.min(50, Math.max(0, deadline - Date.now()))).promise;
      }
    } finally {
      await w.close();
    }
  } finally {
    await h.close();
  }
}
