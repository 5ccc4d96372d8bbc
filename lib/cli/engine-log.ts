// The engine's log on stderr, written so that a reader who stops reading
// never stops the engine. A command line writes its output synchronously
// (sync-out.ts): it has nothing else to do. A resident engine whose stderr
// is a pipe nobody drains (a supervisor that stopped reading it, a `| less`
// left open) would, with those writes, stop serving and repairing the moment
// the pipe filled. Here a line the pipe cannot take at once waits in a
// bounded queue and is written when the pipe takes it again; past the
// bound, lines are dropped and counted, and the count is logged once the
// reader is back.
import { constants, fstatSync, openSync, writeSync } from 'node:fs';
import type { Out } from './report';

/** What may wait for a slow reader; more is dropped (and counted). */
export const MAX_QUEUED_BYTES = 256 * 1024;
/** How soon a full pipe is tried again, first and at most (doubling in between). */
const RETRY_FIRST_MS = 5;
const RETRY_MAX_MS = 1000;

export interface EngineLog extends Out {
  /** Lines dropped so far because the reader was too far behind. */
  readonly dropped: number;
  /** Bytes waiting for the reader. */
  readonly queuedBytes: number;
}

/**
 * A descriptor for `fd` whose writes never block. A pipe or FIFO is opened
 * again through /proc (a description of our own, O_NONBLOCK, whatever the
 * one we were handed says); a regular file never blocks for long and is
 * used as it is, as is anything else (a terminal, or journald's socket,
 * which cannot be opened again: there a stuck reader still blocks).
 */
function nonBlocking(fd: number): number {
  try {
    if (!fstatSync(fd).isFIFO()) return fd;
    // libuv opens every file close-on-exec: children (iptables) do not get it.
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return fd;
  }
}

export function engineLog(fd = 2): EngineLog {
  const out = nonBlocking(fd);
  const queue: Buffer[] = [];
  let queued = 0;
  let dropped = 0;
  let reported = 0;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let retryMs = RETRY_FIRST_MS;

  const arm = () => {
    if (timer || closed) return;
    // Unref'd: a reader that never comes back does not keep the engine alive once it stopped.
    timer = setTimeout(() => {
      timer = null;
      pump();
    }, retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  };

  const enqueue = (buf: Buffer) => {
    if (queued + buf.length > MAX_QUEUED_BYTES) {
      dropped++;
      return;
    }
    queue.push(buf);
    queued += buf.length;
  };

  /** Writes what waits, as far as the reader takes it; true when nothing is left. */
  const drain = (): boolean => {
    while (queue.length > 0) {
      const head = queue[0]!;
      let n: number;
      try {
        n = writeSync(out, head);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return false;
        // EPIPE: nobody will ever read it; anything else: nothing better to do with a log line.
        closed = true;
        queue.length = 0;
        queued = 0;
        return true;
      }
      queued -= n;
      if (n < head.length) {
        queue[0] = head.subarray(n);
        return false;
      }
      queue.shift();
    }
    return true;
  };

  function pump(): void {
    if (!drain()) return arm();
    retryMs = RETRY_FIRST_MS;
    if (dropped > reported && !closed) {
      const lost = dropped - reported;
      reported = dropped;
      enqueue(Buffer.from(`pipewright engine: ${lost} log line(s) dropped: stderr was not being read\n`));
      if (!drain()) arm();
    }
  }

  return {
    write(s: string): boolean {
      if (closed) return false;
      enqueue(Buffer.from(s, 'utf8'));
      // Behind a line already waiting, it waits its turn (the timer writes both).
      if (!timer) pump();
      return true;
    },
    get dropped() {
      return dropped;
    },
    get queuedBytes() {
      return queued;
    },
  };
}
