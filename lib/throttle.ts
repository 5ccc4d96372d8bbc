// A process-wide bound on the native operations in flight. Each one holds a
// libuv pool thread (shared with fs and dns.lookup, 4 by default) and its
// completion runs on the event loop's thread; libuv runs every completion
// that is ready in one loop iteration. 200 attach() calls at once queued
// ~3,000 operations: the pool was the application's no more, and bursts of
// completions held the loop (event-loop delay p99 3-5.5 ms, measured by
// bench/eventloop.js). With at most 8 in flight, a burst is at most 8
// completions (p99 ~2 ms) and total throughput did not change measurably
// (the kernel serializes most of this work under one lock anyway).
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
