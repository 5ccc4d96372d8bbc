// The command's stdout and stderr, written with write(2) directly. Node's
// process.stdout is a stream whose first use loads the stream, net and tty
// modules (~2-3 ms of every start); a command that prints a few lines and
// exits needs none of it. Writes are synchronous, as Node's own are for
// files and pipes on Linux, so nothing is lost when the process exits.
import { writeSync } from 'node:fs';
import type { Out } from './report';

/** How long to wait when a non-blocking stdout is full (its reader is slow). */
const FULL_WAIT_MS = 1;
let sleeper: Int32Array | undefined;

function waitBriefly(): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, FULL_WAIT_MS);
}

/**
 * A writer for fd 1 or 2. A reader that stops early (`pipewright route G
 * show | head -1`) is not our failure: the work is done by the time anything
 * is printed, so after EPIPE the rest of the output is dropped.
 */
export function syncOut(fd: 1 | 2): Out {
  let closed = false;
  return {
    write(s: string): boolean {
      if (closed) return false;
      const buf = Buffer.from(s, 'utf8');
      for (let off = 0; off < buf.length; ) {
        try {
          off += writeSync(fd, buf, off, buf.length - off);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') waitBriefly();
          else if (code === 'EPIPE') return !(closed = true);
          else throw e;
        }
      }
      return true;
    },
  };
}
