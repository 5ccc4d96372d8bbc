// A CNI test world: what a runtime sets up around a plugin, all inside the
// test sandbox. A temp dir holds a CNI_PATH (an executable `pipewright` that
// execs the built plugin, and links to the reference plugins in
// /usr/lib/cni), libcni's result cache and host-local's lease store (never
// the host's /var/lib/cni). A named "host" namespace per world is where the
// plugins run (its bridge, its veth ends); container namespaces are named
// ones beside it. Decoys — a bridge of someone else's, a foreign veth pair, a foreign
// lease file — must survive everything a test does.
// PW_CNI_VIA_ENGINE=1: `pipewright` is the native client
// (build/Release/pipewright-fast) and each world runs an engine in its host
// namespace (--no-reconcile: a case that breaks a port on purpose must find
// it broken), so the same tables check the plugin through client + engine.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { Test } from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { driverPath } from './cni-driver';
import { sanitizerEnv } from './sanitizer-env';
import { tied } from './engine';

const run = promisify(execFile);
export const REPO = resolve(__dirname, '../..');
export const PLUGIN_ENTRY = join(REPO, 'dist/lib/cli/cni.js');
const FAILPOINT_ENTRY = join(REPO, 'test/helpers/cni-failpoint-plugin.js');
export const REFERENCE_DIR = '/usr/lib/cni';
const FAST = join(REPO, 'build/Release/pipewright-fast');
const CLI_MAIN = join(REPO, 'dist/lib/cli/launch.js');
export const VIA_ENGINE = process.env.PW_CNI_VIA_ENGINE === '1';

export type PluginType = 'pipewright' | 'bridge';

/** The types a test table runs for: PW_CNI_TYPES (comma-separated) or both. */
export function pluginTypes(): PluginType[] {
  const want = (process.env.PW_CNI_TYPES ?? 'pipewright,bridge').split(',').filter(Boolean);
  return want.map((w) => {
    if (w !== 'pipewright' && w !== 'bridge') throw new Error(`PW_CNI_TYPES: '${w}' is not pipewright or bridge`);
    return w;
  });
}

export interface CniFailure {
  code: number;
  msg: string;
  details?: string;
}
export interface DriverOut {
  ok: boolean;
  result?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  error?: CniFailure;
  /** The driver's stderr (plugins' stderr too, for raw calls). */
  stderr: string;
}

let worlds = 0;

/** A CNI_PATH directory: `pipewright` wrapping the built plugin, links to every reference plugin. */
export function makePluginDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, 'pipewright');
  // With PIPEWRIGHT_FAILPOINT set (a crash case), the plugin runs with that failpoint set.
  const node = JSON.stringify(process.execPath);
  const plugin = VIA_ENGINE ? JSON.stringify(FAST) : `${node} ${JSON.stringify(PLUGIN_ENTRY)}`;
  writeFileSync(wrapper, `#!/bin/sh\n[ -n "$PIPEWRIGHT_FAILPOINT" ] && exec ${node} ${JSON.stringify(FAILPOINT_ENTRY)}\nexec ${plugin} "$@"\n`);
  chmodSync(wrapper, 0o755);
  for (const p of readdirSync(REFERENCE_DIR)) symlinkSync(join(REFERENCE_DIR, p), join(dir, p));
  return dir;
}

export async function sh(cmd: string, args: string[], timeout = 60_000): Promise<string> {
  const { stdout } = await run(cmd, args, { timeout, maxBuffer: 64 << 20 });
  return stdout;
}

/** `pipewright engine` in the world's host namespace with its state dir; resolves once it is ready. */
function startEngine(hostPath: string, state: string): Promise<ChildProcess> {
  const child = spawn(...tied('nsenter', [`--net=${hostPath}`, process.execPath, CLI_MAIN, 'engine', '--no-reconcile']), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PW_STATE_DIR: state } });
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      if (/ready on/.test(log)) resolve(child);
    });
    child.once('close', (code) => reject(new Error(`the engine exited (${code}) before it was ready: ${log}`)));
  });
}

export class CniWorld {
  readonly containers: string[] = [];
  engine: ChildProcess | null = null;
  private constructor(
    readonly dir: string,
    readonly bin: string,
    readonly cache: string,
    readonly data: string,
    /** pipewright's state dir for this world (PW_STATE_DIR): its records, journal and locks. */
    readonly state: string,
    /** The host namespace's name; its path is /run/netns/NAME. */
    readonly host: string,
    readonly driver: string,
  ) {}

