// Runs a DHCP client for a guest interface, and releases what it left. The
// client runs inside the guest's network namespace, and also in private
// mount and UTS namespaces (see setup.ts), so that nothing it or its hook
// scripts write can reach the host. Its files live in the guest's state dir
// (see state.ts); the resolv.conf it writes there is then made reachable by
// the guest's resolver where that can be done (resolver.ts).
// The link is already up when the client starts. pipework failed with
// "Network is down" because it started the client before the link was up.
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedGuest } from '../guest';
import type { DhcpSpec } from './spec';
import { Handle } from '../../core/handle';
import { PipewrightError, type PipewrightErrorCode } from '../../core/errors';
import { clientArgs, hostnameFor, pickClient, udhcpcScript } from './clients';
import { SETUP, SETUP_FAILED } from './setup';
import { delay, hooksSettled, isClientIn, start, stopDaemonizedDhclient, stopGroup, stopVerified } from './process';
import { logTail, NO_LEASE, waitForLease } from './lease';
import { clientFiles, guestDir, interfacesIn, liveClients, removeInterfaceFiles, rmdirQuiet, stateDir, type LiveClient } from './state';
import { publishResolvConf, unpublishResolvConf, RESOLVER_MARKER } from './resolver';

export { stateDir } from './state';

export interface DhcpLease {
  client: string;
  address: string;
  prefixLen: number;
  gateway?: string;
  /** The per-guest resolv.conf the client wrote (in pipewright's state dir). */
  resolvConf: string;
  /** For a named namespace: /etc/netns/NAME/resolv.conf, our link to resolvConf, which `ip netns exec NAME` uses. */
  netnsResolvConf?: string;
  /** How the guest gets to use resolvConf (for a container: how to hand it over). */
  resolvConfUse: string;
  /** PID of a client kept running (foreground), if any. */
  pid?: number;
  /** Stops a kept client; nothing to do for one-shot clients. */
  stop: () => Promise<void>;
}

/** How much longer than its own timeout a one-shot client may take before we kill it. */
const GRACE_MS = 1000;

/**
 * Throws the error runDhcp would throw for a client that is missing, or for
 * udhcpc without a lease script. A caller can check this before it creates
 * anything.
 */
export function checkDhcpClient(spec: DhcpSpec): void {
  // Where its files will go: an untrusted PW_STATE_DIR is refused now, before anything is created.
  stateDir();
  const { name } = pickClient(spec.client);
  if (name === 'udhcpc') udhcpcScript(spec.options ?? []);
}

/** The undo of a lease: the guest's resolver loses the link unless another interface's client still serves it. */
function unpublishUnlessUsed(guest: ResolvedGuest, dir: string): void {
  if (liveClients(dir, guest).length === 0) unpublishResolvConf(dir);
}

/** Stops a client found through its pid file; throws if it outlives SIGKILL. */
async function stopLive(c: LiveClient, guest: ResolvedGuest): Promise<string> {
  if (!(await stopVerified(c.pid, () => isClientIn(c.pid, c.client, guest.netns))))
    throw new PipewrightError('ERR_PW_TIMEOUT', `${c.client} (pid ${c.pid}) for ${c.ifname} in guest ${guest.label} is still running after SIGKILL`);
  return `stopped ${c.client} (pid ${c.pid}) for ${c.ifname}`;
}

