// Resolves "the guest" of an attach to a validated network namespace: a
// named namespace, a PID, an nsfs path, or a Docker/Podman container. The
// namespace is opened once and held by fd, so a recycled PID can never send
// an interface to the wrong namespace.
import { existsSync } from 'node:fs';
import { Netns, DEFAULT_RUN_DIR, netnsName, openNetnsForHandle } from '../core/netns';
import { PipewrightError, invalidArgument } from '../core/errors';
import type { ContainerLookup } from './docker';

/** A guest: a Netns, or a string as on pipework's command line, or an explicit form. */
export type GuestRef = Netns | string | { name: string } | { pid: number } | { path: string } | { container: string };

export interface ResolvedGuest {
  netns: Netns;
  /** How it was found. */
  kind: 'netns' | 'named' | 'pid' | 'path' | 'container';
  /** A PID inside the namespace, when known (used in pipework's host-end names). */
  pid?: number;
  /** The name to report and to send as DHCP hostname. */
  label: string;
  container?: { id: string; name: string };
  /** True when we opened the namespace and must close it. */
  owned: boolean;
}

function notFound(ref: string, why: string): PipewrightError {
  return new PipewrightError('ERR_PW_GUEST_NOT_FOUND', `unknown guest '${ref}': ${why}`, { field: 'guest', value: ref });
}

async function byPid(pid: number, label: string): Promise<ResolvedGuest> {
  const netns = await Netns.open({ pid });
  return { netns, kind: 'pid', pid, label, owned: true };
}

/** Why no engine produced the container: every socket asked, and how each failed. */
function engineReport(l: ContainerLookup, env: NodeJS.ProcessEnv = process.env): string {
  const parts: string[] = [];
  if (l.asked.length) parts.push(`no container of that name on ${l.asked.join(', ')}`);
  for (const u of l.unreachable) parts.push(`no engine answered on ${u.socket} (${u.error})`);
  if (parts.length) return parts.join('; ');
  if (env.DOCKER_HOST) return `DOCKER_HOST=${env.DOCKER_HOST} is not a unix:// socket, the only kind pipewright asks`;
  return 'no container engine socket found (set DOCKER_HOST=unix:///path)';
}

async function byContainer(ref: string): Promise<ResolvedGuest | { missing: string }> {
  // The engine client (and node:http) loads only for container guests: a
  // named namespace or a PID does not pay for it at start-up.
  const { lookupContainer } = await import('./docker');
  const l = await lookupContainer(ref);
  const info = l.info;
  if (!info) return { missing: engineReport(l) };
  if (!info.running || info.pid === 0) throw notFound(ref, `container ${info.name} (${info.id.slice(0, 12)}) is not running`);
  const g = await byPid(info.pid, info.name);
  // The container may have stopped, and its PID been reused, between the
  // answer and the open: ask again now that the namespace is held.
  const again = await lookupContainer(info.id).catch(() => null);
  if (!again?.info?.running || again.info.pid !== info.pid) {
    await g.netns.close();
    throw notFound(ref, `container ${info.name} (${info.id.slice(0, 12)}) stopped while its namespace was being opened`);
  }
  return { ...g, kind: 'container', container: { id: info.id, name: info.name } };
}

/** forHandle: a Handle will be opened in the guest at once (a named namespace then comes with its socket: one trip, not two). */
export async function resolveGuest(ref: GuestRef, opts: { runDir?: string; forHandle?: boolean } = {}): Promise<ResolvedGuest> {
  const runDir = opts.runDir ?? DEFAULT_RUN_DIR;
  if (ref instanceof Netns) return { netns: ref, kind: 'netns', label: ref.name ?? `net:[${ref.ino}]`, ...(ref.pid ? { pid: ref.pid } : {}), owned: false };
  if (typeof ref === 'object' && ref !== null) {
    if ('pid' in ref) return byPid(ref.pid, String(ref.pid));
    if ('path' in ref) return { netns: await Netns.open({ path: ref.path }), kind: 'path', label: ref.path, owned: true };
    if ('name' in ref) return { netns: opts.forHandle ? await openNetnsForHandle({ name: ref.name, runDir }) : await Netns.open({ name: ref.name, runDir }), kind: 'named', label: ref.name, owned: true };
    if ('container' in ref) {
      const c = await byContainer(ref.container);
      if ('missing' in c) throw notFound(ref.container, c.missing);
      return c;
    }
  }
  if (typeof ref !== 'string' || ref === '') throw invalidArgument('guest', ref, 'must be a container, a namespace name, a PID, a path or a Netns');

  // Explicit forms: netns:NAME, pid:N, path:P, docker:NAME (also container:NAME).
  const colon = ref.indexOf(':');
  if (colon > 0) {
    const [scheme, rest] = [ref.slice(0, colon), ref.slice(colon + 1)];
    switch (scheme) {
      case 'netns': return resolveGuest({ name: netnsName('guest', rest) }, opts);
      case 'pid':
        if (!/^\d+$/.test(rest)) throw invalidArgument('guest', ref, 'pid: needs a number');
        return byPid(Number(rest), rest);
      case 'path': return resolveGuest({ path: rest }, opts);
      case 'docker':
      case 'podman':
      case 'container': return resolveGuest({ container: rest }, opts);
    }
  }
  if (/^\d+$/.test(ref)) return byPid(Number(ref), ref);
  if (ref.includes('/')) return resolveGuest({ path: ref }, opts);
  if (existsSync(`${runDir}/${ref}`)) return resolveGuest({ name: ref }, opts);
  const c = await byContainer(ref);
  if (!('missing' in c)) return c;
  throw notFound(ref, `not a named namespace in ${runDir}, not a PID or a path, and not a container: ${c.missing}`);
}
