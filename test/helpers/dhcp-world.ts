// The DHCP world of test/live/dhcp.test.ts: which clients and server are
// installed (and so which cases run), dnsmasq started in a server guest on
// the scene's bridge, the processes a guest's namespace holds, and the
// read-back of a lease in the guest's kernel.
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scene } from './scene';
import { attach, type AttachResult, type DhcpClient, type Netns } from '../../lib';
import { inSandbox } from '../../lib/ops/sandbox';

export const SBIN = ['/usr/sbin', '/sbin', ...(process.env.PATH ?? '').split(':')];
export function installed(cmd: string): boolean {
  return SBIN.some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const CLIENTS = (['udhcpc', 'dhclient', 'dhcpcd'] as const).filter(installed);
// A DHCP server and clients must never run on the host's network, even
// though the scene's namespaces are private: only inside scripts/sandbox.sh.
export const notSandboxed = inSandbox() ? false : 'runs a DHCP server and clients: only inside scripts/sandbox.sh (as npm test does)';
export const noServer = notSandboxed || (installed('dnsmasq') ? false : 'dnsmasq is not installed (scripts/install-test-deps.sh)');
/** The skip reason for a test of `client`, or false to run it. */
export function skipFor(client: DhcpClient): string | false {
  if (noServer) return noServer;
  if (client === 'dhcp') return CLIENTS.length ? false : 'no DHCP client is installed';
  return installed(client) ? false : `${client} is not installed`;
}

/** dhcpcd ARP-probes the offered address for ~8 s unless told not to (-A), and waits a random 0-2 s before its first DISCOVER unless --nodelay. */
export const optionsFor = (client: string): string[] => (client === 'dhcpcd' ? ['-A', '--nodelay'] : []);

export const md5 = (path: string) => createHash('md5').update(readFileSync(path)).digest('hex');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function eventually<T>(probe: () => T | Promise<T>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v || Date.now() >= until) return v;
    await sleep(20);
  }
}

/**
 * "pid comm" of every process whose network namespace is `ns`. Once our
 * handle on `ns` is closed, its inode may already belong to another test's
 * new namespace (the kernel reuses them): then only the processes this file
 * starts (DHCP clients, dnsmasq) count, never whatever else runs there.
 */
export function processesIn(ns: Netns): string[] {
  const want = `net:[${ns.ino}]`;
  const ours = /^(udhcpc|dhclient|dhcpcd|dnsmasq)$/;
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== want) continue;
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (!ns.closed || ours.test(comm)) out.push(`${pid} ${comm}`);
    } catch {
      // exited while we looked, or a zombie (no namespaces any more)
    }
  }
  return out;
}

/** SIGTERM, then SIGKILL, to whatever still runs in `ns`, and waits until nothing does. */
export async function killAllIn(ns: Netns): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const p of processesIn(ns)) {
      try {
        process.kill(Number(p.split(' ')[0]), signal);
      } catch {
        // already gone
      }
    }
    if ((await eventually(() => processesIn(ns).length === 0, 1000)) === true) return;
  }
}

export const inPool = (a: string) => /^10\.0\.5\.(\d+)$/.test(a) && Number(a.split('.')[3]) >= 50 && Number(a.split('.')[3]) <= 99;

export interface Server {
  leasefile: string;
  /** The lease lines: expiry, MAC, address, hostname, client id. */
  leases(): string[][];
}

/**
 * A guest with 10.0.5.1/24 on br0 (attached by pipewright, statically)
 * running dnsmasq as the DHCP server. The exact flags are the ones in
 * TEST-ENVIRONMENT.md §4: --no-ping avoids dnsmasq's ~3 s ping before each
 * offer, and --port=0 turns DNS off.
 */
export async function startServer(s: Scene): Promise<Server> {
  const g = await s.guest();
  await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.0.5.1/24' });
  const dir = mkdtempSync(join(process.env.PW_STATE_DIR ?? tmpdir(), 'dnsmasq-'));
  const leasefile = join(dir, 'leases');
  const log = join(dir, 'dnsmasq.log');
  // setpriv --pdeathsig: if this test process dies without its teardown
  // (killed on a timeout), dnsmasq dies with it. It keeps that across the execs.
  // --user=root --group= : dnsmasq keeps the identity it starts with. Any
  // group change calls setgroups(), which a user namespace made by an
  // unprivileged user refuses (its gid_map was written with setgroups=deny);
  // an empty group name is dnsmasq's way to leave the group alone.
  const child = spawn(
    'setpriv',
    [
      '--pdeathsig', 'SIGKILL', 'nsenter', `--net=/proc/${process.pid}/fd/${g.ns.fd}`,
      'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--port=0', '--bind-interfaces', '--interface=eth1',
      '--dhcp-range=10.0.5.50,10.0.5.99,255.255.255.0,1h', '--dhcp-option=option:router,10.0.5.1', '--dhcp-option=option:dns-server,10.0.5.1',
      '--no-ping', `--dhcp-leasefile=${leasefile}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--user=root', '--group=', `--log-facility=${log}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    child.once('exit', () => res());
    child.once('error', () => res());
  });
  s.defer(async () => {
    child.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => true), sleep(2000).then(() => false)])) === false) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  // Ready once it has bound its DHCP socket and logged its range.
  const ready = await eventually(() => (existsSync(log) && /DHCP, IP range/.test(readFileSync(log, 'utf8'))) || child.exitCode !== null, 5000);
  if (ready !== true || child.exitCode !== null) throw new Error(`dnsmasq did not start: ${stderr}${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
  return {
    leasefile,
    leases: () => (existsSync(leasefile) ? readFileSync(leasefile, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')) : []),
  };
}

/** What the guest's kernel says about the lease: the address on eth1, and the default route. */
export async function checkGuest(t: Test, g: { handle: Scene['host'] }, r: AttachResult, gatewayExpected: boolean): Promise<void> {
  const lease = r.dhcp!;
  t.ok(inPool(lease.address), `leased ${lease.address}, inside 10.0.5.50-99`);
  t.equal(lease.prefixLen, 24);
  const onEth1 = (await g.handle.addr.list({ dev: 'eth1', family: 4 })).map((a) => `${a.address}/${a.prefixLen}`);
  t.same(onEth1, [`${lease.address}/24`], 'read back: eth1 has exactly the leased address');
  t.ok(r.guest.addresses.includes(`${lease.address}/24`), 'and the attach result reports it');
  if (gatewayExpected) {
    const def = (await g.handle.route.list({ family: 4 })).find((x) => x.dst === 'default');
    t.equal(def?.gateway, '10.0.5.1', 'read back: default route via the router option');
    t.equal(lease.gateway, '10.0.5.1', 'reported as the lease gateway');
  }
}