export async function runDhcp(guest: ResolvedGuest, ifname: string, spec: DhcpSpec): Promise<DhcpLease> {
  const { name: client, path: bin } = pickClient(spec.client);
  const extra = spec.options ?? [];
  const keep = spec.foreground === true;
  const timeoutMs = spec.timeoutMs ?? 30_000;
  const timeoutS = Math.max(1, Math.ceil(timeoutMs / 1000));

  const wanted = guestDir(guest);
  const createdDir = !existsSync(wanted);
  mkdirSync(wanted, { recursive: true, mode: 0o755 });
  // The setup script compares paths with /run and /var/lib, so the dir must
  // also be canonical (/var/run is a symlink to /run).
  const dir = realpathSync(wanted);
  // attach runs the client only for an interface it has just created: a
  // client still running for that name served an interface that is gone,
  // and would fight ours over the new one. What files that name has are
  // stale: a stale pid file would make dhclient refuse to start, or make us
  // signal a reused PID, and a stale log or lease would be mistaken for ours.
  for (const c of liveClients(dir, guest, ifname)) await stopLive(c, guest);
  removeInterfaceFiles(dir, ifname);
  const resolvConf = join(dir, 'resolv.conf');
  const createdResolv = !existsSync(resolvConf);
  // Unless another interface's client is running and owns what is in it, an
  // existing resolv.conf is stale too (the dir of an earlier namespace with
  // this inode, or a client that has exited): the guest starts with only
  // what this lease puts there.
  if (createdResolv || liveClients(dir, guest).length === 0) writeFileSync(resolvConf, '', { mode: 0o644 });
  const { pidFile, logFile, leaseFile, scratch } = clientFiles(dir, client, ifname);

  const hostname = hostnameFor(guest.label);
  const args = clientArgs(client, { ifname, hostname, pidFile, leaseFile, keep, extra, timeoutS });
  const argv = ['--mount', '--uts', '--propagation', 'private', 'sh', '-c', SETUP, 'pipewright-dhcp', dir, hostname, scratch, bin, ...args];
  const env = { ...process.env, PW_NETNS: `/proc/${process.pid}/fd/${guest.netns.fd}` };
  const running = start(argv, env, logFile);
  // dhcpcd's own pid file is under its private /run. The spawned pid is
  // dhcpcd's (nothing in the exec chain forks), so record it here: a
  // concurrent runDhcp for another interface then sees a live client.
  if (client === 'dhcpcd' && running.child.pid !== undefined) writeFileSync(pidFile, `${running.child.pid}\n`);

  // Stops the client, removes the files this call created, and throws. Only
  // those: a client for another interface of this guest may be using the dir.
  const fail = async (code: PipewrightErrorCode, why: string): Promise<never> => {
    await stopGroup(running);
    const message = `${client} ${why} on ${ifname}${logTail(logFile)}`;
    for (const f of [logFile, pidFile, ...(client === 'dhclient' ? [leaseFile] : []), ...(createdResolv ? [resolvConf] : [])]) rmSync(f, { force: true });
    rmdirQuiet(scratch);
    if (createdDir) rmdirQuiet(dir);
    throw new PipewrightError(code, message, { field: 'dhcp', value: spec.client });
  };

  if (!keep) {
    const d = delay(timeoutMs + GRACE_MS);
    const outcome = await Promise.race([running.exited, d.promise]);
    d.cancel();
    if (outcome === 'timeout') return fail('ERR_PW_TIMEOUT', `got no lease within ${timeoutMs} ms (stopped)`);
    if (outcome.error) return fail('ERR_PW_ATTACH_FAILED', `could not be started (${outcome.error.message})`);
    if (outcome.code === SETUP_FAILED) return fail('ERR_PW_ATTACH_FAILED', 'was not started: its private namespaces could not be set up');
    if (outcome.code !== 0) {
      const code = NO_LEASE.test(logTail(logFile)) ? 'ERR_PW_TIMEOUT' : 'ERR_PW_ATTACH_FAILED';
      return fail(code, `got no lease (exit ${outcome.code ?? outcome.signal})`);
    }
    if (client === 'dhclient') await stopDaemonizedDhclient(pidFile);
    // Nothing is left running: a pid file now would only name a pid that
    // may be reused.
    rmSync(pidFile, { force: true });
    const lease = await waitForLease(guest, ifname, 1000);
    if (!lease) return fail('ERR_PW_ATTACH_FAILED', 'exited successfully but left no IPv4 address (does its script configure the interface?)');
    rmdirQuiet(scratch);
    const published = publishResolvConf(guest, dir, resolvConf);
    return { client, ...lease, resolvConf, ...published, stop: async () => unpublishUnlessUsed(guest, dir) };
  }

  const exitedEarly = new AbortController();
  void running.exited.then(() => exitedEarly.abort());
  const lease = await waitForLease(guest, ifname, timeoutMs, { signal: exitedEarly.signal, settle: () => hooksSettled(running.child.pid!, client) });
  if (!lease) {
    if (!exitedEarly.signal.aborted) return fail('ERR_PW_TIMEOUT', `got no lease within ${timeoutMs} ms (stopped)`);
    const o = await running.exited;
    if (o.code === SETUP_FAILED) return fail('ERR_PW_ATTACH_FAILED', 'was not started: its private namespaces could not be set up');
    return fail('ERR_PW_ATTACH_FAILED', o.error ? `could not be started (${o.error.message})` : `exited (${o.code ?? o.signal}) before it got a lease`);
  }
  rmdirQuiet(scratch);
  // The pid file is how releaseDhcp (detach, maybe from another process)
  // finds the kept client. udhcpc writes it at start, but dhclient -d only
  // once bound, which may be just after this: write it now. Same pid.
  writeFileSync(pidFile, `${running.child.pid!}\n`);
  // The kept client must not keep node running; its exit is still observed.
  running.child.unref();
  const published = publishResolvConf(guest, dir, resolvConf);
  const stop = async () => {
    await stopGroup(running);
    unpublishUnlessUsed(guest, dir);
  };
  return { client, ...lease, resolvConf, ...published, pid: running.child.pid!, stop };
}

