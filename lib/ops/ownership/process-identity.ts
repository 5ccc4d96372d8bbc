// Which process made a journal entry, precisely enough that a reused PID is
// never mistaken for it: the PID, the process's start time (field 22 of
// /proc/PID/stat, in clock ticks since boot) and the boot it ran in. A
// process whose three match is the one that wrote the entry.
// fs.promises, read at each call: node:fs/promises (with streams and readline) loads on first use, not at every CLI start.
import { promises as fsp } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** /proc/PID/stat field 22, as the kernel writes it. */
  startTime: string;
  /** /proc/sys/kernel/random/boot_id: PIDs and start times are per boot. */
  bootId: string;
}

/** Field 22 (starttime) of a /proc/PID/stat line; null when it cannot be read. */
export function startTimeOf(stat: string): string | null {
  // The command name (field 2) is in parentheses and may hold spaces or
  // parentheses itself: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = rest[22 - 3];
  return field !== undefined && /^\d+$/.test(field) ? field : null;
}

let bootId: Promise<string> | undefined;

function currentBootId(): Promise<string> {
  bootId ??= fsp.readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((s) => s.trim(), () => 'unknown');
  return bootId;
}

let self: Promise<ProcessIdentity> | undefined;

/** This process's identity, read once. */
export function selfIdentity(): Promise<ProcessIdentity> {
  self ??= (async () => {
    const [stat, boot] = await Promise.all([fsp.readFile('/proc/self/stat', 'utf8'), currentBootId()]);
    const startTime = startTimeOf(stat);
    if (startTime === null) throw new Error(`cannot read this process's start time from /proc/self/stat`);
    return { pid: process.pid, startTime, bootId: boot };
  })();
  return self;
}

/**
 * Whether the process an entry names still runs. A PID that now belongs to
 * another process (a different start time), or an entry from an earlier
 * boot, is a process that is gone.
 */
export async function processAlive(p: ProcessIdentity): Promise<boolean> {
  if (p.bootId !== (await currentBootId())) return false;
  let stat: string;
  try {
    stat = await fsp.readFile(`/proc/${p.pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return startTimeOf(stat) === p.startTime;
}