  static async create(): Promise<CniWorld> {
    const driver = await driverPath();
    const dir = mkdtempSync(join(tmpdir(), 'pw-cni.'));
    const bin = makePluginDir(join(dir, 'bin'));
    const cache = join(dir, 'cache');
    const data = join(dir, 'ipam');
    const state = join(dir, 'state');
    mkdirSync(cache);
    mkdirSync(data);
    mkdirSync(state, { mode: 0o755 });
    const host = `cnihost-${process.pid}-${++worlds}`;
    await sh('ip', ['netns', 'add', host]);
    await sh('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
    const w = new CniWorld(dir, bin, cache, data, state, host, driver);
    if (VIA_ENGINE) w.engine = await startEngine(w.hostPath, state);
    return w;
  }

  get hostPath(): string {
    return `/run/netns/${this.host}`;
  }

  /** A new container namespace (named, lo up); returns its path. */
  async container(name = `c${this.containers.length + 1}`): Promise<string> {
    const full = `${this.host}-${name}`;
    await sh('ip', ['netns', 'add', full]);
    await sh('ip', ['-n', full, 'link', 'set', 'lo', 'up']);
    this.containers.push(full);
    return `/run/netns/${full}`;
  }

  async removeContainer(path: string): Promise<void> {
    const name = path.replace('/run/netns/', '');
    await sh('ip', ['netns', 'del', name]);
    this.containers.splice(this.containers.indexOf(name), 1);
  }

  /** The main plugin's config for `type`, with host-local IPAM keeping its leases in this world. */
  mainPlugin(type: PluginType, opts: { bridge?: string; subnet?: string; rangeStart?: string; rangeEnd?: string; extra?: Record<string, unknown> } = {}): Record<string, unknown> {
    const range: Record<string, string> = { subnet: opts.subnet ?? '10.22.0.0/24' };
    if (opts.rangeStart) range.rangeStart = opts.rangeStart;
    if (opts.rangeEnd) range.rangeEnd = opts.rangeEnd;
    return {
      type,
      bridge: opts.bridge ?? 'cni0',
      isGateway: true,
      ipam: { type: 'host-local', ranges: [[range]], routes: [{ dst: '0.0.0.0/0' }], dataDir: this.data },
      ...opts.extra,
    };
  }

  /** Writes a conflist; returns its path. */
  conflist(name: string, plugins: Array<Record<string, unknown>>, cniVersion = '1.0.0'): string {
    const file = join(this.dir, `${name}-${Math.random().toString(36).slice(2, 8)}.conflist`);
    writeFileSync(file, JSON.stringify({ cniVersion, name, plugins }));
    return file;
  }

  private async runDriver(args: string[], opts: { env?: Record<string, string>; stdin?: string; exactEnv?: boolean } = {}): Promise<DriverOut> {
    // Each world is a host of its own, with its own pipewright state.
    // With exactEnv too, the sanitizer run's variables (sanitizer-env.ts): libcni passes them on to the plugin.
    const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', PW_STATE_DIR: this.state, ...sanitizerEnv() };
    const env = opts.exactEnv ? { ...base, ...opts.env } : { ...process.env, ...base, ...opts.env };
    return new Promise((resolvePromise, reject) => {
      const child = execFile('nsenter', [`--net=${this.hostPath}`, this.driver, ...args], { env, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          const out = JSON.parse(line) as DriverOut;
          out.stderr = stderr;
          resolvePromise(out);
        } catch {
          reject(new Error(`the driver printed no JSON (${err ? err.message : 'exit 0'}): stdout ${JSON.stringify(stdout)} stderr ${JSON.stringify(stderr)}`));
        }
      });
      // Only `raw` reads its stdin: the driver may be gone before this is written.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.stdin ?? '');
    });
  }

  /** A libcni call: add, check, del or cached, for one container. */
  libcni(verb: 'add' | 'check' | 'del' | 'cached', conflist: string, id: string, netns: string, ifname = 'eth0', opts: { env?: Record<string, string>; cniArgs?: string; cap?: unknown } = {}): Promise<DriverOut> {
    const flags = ['-path', this.bin, '-cache-dir', this.cache];
    if (opts.cniArgs) flags.push('-args', opts.cniArgs);
    if (opts.cap !== undefined) flags.push('-cap', JSON.stringify(opts.cap));
    return this.runDriver([...flags, verb, conflist, id, netns, ifname], opts.env ? { env: opts.env } : {});
  }

  /** libcni's ValidateNetworkList: every plugin's VERSION, and the list's version among them. */
  validate(conflist: string): Promise<DriverOut> {
    return this.runDriver(['-path', this.bin, '-cache-dir', this.cache, 'validate', conflist]);
  }

  /** One plugin called directly, as the spec describes: exactly `env` (plus PATH), `stdin` as the config. */
  raw(plugin: string, env: Record<string, string>, stdin: string | object): Promise<DriverOut> {
    return this.runDriver(['raw', join(this.bin, plugin)], { env, stdin: typeof stdin === 'string' ? stdin : JSON.stringify(stdin), exactEnv: true });
  }

  /** Link names in a namespace (the host's when none given), sorted. */
  async links(netnsPath = this.hostPath): Promise<string[]> {
    const out = JSON.parse(await sh('nsenter', [`--net=${netnsPath}`, 'ip', '-j', 'link', 'show'])) as Array<{ ifname: string }>;
    return out.map((l) => l.ifname).sort();
  }

