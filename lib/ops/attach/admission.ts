// How many attach() calls do their work at once in this process; the others
// wait their turn, in order of arrival.
//
// All the attaches of a process share one netlink thread and one event loop
// (native/executor.h), so admitting more at once does not make a set of them
// finish sooner: it only queues more requests behind the same thread. What
// it did do, with 200 issued at once (bench/eventloop.js): every one of them
// held its handles, lookups and plan for the whole run, so each
// young-generation collection had more to copy; their link creations, ARP
// floods and verifications landed at the same moments and took both CPUs;
// and the event loop waited for them. 12 at a time, with the netlink thread
// and the paced settling of results (native/dispatch.h), took the loop's
// delay p99 from ~3 ms to ~1.4 ms, with the 200 done as soon as before; 8
// was no better, 16 a little worse, 4 slower to finish.
//
// An attach leaves early when it starts waiting on something outside this
// process (a DHCP lease, a watch): it no longer needs the loop, and others
// must not wait seconds for it.

/** Attaches doing their work at once. */
export const MAX_ACTIVE_ATTACHES = 12;

let active = 0;
const waiting: Array<() => void> = [];

/**
 * Waits for room among the active attaches. The function it resolves to
 * gives the room back (to the next waiter, if any); calling it again does
 * nothing, so an attach that left early can still call it when it ends.
 */
export async function admission(): Promise<() => void> {
  if (active < MAX_ACTIVE_ATTACHES) active++;
  // The attach that leaves hands its room straight to us (active unchanged).
  else await new Promise<void>((resolve) => waiting.push(resolve));
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
}
