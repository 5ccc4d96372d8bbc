// The per-guest state dir: <stateDir>/guests/<dev>-<ino>/ holds the guest's
// resolv.conf and, per interface, the client's pid file, its log, dhclient's
// lease file and a scratch mount point. The dir is named after the
// namespace's id, and the kernel reuses namespace inodes: a dir may hold
// files of an earlier namespace that had the same id, so nothing in it is
// trusted without checking that its client still runs in this guest.
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stateDir } from '../../core/state-dir';
import type { ResolvedGuest } from '../guest';
import { CLIENT_NAMES, type ClientName } from './clients';
import { isClientIn, readPidFile } from './process';

export { stateDir };

/** The guest's dir, absolute (the setup script compares it with /run and /var/lib); not created here. */
export function guestDir(guest: ResolvedGuest): string {
  return resolve(stateDir(), 'guests', guest.netns.id.replace(':', '-'));
}

/** The files one client for one interface uses, in the guest's dir. */
export function clientFiles(dir: string, client: ClientName, ifname: string): { pidFile: string; logFile: string; leaseFile: string; scratch: string } {
  return {
    pidFile: join(dir, `${client}.${ifname}.pid`),
    logFile: join(dir, `${client}.${ifname}.log`),
    leaseFile: join(dir, `dhclient.${ifname}.leases`),
    // Per interface, so that clients for two interfaces of one guest can start together.
    scratch: join(dir, `.mnt-${ifname}`),
  };
}

const CLIENT_FILE = new RegExp(`^(?:${CLIENT_NAMES.join('|')})\\.(.+)\\.(?:pid|log)$`);
const LEASE_FILE = /^dhclient\.(.+)\.leases$/;
const SCRATCH = /^\.mnt-(.+)$/;

/** The interface a file of the guest's dir belongs to; null for resolv.conf and anything unknown. */
function interfaceOf(name: string): string | null {
  return (CLIENT_FILE.exec(name) ?? LEASE_FILE.exec(name) ?? SCRATCH.exec(name))?.[1] ?? null;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Each interface with files in the dir, with the names of its files. */
export function interfacesIn(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of entries(dir)) {
    const ifname = interfaceOf(name);
    if (ifname !== null) out.set(ifname, [...(out.get(ifname) ?? []), name]);
  }
  return out;
}

export interface LiveClient {
  client: ClientName;
  ifname: string;
  pid: number;
}

/** The clients whose pid files in the dir name a process that is still that client, in this guest. */
export function liveClients(dir: string, guest: ResolvedGuest, ifname?: string): LiveClient[] {
  const out: LiveClient[] = [];
  for (const [name, files] of interfacesIn(dir)) {
    if (ifname !== undefined && name !== ifname) continue;
    for (const client of CLIENT_NAMES) {
      if (!files.includes(`${client}.${name}.pid`)) continue;
      const pid = readPidFile(join(dir, `${client}.${name}.pid`));
      if (pid !== null && isClientIn(pid, client, guest.netns)) out.push({ client, ifname: name, pid });
    }
  }
  return out;
}

/** Removes a directory if it is empty (the scratch mount point is, once its mount has moved). */
export function rmdirQuiet(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch {
    // not there, or not empty: someone else's files are in it
    return false;
  }
}

/**
 * Removes the files of interface `ifname` from the dir (stop its client
 * first). Returns the names removed. A scratch dir that is not empty is
 * left: a mount is still on it.
 */
export function removeInterfaceFiles(dir: string, ifname: string): string[] {
  const removed: string[] = [];
  for (const name of interfacesIn(dir).get(ifname) ?? []) {
    if (SCRATCH.test(name)) {
      if (rmdirQuiet(join(dir, name))) removed.push(name);
      continue;
    }
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
