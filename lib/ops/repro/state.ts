// "Left exactly as it was", made countable: a namespace's links, addresses
// and routes, and this process's mounts, named namespaces, namespace fds and
// open fds. Two equal snapshots around an operation prove it left nothing.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Handle } from '../../core/handle';
import { DEFAULT_RUN_DIR } from '../../core/netns';
import { OWN_TAG } from './common';

export interface NetState {
  links: string[];
  addrs: string[];
  routes: string[];
}

export interface ProcState {
  mounts: string[];
  namedNetns: string[];
  netnsFds: string[];
  /** Every open fd as "fd kind" (socket/pipe inode numbers dropped: a reopened fd is still the same kind). */
  fds: string[];
}

export async function netState(h: Handle): Promise<NetState> {
  const links = await h.link.list();
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  const addrs = await h.addr.list();
  const routes = [...(await h.route.list({ family: 4 })), ...(await h.route.list({ family: 6 }))];
  return {
    links: links.map((l) => `${l.name} ${l.kind ?? '-'} master=${l.master ? byIndex.get(l.master) : '-'} ${l.up ? 'up' : 'down'}`).sort(),
    // IPv6 link-local addresses and routes come and go with links: compare the rest.
    addrs: addrs.filter((a) => !a.address.startsWith('fe80:')).map((a) => `${byIndex.get(a.index)} ${a.address}/${a.prefixLen}`).sort(),
    routes: routes
      .filter((r) => !r.dst.startsWith('fe80:') && r.dst !== 'ff00::')
      .map((r) => `${r.dst}/${r.dstLen} via ${r.gateway ?? '-'} dev ${r.dev ? byIndex.get(r.dev) : '-'}`)
      .sort(),
  };
}

function fdTargets(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push([fd, readlinkSync(`/proc/self/fd/${fd}`)]);
    } catch {
      // readdir's own fd, closed by the time we look
    }
  }
  return out;
}

/**
 * This process's view. Mounts count when pipewright could have made them
 * (pipewrightMounts): other programs' mounts (other test files running in
 * the same sandbox mount scratch tmpfs of their own) are not ours to judge. Named namespaces (entries
 * and their mounts under runDir) count only when they carry OWN_TAG, for
 * the same reason.
 */
export function procState(runDir = DEFAULT_RUN_DIR): ProcState {
  const targets = fdTargets();
  let named: string[] = [];
  try {
    named = readdirSync(runDir).filter((n) => n.includes(OWN_TAG)).sort();
  } catch {
    named = [];
  }
  const foreign = (mp: string) => mp.startsWith(`${runDir}/`) && !mp.slice(runDir.length + 1).includes(OWN_TAG);
  return {
    mounts: pipewrightMounts(runDir).filter((mp) => !foreign(mp)),
    namedNetns: named,
    netnsFds: targets.filter(([, t]) => t.startsWith('net:[')).map(([fd, t]) => `${fd} ${t}`).sort(),
    fds: targets.map(([fd, t]) => `${fd} ${t.replace(/:\[\d+\]$/, '')}`).sort(),
  };
}

/**
 * This process's mount points that pipewright could have made, sorted:
 * runDir itself (made shared) and the namespace names in it. Namespace
 * names elsewhere are other programs' (test files running in the same
 * sandbox keep theirs in directories of their own), as are other mounts.
 */
export function pipewrightMounts(runDir = DEFAULT_RUN_DIR): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp !== undefined && (mp === runDir || mp.startsWith(`${runDir}/`))) out.push(mp);
  }
  return out.sort();
}

/** Counts for the report: how many of each. */
export function counts(n: NetState, p: ProcState): Record<string, number> {
  return { links: n.links.length, addrs: n.addrs.length, routes: n.routes.length, mounts: p.mounts.length, namedNetns: p.namedNetns.length, netnsFds: p.netnsFds.length, fds: p.fds.length };
}

/** The entries that differ between two snapshots, as "+x" / "-x" lines (empty: identical). */
export function diff<T extends object>(before: T, after: T): string[] {
  const out: string[] = [];
  for (const key of Object.keys(before) as Array<keyof T>) {
    const a = before[key] as unknown as string[];
    const b = after[key] as unknown as string[];
    for (const x of b) if (!a.includes(x)) out.push(`${String(key)}: +${x}`);
    for (const x of a) if (!b.includes(x)) out.push(`${String(key)}: -${x}`);
    if (a.length !== b.length && out.length === 0) out.push(`${String(key)}: ${a.length} -> ${b.length}`);
  }
  return out;
}
