// Driving the CNI plugin as a runtime does: a CNI_PATH directory holding an
// executable `pipewright` (which execs the built dist/lib/cli/cni.js) and
// links to the reference plugins in /usr/lib/cni; each call a process with
// CNI_* variables and the configuration on stdin, started inside the
// scene's private host namespace.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Netns } from '../../lib';
import { sanitizerEnv } from './sanitizer-env';

export const REFERENCE_DIR = '/usr/lib/cni';
export const CNI_MAIN = join(__dirname, '..', '..', 'dist', 'lib', 'cli', 'cni.js');

/** Why the CNI tests cannot run here, or null. */
export function cniSkipReason(): string | null {
  if (!existsSync(CNI_MAIN)) return `${CNI_MAIN} is missing: build it first with 'npm run build:ts'`;
  for (const p of ['host-local', 'static']) if (!existsSync(join(REFERENCE_DIR, p))) return `the reference plugin ${REFERENCE_DIR}/${p} is missing (apt-get install containernetworking-plugins)`;
  return null;
}

export interface PluginDir {
  dir: string;
  /** A directory for host-local's leases (its dataDir). */
  ipamDir: string;
  remove(): void;
}

/** A CNI_PATH directory; `extra` adds executable scripts by name. */
export function pluginDir(extra: Record<string, string> = {}): PluginDir {
  const root = mkdtempSync(join(tmpdir(), 'pw-cni-'));
  const dir = join(root, 'bin');
  const ipamDir = join(root, 'ipam');
  require('node:fs').mkdirSync(dir);
  const script = (name: string, body: string) => {
    writeFileSync(join(dir, name), body);
    chmodSync(join(dir, name), 0o755);
  };
  script('pipewright', `#!/bin/sh\nexec "${process.execPath}" "${CNI_MAIN}" "$@"\n`);
  for (const p of readdirSync(REFERENCE_DIR)) if (!(p in extra)) symlinkSync(join(REFERENCE_DIR, p), join(dir, p));
  for (const [name, body] of Object.entries(extra)) script(name, body);
  return { dir, ipamDir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface CniRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json?: Record<string, unknown> & { code?: number; msg?: string };
}

export interface CniCall {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  path?: string;
  /** Replaces the whole CNI_* set (for the bad-environment tests). */
  env?: Record<string, string>;
  /** The plugin's executable name in the directory (default pipewright). */
  plugin?: string;
}

/** Runs one plugin call inside `host` (the scene's host namespace). */
export function runCni(host: Netns, dir: string, call: CniCall, stdin: string | object, started?: (pid: number) => void): Promise<CniRun> {
  // A runtime passes the plugin nothing of its own environment but PATH (and the sanitizer run's, sanitizer-env.ts).
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, PW_STATE_DIR: process.env.PW_STATE_DIR, ...sanitizerEnv() };
  const cni: Record<string, string> = call.env ?? {
    CNI_COMMAND: call.command,
    CNI_PATH: call.path ?? dir,
    ...(call.containerId !== undefined ? { CNI_CONTAINERID: call.containerId } : {}),
    ...(call.netns !== undefined ? { CNI_NETNS: call.netns } : {}),
    ...(call.ifname !== undefined ? { CNI_IFNAME: call.ifname } : {}),
  };
  const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${host.fd}`, join(dir, call.plugin ?? 'pipewright')], { env: { ...base, ...cni }, stdio: ['pipe', 'pipe', 'pipe'] });
  if (started && child.pid) started(child.pid);
  const r: CniRun = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (b: Buffer) => (r.stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (r.stderr += b.toString()));
  child.stdin.end(typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      r.code = code;
      try {
        if (r.stdout.trim()) r.json = JSON.parse(r.stdout);
      } catch {
        /* left as text */
      }
      resolve(r);
    });
  });
}

/** The nsfs path of a namespace, as a runtime passes CNI_NETNS (through our fd). */
export function netnsPath(ns: Netns): string {
  return `/proc/${process.pid}/fd/${ns.fd}`;
}

/** The leases host-local holds for a network (file names that are addresses). */
export function leases(ipamDir: string, network: string): string[] {
  const d = join(ipamDir, network);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => /^[0-9a-f.:]+$/.test(f) && (f.includes('.') || f.includes(':'))).sort();
}

/** The plugin's records of one network in the state directory (one per attachment; other test files share the directory). */
export function records(network: string): string[] {
  const d = join(process.env.PW_STATE_DIR ?? '/run/pipewright', 'cni');
  const prefix = `${createHash('sha256').update(network).digest('hex').slice(0, 16)}-`;
  return existsSync(d) ? readdirSync(d).filter((f) => f.startsWith(prefix) && f.endsWith('.json')) : [];
}

/** A network configuration for pipewright with host-local. */
export function hostLocalConf(p: PluginDir, over: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.1.0',
    name: 'pwnet',
    type: 'pipewright',
    bridge: 'cni0',
    isGateway: true,
    ipam: { type: 'host-local', dataDir: p.ipamDir, subnet: '10.88.7.0/24', routes: [{ dst: '0.0.0.0/0' }], ...ipam },
    ...over,
  };
}
