// Runs a DHCP client for a guest interface. The client runs inside the
// guest's network namespace, and also in a private mount namespace and a
// private UTS namespace, so that nothing it or its hook scripts write can
// reach the host:
//  - /etc/resolv.conf is this guest's own file. pipework used `ip netns exec`,
//    and that let all three clients rewrite the host's resolv.conf.
//  - /run is an empty tmpfs. dhcpcd keeps its pid file and socket in
//    /run/dhcpcd, which may not exist on the host, and the timesyncd/chrony/ntp
//    hooks of dhclient and dhcpcd write into /run/systemd and similar
//    directories and then restart the host's services. With an empty /run they
//    find no /run/systemd/system and skip.
//  - /var/lib/dhcp and /var/lib/dhcpcd (leases, DUID) are empty tmpfs mounts.
//  - /etc gets a private writable overlay where overlayfs is available.
//    dhclient-script writes a temporary resolv.conf next to the real one.
//  - The hostname is private. dhclient sends gethostname() and the hostname
//    hooks of dhclient and dhcpcd may set it. Here they see, and can only
//    change, a hostname made from the guest's label.
// The link is already up when the client starts. pipework failed with
// "Network is down" because it started the client before the link was up.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ResolvedGuest } from './guest';
import type { DhcpSpec } from './attach/spec';
import { Handle } from './handle';
import { PipewrightError, type PipewrightErrorCode } from './errors';

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

/** Where per-guest files live (resolv.conf, leases, pid files, client logs). */
export function stateDir(): string {
  return process.env.PW_STATE_DIR ?? '/run/pipewright';
}

type ClientName = 'udhcpc' | 'dhclient' | 'dhcpcd';

