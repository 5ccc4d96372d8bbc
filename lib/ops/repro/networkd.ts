// The real systemd-networkd, run inside one of the scenario's namespaces as
// the interfering agent of FIELD-NOTES §1. It gets a private mount namespace
// with its own /run/systemd (state), its own /etc/systemd/network (our one
// `.network` file, matching the veths, without KeepMaster=), the vendor
// network directory hidden, and a read-only sysfs of this namespace — which
// is how networkd knows udev is absent and does not wait for it. No D-Bus:
// networkd then waits for a bus that never comes, and works without it.
import { spawn, ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns } from '../../core/netns';
import { exec, nsPath, track } from './common';

export const NETWORKD = ['/lib/systemd/systemd-networkd', '/usr/lib/systemd/systemd-networkd'];

export interface Networkd {
  /** Per link name, the last state networkd logged (configuring, configured, linger...). */
  states: Map<string, string>;
  /** Lines networkd logged about releasing a link from its master. */
  releases: string[];
  /** Resolves when every named link is 'configured' (or rejects after timeoutMs). */
  settled(names: string[], timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

/** Why networkd cannot run here, or null when it can. Checks that cost nothing first. */
export async function networkdUnavailable(): Promise<string | null> {
  const bin = NETWORKD.find((p) => existsSync(p));
  if (!bin) return `systemd-networkd is not installed (none of ${NETWORKD.join(', ')})`;
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return `${bin} is not executable`;
  }
  // networkd drops privileges to this user; without it, it refuses to start.
  const user = await exec('getent', ['passwd', 'systemd-network']);
  if (user.code !== 0) return 'the systemd-network user does not exist (networkd drops privileges to it)';
  for (const tool of ['unshare', 'nsenter', 'mount']) {
    if ((await exec('sh', ['-c', `command -v ${tool}`])).code !== 0) return `${tool} is not installed`;
  }
  return null;
}

// Runs as root in the new mount namespace, then becomes networkd.
const SETUP = `set -e
mount -t tmpfs -o mode=0755 pw-networkd-run /run/systemd
mkdir -p /run/systemd/netif
chown systemd-network:systemd-network /run/systemd/netif
if [ -d /run/dbus ]; then mount -t tmpfs pw-networkd-dbus /run/dbus; fi
mount --bind "$1" /etc/systemd/network
mount -t tmpfs pw-networkd-vendor /usr/lib/systemd/network
mount -t sysfs -o ro sysfs /sys
exec "$2"`;

/**
 * Starts networkd in `ns` managing links named like `matchGlob`; resolves
 * once it has enumerated the links (it acts on new ones from then on). The
 * deadline bounds a failure only: on a busy machine start-up takes seconds.
 */
export async function startNetworkd(ns: Netns, matchGlob: string, timeoutMs = 60_000): Promise<Networkd> {
  const bin = NETWORKD.find((p) => existsSync(p))!;
  const dir = mkdtempSync(join(tmpdir(), 'pw-networkd-'));
  // networkd reads it after dropping to the systemd-network user: mkdtemp's 0700 would hide it.
  chmodSync(dir, 0o755);
  // LinkLocalAddressing=no keeps it from adding fe80:: addresses; nothing
  // here says Bridge= or KeepMaster=, so networkd owns the master setting.
  writeFileSync(join(dir, '50-repro-veth.network'), `[Match]\nName=${matchGlob}\n\n[Network]\nLinkLocalAddressing=no\nLLDP=no\nIPv6AcceptRA=no\n`);
  // Its log goes to a file, not a pipe: a busy event loop must never slow
  // networkd down by leaving a pipe full. We read the file as it grows.
  const logPath = join(dir, 'networkd.log');
  const logFd = openSync(logPath, 'w+');
  const child: ChildProcess = track(
    spawn('nsenter', [`--net=${nsPath(ns)}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', SETUP, 'pw-networkd', dir, bin], {
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug', SYSTEMD_LOG_TARGET: 'console', SYSTEMD_LOG_COLOR: '0' },
    }),
  );
  const lines: string[] = [];
  const states = new Map<string, string>();
  const releases: string[] = [];
  const waiters = new Set<() => void>();
  let enumerated = false;
  let exited: number | null = null;
  const exitP = new Promise<void>((r) => child.on('exit', (code, sig) => ((exited = code ?? (sig ? 128 : 1)), r())));
  const onLine = (line: string) => {
    if (lines.length < 200_000) lines.push(line);
    const st = /^(\S+): State changed: \S+ -> (\S+)/.exec(line);
    if (st) states.set(st[1]!, st[2]!);
    else if (line === 'Enumeration completed') enumerated = true;
    else if (/: Setting master interface$/.test(line)) releases.push(line);
  };
  let offset = 0;
  let partial = '';
  const buf = Buffer.alloc(1 << 20);
  const readLog = () => {
    for (let n; (n = readSync(logFd, buf, 0, buf.length, offset)) > 0; ) {
      offset += n;
      const text = partial + buf.toString('utf8', 0, n);
      const parts = text.split('\n');
      partial = parts.pop()!;
      parts.forEach(onLine);
    }
    for (const w of waiters) w();
  };
  const poll = setInterval(readLog, 5);
  exitP.then(readLog);

  const waitFor = (cond: () => boolean, ms: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (cond()) done(resolve);
        else if (exited !== null) done(() => reject(new Error(`systemd-networkd exited (${exited}) while waiting for ${what}: ${lines.slice(-5).join(' | ')}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`systemd-networkd: no ${what} within ${ms} ms`))), ms);
      const done = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exited === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitP;
      clearTimeout(timer);
    }
    clearInterval(poll);
    readLog();
    closeSync(logFd);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => enumerated, timeoutMs, 'enumeration');
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    states,
    releases,
    settled: (names, ms) =>
      waitFor(() => names.every((n) => states.get(n) === 'configured'), ms, `'configured' state for ${names.length} links`).catch((e: Error) => {
        const pending = names.filter((n) => states.get(n) !== 'configured').map((n) => `${n}=${states.get(n) ?? 'unseen'}`);
        throw new Error(`${e.message}; not configured: ${pending.slice(0, 8).join(', ')}${pending.length > 8 ? `, … (${pending.length})` : ''}`);
      }),
    stop,
    log: () => lines.join('\n'),
  };
}
