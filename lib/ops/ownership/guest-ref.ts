// How a journal entry names its guest, and how gc, doctor and detach find
// that guest again: by the same name, PID or path, and only if what they
// find is the very namespace the entry recorded (its dev:ino). A name
// reused for another namespace, or a PID reused by another process, is a
// guest that is gone.
// fs.promises, read at each call: node:fs/promises (with streams and readline) loads on first use, not at every CLI start.
import { promises as fsp } from 'node:fs';
import { Netns } from '../../core/netns';
import type { GuestRef, ResolvedGuest } from '../guest';
import { DEFAULT_RUN_DIR } from '../../core/netns';
import type { GuestRecord } from './entry';

/** What to record for a resolved guest. */
export function guestRecordOf(g: ResolvedGuest): GuestRecord {
  const ns = g.netns;
  const r: GuestRecord = { kind: g.kind, label: g.label };
  if (ns.name !== undefined) r.name = ns.name;
  if (ns.path !== undefined) r.path = ns.path;
  if (ns.name !== undefined && ns.path !== undefined && ns.path.endsWith(`/${ns.name}`)) r.runDir = ns.path.slice(0, -ns.name.length - 1);
  const pid = g.pid ?? ns.pid;
  if (pid !== undefined) r.pid = pid;
  if (g.container) r.container = g.container;
  return r;
}

/** The paths that lead to the guest's namespace, most stable first. */
function pathsOf(r: GuestRecord): string[] {
  const out: string[] = [];
  if (r.path !== undefined) out.push(r.path);
  else if (r.name !== undefined) out.push(`${r.runDir ?? DEFAULT_RUN_DIR}/${r.name}`);
  if (r.pid !== undefined) out.push(`/proc/${r.pid}/ns/net`);
  return out;
}

/** Whether the recorded guest namespace can still be reached by its record (a stat, nothing opened). */
export async function guestReachable(r: GuestRecord, netnsId: string): Promise<boolean> {
  for (const p of pathsOf(r)) {
    try {
      const st = await fsp.stat(p);
      if (`${st.dev}:${st.ino}` === netnsId) return true;
    } catch {
      // gone: try the next way
    }
  }
  return false;
}

/** Opens the recorded guest namespace, or null when none of its ways leads to that namespace any more. */
export async function reopenGuest(r: GuestRecord, netnsId: string): Promise<Netns | null> {
  for (const p of pathsOf(r)) {
    let ns: Netns;
    try {
      ns = await Netns.open({ path: p });
    } catch {
      continue;
    }
    if (ns.id === netnsId) return ns;
    await ns.close();
  }
  return null;
}

/** The guest as attach() and detach() take it, or null for an anonymous namespace nobody can name. */
export function guestRefOf(r: GuestRecord): GuestRef | null {
  if (r.kind === 'container' && r.container) return { container: r.container.id };
  if (r.kind === 'pid' && r.pid !== undefined) return { pid: r.pid };
  if (r.path !== undefined) return { path: r.path };
  if (r.pid !== undefined) return { pid: r.pid };
  return null;
}

/** The guest as the command line takes it (netns:NAME, pid:N, path:P, docker:NAME), or null. */
export function cliGuestRef(r: GuestRecord): string | null {
  if (r.kind === 'container' && r.container) return `docker:${r.container.name}`;
  if (r.kind === 'pid' && r.pid !== undefined) return `pid:${r.pid}`;
  if (r.name !== undefined && (r.runDir ?? DEFAULT_RUN_DIR) === DEFAULT_RUN_DIR) return `netns:${r.name}`;
  if (r.path !== undefined) return `path:${r.path}`;
  if (r.pid !== undefined) return `pid:${r.pid}`;
  return null;
}