/** The setup script's exit status when it, not the client, failed. */
const SETUP_FAILED = 125;
/** How much longer than its own timeout a one-shot client may take before we kill it. */
const GRACE_MS = 1000;
/** How long a stopped client gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 1000;
/** Kept clients: their hook scripts count as finished after this long with none running... */
const HOOKS_QUIET_MS = 100;
/** ...and we stop waiting for them after this long. */
const HOOKS_MAX_MS = 2000;

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
function pickClient(client: DhcpSpec['client']): { name: ClientName; path: string } {
  const candidates: ClientName[] = client === 'dhcp' ? ['udhcpc', 'dhclient', 'dhcpcd'] : [client];
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
function hostnameFor(label: string): string {
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

function udhcpcScript(extra: string[]): string[] {
  if (extra.some((a) => a === '-s' || a.startsWith('--script'))) return [];
  const found = UDHCPC_SCRIPTS.find(isExecutable);
  if (found) return ['-s', found];
  throw new PipewrightError(
    'ERR_PW_INVALID_ARGUMENT',
    `udhcpc has no lease script (looked for ${UDHCPC_SCRIPTS.join(' and ')}): install the udhcpc package, or pass dhcp.options ['-s', SCRIPT]`,
    { field: 'dhcp.client', value: 'udhcpc' },
  );
}

/** The client's command line: one-shot (exit after the lease) or kept in the foreground. */
function clientArgs(client: ClientName, o: { ifname: string; hostname: string; pidFile: string; leaseFile: string; keep: boolean; extra: string[]; timeoutS: number }): string[] {
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
      return ['-4', ...(o.hostname ? ['-h', o.hostname] : []), '-t', t, ...(o.keep ? ['-B'] : ['-1', '-w']), ...o.extra, o.ifname];
  }
}

/**
 * Runs in the new mount+UTS namespace before the client is executed there.
 * Arguments: $1 the guest's state dir (absolute and canonical), $2 the
 * hostname ('' for none), $3 a scratch dir, then the client command.
 * $PW_NETNS is the guest's namespace, as /proc/<our pid>/fd/<fd>.
 *
 * cover() puts an empty tmpfs over a directory. It builds the tmpfs on the
 * scratch dir first and copies in what must stay reachable: the guest's state
 * dir (PW_STATE_DIR defaults to /run/pipewright), bind-mounted back, and an
 * empty file where /etc/resolv.conf really points (a symlink into /run under
 * systemd-resolved or resolvconf), so the bind below has a target. Then it
 * moves the tmpfs into place.
 */
const SETUP = `die() { echo "pipewright: $*" >&2; exit ${SETUP_FAILED}; }
dir=$1 name=$2 t=$3
shift 3
if [ ! -e /etc/resolv.conf ] && [ ! -L /etc/resolv.conf ]; then
  die "/etc/resolv.conf does not exist, so the client cannot be given a private one"
fi
real=$(readlink -f /etc/resolv.conf) || die "cannot resolve /etc/resolv.conf"
# -n everywhere: no userspace mount table (utab, under the real /run) to write.
cover() {
  mkdir -p "$t" && mount -n -t tmpfs -o mode=0755 pw-dhcp "$t" || die "cannot mount a tmpfs on $t"
  case $dir/ in "$1"/*)
    mkdir -p "$t/\${dir#"$1"/}" && mount -n --bind "$dir" "$t/\${dir#"$1"/}" || die "cannot keep $dir visible over $1" ;;
  esac
  case $real in "$1"/*)
    mkdir -p "$t/$(dirname "\${real#"$1"/}")" && : > "$t/\${real#"$1"/}" || die "cannot recreate $real over $1" ;;
  esac
  mount -n --move "$t" "$1" || die "cannot move the tmpfs over $1"
}
cover /run
if [ -d /var/lib/dhcp ] && [ -d /var/lib/dhcpcd ]; then
  mount -n -t tmpfs -o mode=0755 pw-dhcp /var/lib/dhcp && mount -n -t tmpfs -o mode=0755 pw-dhcp /var/lib/dhcpcd || die "cannot mount a tmpfs on /var/lib/dhcp*"
else
  # A missing state dir would be created on the host's disk (dhcpcd creates
  # its own). Cover /var/lib instead and make both dirs in the tmpfs.
  cover /var/lib
  mkdir -p /var/lib/dhcp /var/lib/dhcpcd || die "cannot create /var/lib/dhcp*"
fi
# dhclient-script writes its new resolv.conf next to the old one in /etc,
# and NTP hooks write /etc files too: give /etc a private writable layer.
# Without overlayfs /etc stays shared, and the bind below still protects
# resolv.conf.
mkdir -p /run/.pw-etc/up /run/.pw-etc/work || die "cannot create /run/.pw-etc"
mount -n -t overlay pw-dhcp -o lowerdir=/etc,upperdir=/run/.pw-etc/up,workdir=/run/.pw-etc/work /etc 2>/dev/null || true
mount -n --bind "$dir/resolv.conf" /etc/resolv.conf || die "cannot bind $dir/resolv.conf on /etc/resolv.conf"
[ -z "$name" ] || echo "$name" > /proc/sys/kernel/hostname || die "cannot set the private hostname"
exec nsenter --net="$PW_NETNS" "$@"`;

interface Running {
  child: ChildProcess;
  /** Settles when the process exits, or cannot be started (error). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
}

/** Starts argv under unshare as the leader of a new process group, with stdout and stderr going to logPath. */
function start(argv: string[], env: NodeJS.ProcessEnv, logPath: string): Running {
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
function delay(ms: number): { promise: Promise<'timeout'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** SIGTERM to the client's process group, then SIGKILL if it has not exited. Waits for the exit. */
async function stopGroup(r: Running): Promise<void> {
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
 * dhclient -1 daemonizes once it has the lease: the parent exits and the
 * child writes the pid file a moment later. We stop the daemon, as pipework
 * does. SIGTERM leaves the address in place; verified with Debian's
 * dhclient-script.
 */
async function stopDaemonizedDhclient(pidFile: string): Promise<void> {
  const deadline = Date.now() + 2000;
  let pid = 0;
  while (Date.now() < deadline) {
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      pid = 0;
    }
    if (pid > 0) break;
    await delay(20).promise;
  }
  if (!(pid > 0)) return;
  // The pid file may outlive its process: only signal a dhclient.
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'dhclient') return;
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + KILL_GRACE_MS;
  while (alive(pid) && Date.now() < until) await delay(20).promise;
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
      // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
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
async function hooksSettled(pgid: number, name: string): Promise<void> {
  const until = Date.now() + HOOKS_MAX_MS;
  let quietSince = Date.now();
  while (Date.now() < until) {
    if (hookProcesses(pgid, name) > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= HOOKS_QUIET_MS) return;
    await delay(10).promise;
  }
}

function logTail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    return lines.length ? `: ${lines.slice(-3).join(' | ')}` : '';
  } catch {
    return '';
  }
}

/** What the clients print when they give up for lack of an answer. */
const NO_LEASE = /no lease|timed out|no dhcpoffers|unable to obtain a lease/i;

/**
 * Waits until the interface has an IPv4 address, lets `settle` finish, and
 * reads back the address and the default gateway. Returns null at the
 * deadline, or as soon as `signal` aborts (the client exited).
 */
async function waitForLease(
  guest: ResolvedGuest,
  ifname: string,
  timeoutMs: number,
  opts: { signal?: AbortSignal; settle?: () => Promise<void> } = {},
): Promise<{ address: string; prefixLen: number; gateway?: string } | null> {
  const h = await Handle.open(guest.netns);
  try {
    const w = h.watch(['addr'], opts.signal ? { signal: opts.signal } : {});
    try {
      await w.ready;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let addrs = await h.addr.list({ dev: ifname, family: 4 });
        if (addrs.length) {
          if (opts.settle) {
            await opts.settle();
            addrs = await h.addr.list({ dev: ifname, family: 4 });
            if (!addrs.length) continue;
          }
          const gw = (await h.route.list({ family: 4 })).find((r) => r.dst === 'default')?.gateway;
          return { address: addrs[0]!.address, prefixLen: addrs[0]!.prefixLen, ...(gw ? { gateway: gw } : {}) };
        }
        const left = deadline - Date.now();
        if (left <= 0 || opts.signal?.aborted) return null;
        const t0 = Date.now();
        await w.waitFor((ev) => ev.kind === 'addr' && ev.action === 'new', left).catch(() => undefined);
        // A watcher that ended (aborted or failed) returns at once. Pause so
        // the loop cannot spin.
        if (Date.now() - t0 < 5 && !opts.signal?.aborted) await delay(Math.min(50, Math.max(0, deadline - Date.now()))).promise;
      }
    } finally {
      await w.close();
    }
  } finally {
    await h.close();
  }
}

/**
 * Throws the error runDhcp would throw for a client that is missing, or for
 * udhcpc without a lease script. A caller can check this before it creates
 * anything.
 */
export function checkDhcpClient(spec: DhcpSpec): void {
  const { name } = pickClient(spec.client);
  if (name === 'udhcpc') udhcpcScript(spec.options ?? []);
}

export async function runDhcp(guest: ResolvedGuest, ifname: string, spec: DhcpSpec): Promise<DhcpLease> {
  const { name: client, path: bin } = pickClient(spec.client);
  const extra = spec.options ?? [];
  const keep = spec.foreground === true;
  const timeoutMs = spec.timeoutMs ?? 30_000;
  const timeoutS = Math.max(1, Math.ceil(timeoutMs / 1000));

  // The setup script compares paths with /run and /var/lib, so the dir must
  // be absolute and canonical (/var/run is a symlink to /run).
  const wanted = resolve(stateDir(), 'guests', guest.netns.id.replace(':', '-'));
  const createdDir = !existsSync(wanted);
  mkdirSync(wanted, { recursive: true, mode: 0o755 });
  const dir = realpathSync(wanted);
  const resolvConf = join(dir, 'resolv.conf');
  const createdResolv = !existsSync(resolvConf);
  if (createdResolv) writeFileSync(resolvConf, '', { mode: 0o644 });
  const pidFile = join(dir, `${client}.${ifname}.pid`);
  const logFile = join(dir, `${client}.${ifname}.log`);
  const leaseFile = join(dir, `dhclient.${ifname}.leases`);
  // Per interface, so that clients for two interfaces of one guest can start together.
  const scratch = join(dir, `.mnt-${ifname}`);
  // A stale pid file would make dhclient refuse to start, or make us signal a reused PID.
  rmSync(pidFile, { force: true });

  const hostname = hostnameFor(guest.label);
  const args = clientArgs(client, { ifname, hostname, pidFile, leaseFile, keep, extra, timeoutS });
  const argv = ['--mount', '--uts', '--propagation', 'private', 'sh', '-c', SETUP, 'pipewright-dhcp', dir, hostname, scratch, bin, ...args];
  const env = { ...process.env, PW_NETNS: `/proc/${process.pid}/fd/${guest.netns.fd}` };
  const running = start(argv, env, logFile);

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
    if (client === 'dhclient') {
      await stopDaemonizedDhclient(pidFile);
      rmSync(pidFile, { force: true });
    }
    const lease = await waitForLease(guest, ifname, 1000);
    if (!lease) return fail('ERR_PW_ATTACH_FAILED', 'exited successfully but left no IPv4 address (does its script configure the interface?)');
    rmdirQuiet(scratch);
    return { client, ...lease, resolvConf, stop: async () => {} };
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
  // The kept client must not keep node running; its exit is still observed.
  running.child.unref();
  return { client, ...lease, resolvConf, pid: running.child.pid!, stop: () => stopGroup(running) };
}

/** Removes a directory if it is empty (the scratch mount point is, once its mount has moved). */
function rmdirQuiet(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // not there, or not empty: someone else's files are in it
  }
}
