// Runs a DHCP client for a guest interface. The client runs inside the
// guest's network namespace AND in a private mount namespace in which
// /etc/resolv.conf is a per-guest file, so it can never rewrite the host's
// resolv.conf (pipework's `ip netns exec` let all three clients do that).
// The link is already up when the client starts (pipework's "Network is
// down" failure).
import { spawn, execFile } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ResolvedGuest } from './guest';
import type { DhcpSpec } from './attach/spec';
import { Handle } from './handle';
import { PipewrightError } from './errors';

const execFileP = promisify(execFile);

export interface DhcpLease {
  client: string;
  address: string;
  prefixLen: number;
  gateway?: string;
  /** The per-guest resolv.conf the client wrote. */
  resolvConf: string;
  /** PID of a client kept running (foreground), if any. */
  pid?: number;
  /** Stops a kept client; nothing to do for one-shot clients. */
  stop: () => Promise<void>;
}

/** Where per-guest files live (resolv.conf, leases, pid files). */
export function stateDir(): string {
  return process.env.PW_STATE_DIR ?? '/run/pipewright';
}

async function which(cmd: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/sbin', '/usr/sbin'])) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/** pipework's 'dhcp' ran udhcpc from a busybox Docker image; we use whichever client is installed. */
async function pickClient(client: DhcpSpec['client']): Promise<string> {
  const candidates = client === 'dhcp' ? ['udhcpc', 'dhclient', 'dhcpcd'] : [client];
  for (const c of candidates) if (await which(c)) return c;
  throw new PipewrightError(
    'ERR_PW_INVALID_ARGUMENT',
    client === 'dhcp'
      ? 'no DHCP client is installed (install udhcpc, isc-dhcp-client or dhcpcd-base)'
      : `DHCP client '${client}' is not installed`,
    { field: 'dhcp.client', value: client },
  );
}

/** The client's command line: one-shot (exit after the lease) or kept in the foreground. */
function clientArgs(client: string, ifname: string, label: string, dir: string, keep: boolean, extra: string[], timeoutS: number): string[] {
  switch (client) {
    case 'udhcpc':
      return ['-i', ifname, '-x', `hostname:${label}`, '-p', join(dir, 'udhcpc.pid'), ...(keep ? ['-f'] : ['-q', '-n', '-t', String(Math.max(3, timeoutS)), '-T', '1']), ...extra];
    case 'dhclient':
      return ['-4', '-pf', join(dir, 'dhclient.pid'), '-lf', join(dir, 'dhclient.leases'), ...(keep ? ['-d'] : ['-1']), ...extra, ifname];
    case 'dhcpcd':
      return ['-4', '-h', label, '-t', String(timeoutS), ...(keep ? ['-B'] : ['-1', '-w']), ...extra, ifname];
    default:
      throw new Error(`unknown client ${client}`);
  }
}

export async function runDhcp(guest: ResolvedGuest, ifname: string, spec: DhcpSpec): Promise<DhcpLease> {
  const client = await pickClient(spec.client);
  const dir = join(stateDir(), 'guests', guest.netns.id.replace(':', '-'));
  mkdirSync(dir, { recursive: true });
  const resolv = join(dir, 'resolv.conf');
  if (!existsSync(resolv)) writeFileSync(resolv, '');
  const timeoutMs = spec.timeoutMs ?? 30_000;
  const keep = spec.foreground === true;
  const args = clientArgs(client, ifname, guest.label, dir, keep, spec.options ?? [], Math.ceil(timeoutMs / 1000));
  // A private mount namespace: resolv.conf is the guest's own file, and the
  // clients' state directories are private tmpfs mounts.
  const script = [
    'set -e',
    `mount --bind "$1" /etc/resolv.conf`,
    'for d in /run/dhcpcd /var/lib/dhcpcd /var/lib/dhcp; do [ -d "$d" ] && mount -t tmpfs pw-dhcp "$d"; done',
    'shift',
    'exec nsenter --net="$NETNS" "$@"',
  ].join('\n');
  const nsPath = `/proc/${process.pid}/fd/${guest.netns.fd}`;
  const argv = ['--mount', '--propagation', 'private', 'sh', '-c', script, 'pipewright-dhcp', resolv, client, ...args];
  const env = { ...process.env, NETNS: nsPath };

  if (!keep) {
    try {
      await execFileP('unshare', argv, { env, timeout: timeoutMs + 5000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new PipewrightError('ERR_PW_ATTACH_FAILED', `${client} got no lease on ${ifname}: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' | ')}`, { field: 'dhcp', cause: e });
    }
    // dhclient daemonizes after the lease even with -1; pipework kills it too.
    if (client === 'dhclient') killPidFile(join(dir, 'dhclient.pid'));
    const lease = await readLease(guest, ifname, client, resolv, 1000);
    return { ...lease, stop: async () => {} };
  }

  const child = spawn('unshare', argv, { env, detached: true, stdio: 'ignore' });
  child.unref();
  const stop = async () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  try {
    const lease = await readLease(guest, ifname, client, resolv, timeoutMs);
    return { ...lease, pid: child.pid!, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function killPidFile(path: string): void {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGTERM');
  } catch {
    // no pid file: the client did not stay
  }
}

/** Waits until the interface has an IPv4 address, reading it back; reports the default gateway too. */
async function readLease(guest: ResolvedGuest, ifname: string, client: string, resolvConf: string, timeoutMs: number): Promise<Omit<DhcpLease, 'stop'>> {
  const h = await Handle.open(guest.netns);
  try {
    const w = h.watch(['addr']);
    await w.ready;
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const addrs = await h.addr.list({ dev: ifname, family: 4 });
        if (addrs.length) {
          const routes = await h.route.list({ family: 4 });
          const gw = routes.find((r) => r.dst === 'default')?.gateway;
          return { client, address: addrs[0]!.address, prefixLen: addrs[0]!.prefixLen, ...(gw ? { gateway: gw } : {}), resolvConf };
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new PipewrightError('ERR_PW_TIMEOUT', `${client} got no lease on ${ifname} within ${timeoutMs} ms`);
        await w.waitFor((ev) => ev.kind === 'addr' && ev.action === 'new', left).catch(() => undefined);
      }
    } finally {
      await w.close();
    }
  } finally {
    await h.close();
  }
}
