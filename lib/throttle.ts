// A process-wide bound on the native operations in flight. Each one holds a
// libuv pool thread (shared with fs and dns.lookup, 4 by default) and its
// completion runs on the event loop's thread; libuv runs every completion
// that is ready in one loop iteration. 200 attach() calls at once queued
// ~4,000 operations: the pool was no longer the application's, and bursts
// of completions held the loop (bench/eventloop.js: delay p99 3.0-5.5 ms,
// max 17-21 ms). With at most 8 in flight a burst is at most 8 completions
// (p99 1.9-2.2 ms, max 6-10 ms, same wall time); 4 or 2 lowered the delay a
// little more but cost 15-25% of the wall time, and the kernel serializes
// most of this work under one lock anyway.
const MAX_IN_FLIGHT = 8;

let inFlight = 0;
const waiting: (() => void)[] = [];

/** Runs op when fewer than MAX_IN_FLIGHT operations are in flight. */
export async function throttled<T>(op: () => Promise<T>): Promise<T> {
  if (inFlight < MAX_IN_FLIGHT) inFlight++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await op();
  } finally {
    // Hand the slot straight to the next waiter (inFlight stays the same).
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  }
}
