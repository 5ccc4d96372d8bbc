// The client as a process: started under unshare as the leader of its own
// process group, stopped through that group, and, for a client found later
// through its pid file, verified before it is signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { ClientName } from './clients';

/** How long a stopped client gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 1000;
/** How long a client found by its pid file may take to go after SIGKILL. */
const KILL_WAIT_MS = 5000;
/** Kept clients: their hook scripts count as finished after this long with none running... */
const HOOKS_QUIET_MS = 100;
/** ...and we stop waiting for them after this long. */
const HOOKS_MAX_MS = 2000;

export interface Running {
  child: ChildProcess;
  /** Settles when the process exits, or cannot be started (error). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
}

/** Starts argv under unshare as the leader of a new process group, with stdout and stderr going to logPath. */
export function start(argv: string[], env: NodeJS.ProcessEnv, logPath: string): Running {
  const log = openSync(logPath, 'w');
  try {
    // detached: its own process group, so a stop reaches the hook scripts it runs too.
    const child = spawn('unshare', argv, { env, detached: true, stdio: ['ignore', log, log] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((res) => {
      child.once('exit', (code, signal) => res({ code, signal }));
      child.once('error', (error) => res({ code: null, signal: null, error }));
    });
    return { child, exited };
  } finally {
    closeSync(log);
  }
}

function signalGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nobody is left in the group
  }
}

/** A timer promise that can be cancelled, so that a settled race leaves no timer pending. */
export function delay(ms: number): { promise: Promise<'timeout'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** SIGTERM to the client's process group, then SIGKILL if it has not exited. Waits for the exit. */
export async function stopGroup(r: Running): Promise<void> {
  // Once node has reaped the leader, its pid (= the group id) may belong to
  // someone else. Hook scripts still running in the group end by themselves.
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  signalGroup(r.child.pid, 'SIGTERM');
  const d = delay(KILL_GRACE_MS);
  const how = await Promise.race([r.exited, d.promise]);
  d.cancel();
  if (how !== 'timeout') return;
  signalGroup(r.child.pid, 'SIGKILL');
  await r.exited;
}

function alive(pid: number): boolean {
  try {
    // A zombie still answers kill(0); it has no command line any more.
    return readFileSync(`/proc/${pid}/cmdline`).length > 0;
  } catch {
    return false;
  }
}

/**
 * Is `pid` a running `client` in network namespace `ns`? A pid file outlives
 * its process, and the pid may since belong to anything: only a process with
 * the client's name, in the guest's namespace, is that client. A zombie has
 * no namespaces left, so it does not count.
 */
export function isClientIn(pid: number, client: ClientName, ns: { dev: number; ino: number }): boolean {
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== client) return false;
    const st = statSync(`/proc/${pid}/ns/net`);
    return st.ino === ns.ino && st.dev === ns.dev;
  } catch {
    return false;
  }
}

/** The pid a pid file names, or null when there is no file or no pid in it. */
export function readPidFile(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
  return /^[1-9]\d*$/.test(text) ? Number(text) : null;
}

/** The process group `pid` is in, or null if it has exited. */
function groupOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

async function waitWhile(cond: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (cond() && Date.now() < until) await delay(20).promise;
}

/**
 * Stops a client that is not our child (another pipewright process may have
 * started it): SIGTERM, then SIGKILL after KILL_GRACE_MS, and waits until it
 * has exited. `isIt` is asked again before every signal, so that a pid freed
 * in the meantime and reused is never signalled. A client leading its own
 * process group (as runDhcp starts it) is signalled through the group, to
 * reach its hook scripts too. Returns false if it is still there at the end.
 */
export async function stopVerified(pid: number, isIt: () => boolean): Promise<boolean> {
  for (const [signal, wait] of [['SIGTERM', KILL_GRACE_MS], ['SIGKILL', KILL_WAIT_MS]] as const) {
    if (!isIt()) return true;
    try {
      process.kill(groupOf(pid) === pid ? -pid : pid, signal);
    } catch {
      // ESRCH: it exited just now
    }
    await waitWhile(isIt, wait);
  }
  return !isIt();
}

/**
 * dhclient -1 daemonizes once it has the lease: the parent exits and the
 * child writes the pid file a moment later. We stop the daemon, as pipework
 * does. SIGTERM leaves the address in place; verified with Debian's
 * dhclient-script.
 */
export async function stopDaemonizedDhclient(pidFile: string): Promise<void> {
  const deadline = Date.now() + 2000;
  let pid: number | null = null;
  while (Date.now() < deadline) {
    pid = readPidFile(pidFile);
    if (pid !== null) break;
    await delay(20).promise;
  }
  if (pid === null) return;
  // The pid file may outlive its process: only signal a dhclient.
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'dhclient') return;
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await waitWhile(() => alive(pid), KILL_GRACE_MS);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited in between
    }
  }
}

/** How many processes of process group `pgid` are not `name` itself: its running hook scripts. */
function hookProcesses(pgid: number, name: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, , pgrp] = stat.slice(close + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && comm !== name) n++;
    } catch {
      // exited while we looked
    }
  }
  return n;
}

/**
 * A kept client applies the lease in hook scripts (resolv.conf, and routes
 * for udhcpc and dhclient) that finish after the address appears. Waits
 * until none has run for HOOKS_QUIET_MS, so the lease is complete when
 * attach returns. It also keeps a SIGTERM from arriving in the middle of
 * dhcpcd's hooks: dhcpcd 9.4.1 then sometimes hangs and never exits
 * (reproduced here in about 1 run in 10).
 */
export async function hooksSettled(pgid: number, name: string): Promise<void> {
  const until = Date.now() + HOOKS_MAX_MS;
  let quietSince = Date.now();
  while (Date.now() < until) {
    if (hookProcesses(pgid, name) > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= HOOKS_QUIET_MS) return;
    await delay(10).promise;
  }
}