/**
 * Undoes runDhcp for a guest interface, for detach: stops a kept client
 * (found through its pid file, and signalled only if that pid is still the
 * client, in this guest), and removes the interface's files. The guest's
 * dir and resolv.conf go too once no interface has files left in it; files
 * of an interface that is gone from the guest and has no running client
 * count as left over, and go with them. Returns what it did, for people.
 */
export async function releaseDhcp(guest: ResolvedGuest, ifname: string): Promise<string[]> {
  const dir = guestDir(guest);
  if (!existsSync(dir)) return [];
  const done: string[] = [];
  for (const c of liveClients(dir, guest, ifname)) done.push(await stopLive(c, guest));
  const removed = removeInterfaceFiles(dir, ifname);
  const leftOver: string[] = [];

  const others = interfacesIn(dir);
  if (others.size > 0) {
    const running = new Set(liveClients(dir, guest).map((c) => c.ifname));
    const h = await Handle.open(guest.netns);
    let present: Set<string>;
    try {
      present = new Set((await h.link.list()).map((l) => l.name));
    } finally {
      await h.close();
    }
    for (const other of others.keys()) if (!running.has(other) && !present.has(other)) leftOver.push(...removeInterfaceFiles(dir, other));
  }
  // Only resolv.conf left: the guest has no DHCP state worth keeping. Anything
  // else (a scratch dir still mounted on) keeps the dir and its resolv.conf.
  if (readdirSync(dir).every((n) => n === 'resolv.conf' || n === RESOLVER_MARKER)) {
    for (const p of unpublishResolvConf(dir)) done.push(`removed ${p} (the guest's DHCP resolv.conf, as ip netns exec sees it)`);
    rmSync(join(dir, 'resolv.conf'), { force: true });
    if (rmdirQuiet(dir)) {
      done.push(`removed the guest's DHCP state (${dir})`);
      return done;
    }
  }
  if (removed.length) done.push(`removed the DHCP files of ${ifname} (${removed.join(', ')})`);
  if (leftOver.length) done.push(`removed DHCP files left by interfaces no longer in the guest (${leftOver.join(', ')})`);
  return done;
}