  /** `ip -j -d link show` of one link, or null when there is none of that name. */
  async link(name: string, netnsPath = this.hostPath): Promise<Record<string, any> | null> {
    try {
      return (JSON.parse(await sh('nsenter', [`--net=${netnsPath}`, 'ip', '-j', '-d', 'link', 'show', 'dev', name])) as Array<Record<string, any>>)[0] ?? null;
    } catch {
      return null;
    }
  }

  /** Runs `ip ARGS` inside a namespace (the host's when none given). */
  ip(args: string[], netnsPath = this.hostPath): Promise<string> {
    return sh('nsenter', [`--net=${netnsPath}`, 'ip', ...args]);
  }

  /** host-local's lease files (the IP-named ones) for a network. */
  leases(network: string): string[] {
    const d = join(this.data, network);
    if (!existsSync(d)) return [];
    return readdirSync(d)
      .filter((f) => /^[0-9a-f.:]+$/.test(f))
      .sort();
  }

  /** Who holds a lease (host-local's file: container ID, then ifname). */
  leaseHolder(network: string, ip: string): string {
    return readFileSync(join(this.data, network, ip), 'utf8').split(/\r?\n/)[0] ?? '';
  }

  /**
   * Decoys: a bridge and a foreign veth pair (one end in a foreign
   * container, named eth0 there) in the host namespace, and a foreign lease
   * in the network's store. `check()` says what of them is missing.
   */
  async decoys(network: string): Promise<{ check(): Promise<string[]> }> {
    await this.ip(['link', 'add', 'decoy0', 'type', 'bridge']);
    const foreign = await this.container('decoy');
    await this.ip(['link', 'add', 'decoyh', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', foreign.replace('/run/netns/', '')]);
    const store = join(this.data, network);
    mkdirSync(store, { recursive: true });
    const leaseFile = join(store, '10.22.0.250');
    writeFileSync(leaseFile, 'decoy-container\r\neth0');
    return {
      check: async () => {
        const missing: string[] = [];
        const host = await this.links();
        for (const l of ['decoy0', 'decoyh']) if (!host.includes(l)) missing.push(`host link ${l}`);
        if (!(await this.links(foreign)).includes('eth0')) missing.push('eth0 of the foreign container');
        if (!existsSync(leaseFile) || readFileSync(leaseFile, 'utf8') !== 'decoy-container\r\neth0') missing.push(`lease file ${leaseFile}`);
        return missing;
      },
    };
  }

  /** Files in pipewright's state dir (relative paths); the namespace lock files (locks/: kept by design) aside. A container's lock file (cni-locks/) goes with its attachment. */
  stateFiles(): string[] {
    const out: string[] = [];
    const walk = (d: string, rel: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
        else out.push(`${rel}${e.name}`);
      }
    };
    walk(this.state, '');
    // engine/: the world's engine (PW_CNI_VIA_ENGINE), its socket and lock.
    return out.filter((f) => !f.startsWith('locks/') && !f.startsWith('engine/') && !/(^|\/)[^/]*\.lock$|(^|\/)lock$/.test(f)).sort();
  }

  /** Deletes every namespace of this world and its dir. */
  async close(): Promise<void> {
    if (this.engine) {
      const engine = this.engine;
      // PW_CNI_VIA_ENGINE_LOG=FILE: how many calls each world's engine served (0 for a bridge case).
      if (process.env.PW_CNI_VIA_ENGINE_LOG) {
        const { Engine } = await import('../../lib/ops/engine');
        const served = await Engine.connect({ socket: join(this.state, 'engine', 'socket') }).then((e) => e.status()).then((st) => String(st.served), (e: Error) => `status failed: ${e.message}`);
        require('node:fs').appendFileSync(process.env.PW_CNI_VIA_ENGINE_LOG, `${this.host}: served ${served}\n`);
      }
      const exited = new Promise((resolve) => engine.once('close', resolve));
      engine.kill('SIGTERM');
      await exited;
    }
    for (const c of [...this.containers].reverse()) await sh('ip', ['netns', 'del', c]).catch(() => undefined);
    await sh('ip', ['netns', 'del', this.host]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * What a case must leave: only lo, the bridges and the decoys in the host
 * namespace, every container namespace back to lo alone, no lease but the
 * decoy's, libcni's cache empty, the decoys intact.
 */
export async function assertClean(t: Test, w: CniWorld, network: string, decoys: { check(): Promise<string[]> }, bridges = ['cni0']): Promise<void> {
  const host = (await w.links()).filter((l) => !['lo', 'decoy0', 'decoyh', ...bridges].includes(l));
  t.same(host, [], 'nothing of the case left in the host namespace');
  for (const c of w.containers.filter((c) => !c.endsWith('-decoy'))) t.same(await w.links(`/run/netns/${c}`), ['lo'], `container ${c}: only lo left`);
  t.same(w.leases(network), ['10.22.0.250'], 'no lease left but the decoy');
  const results = join(w.cache, 'results');
  t.same(existsSync(results) ? readdirSync(results) : [], [], "libcni's result cache is empty");
  t.same(w.stateFiles(), [], "no record, journal entry or container lock file left in pipewright's state dir");
  t.same(await decoys.check(), [], 'the decoys survive');
}
