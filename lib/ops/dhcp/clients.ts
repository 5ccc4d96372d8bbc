// Which DHCP client runs, and with which command line: the client is looked
// up on disk, udhcpc is given a lease script, and the guest's label becomes
// the hostname the client sends.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { DhcpSpec } from './spec';
import { PipewrightError } from '../../core/errors';

export type ClientName = 'udhcpc' | 'dhclient' | 'dhcpcd';

/** Every client runDhcp may start, in the order 'dhcp' tries them. */
export const CLIENT_NAMES: readonly ClientName[] = ['udhcpc', 'dhclient', 'dhcpcd'];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The client's full path. Its sbin directory is often missing from a non-root PATH. */
function findExecutable(cmd: string): string | null {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const dir of dirs) if (isExecutable(join(dir, cmd))) return join(dir, cmd);
  return null;
}

/** pipework's 'dhcp' ran udhcpc from a busybox Docker image. We use whichever client is installed. */
export function pickClient(client: DhcpSpec['client']): { name: ClientName; path: string } {
  const candidates: readonly ClientName[] = client === 'dhcp' ? CLIENT_NAMES : [client];
  for (const name of candidates) {
    const path = findExecutable(name);
    if (path) return { name, path };
  }
  throw new PipewrightError(
    'ERR_PW_INVALID_ARGUMENT',
    client === 'dhcp'
      ? 'no DHCP client is installed (install udhcpc, isc-dhcp-client or dhcpcd-base)'
      : `DHCP client '${client}' is not installed`,
    { field: 'dhcp.client', value: client },
  );
}

/**
 * A valid DHCP hostname made from the guest's label. Labels such as
 * 'net:[4026532301]', '/proc/42/ns/net' or 'my_app' are not valid hostnames,
 * and dnsmasq drops a name it considers illegal.
 */
export function hostnameFor(label: string): string {
  return label.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 63).replace(/-+$/, '');
}

/**
 * udhcpc only applies a lease through its script. Without one it would get a
 * lease and configure nothing, and the wait would end in a confusing timeout.
 * Debian's busybox looks in /etc/udhcpc (from the udhcpc package), and
 * upstream busybox in /usr/share/udhcpc. We pass whichever exists explicitly,
 * so the result does not depend on the path compiled into busybox.
 */
const UDHCPC_SCRIPTS = ['/etc/udhcpc/default.script', '/usr/share/udhcpc/default.script'];

export function udhcpcScript(extra: readonly string[]): string[] {
  if (extra.some((a) => a === '-s' || a.startsWith('--script'))) return [];
  const found = UDHCPC_SCRIPTS.find(isExecutable);
  if (found) return ['-s', found];
  throw new PipewrightError(
    'ERR_PW_INVALID_ARGUMENT',
    `udhcpc has no lease script (looked for ${UDHCPC_SCRIPTS.join(' and ')}): install the udhcpc package, or pass dhcp.options ['-s', SCRIPT]`,
    { field: 'dhcp.client', value: 'udhcpc' },
  );
}

export interface ClientOptions {
  ifname: string;
  hostname: string;
  pidFile: string;
  leaseFile: string;
  /** Kept in the foreground (renewals keep working) rather than one-shot. */
  keep: boolean;
  extra: readonly string[];
  timeoutS: number;
}

/** The client's command line: one-shot (exit after the lease) or kept in the foreground. */
export function clientArgs(client: ClientName, o: ClientOptions): string[] {
  const t = String(o.timeoutS);
  switch (client) {
    case 'udhcpc':
      // -t N -T 1: N discovers, 1 s apart, so the client gives up at about our timeout.
      return ['-i', o.ifname, ...(o.hostname ? ['-x', `hostname:${o.hostname}`] : []), '-p', o.pidFile, ...udhcpcScript(o.extra), '-t', t, '-T', '1', ...(o.keep ? ['-f'] : ['-q', '-n']), ...o.extra];
    case 'dhclient':
      // dhclient has no timeout flag (it comes from dhclient.conf, 60 s by
      // default). The deadline kill in runDhcp bounds it.
      return ['-4', '-pf', o.pidFile, '-lf', o.leaseFile, ...(o.keep ? ['-d'] : ['-1']), ...o.extra, o.ifname];
    case 'dhcpcd':
      // dhcpcd keeps its pid file under the private /run, out of our reach:
      // runDhcp writes o.pidFile for it.
      return ['-4', ...(o.hostname ? ['-h', o.hostname] : []), '-t', t, ...(o.keep ? ['-B'] : ['-1', '-w']), ...o.extra, o.ifname];
  }
}
