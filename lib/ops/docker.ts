// Finds a Docker or Podman container's PID through the engine's HTTP API on
// its unix socket (no docker CLI needed). DOCKER_HOST is honoured; Podman's
// Docker-compatible socket is tried too.
import http from 'node:http';
import { existsSync } from 'node:fs';
import { checkTrustedPath } from '../core/trusted-path';

export interface ContainerInfo {
  id: string;
  name: string;
  pid: number;
  running: boolean;
  /** The socket that answered. */
  socket: string;
}

/**
 * Candidate engine sockets, in the order they are tried. DOCKER_HOST decides
 * which engine's answer picks a namespace: as root, the socket it names must
 * be root's (lib/core/trusted-path.ts), or this throws ERR_PW_UNTRUSTED_ENV.
 */
export function engineSockets(env: NodeJS.ProcessEnv = process.env): string[] {
  const host = env.DOCKER_HOST;
  if (host) return host.startsWith('unix://') ? [checkTrustedPath('DOCKER_HOST', host.slice('unix://'.length), 'socket', { mayBeMissing: true })] : [];
  return ['/var/run/docker.sock', '/run/podman/podman.sock'].filter((p) => existsSync(p));
}

function get(socketPath: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // One connection per request, closed before we answer: Node's global
    // agent would keep it alive in its pool, and a library call must not
    // leave an fd to the engine open behind it.
    const req = http.get({ socketPath, path, headers: { Host: 'docker', Connection: 'close' }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** What the engines said about one container reference. */
export interface ContainerLookup {
  info: ContainerInfo | null;
  /** Sockets whose engine answered that it has no such container. */
  asked: string[];
  /** Sockets where no engine answered, with why (a stopped daemon, a wrong path). */
  unreachable: Array<{ socket: string; error: string }>;
}

/**
 * Asks each engine socket in turn about `ref` (a name or an id). Throws only
 * when an engine answered with something unexpected; "not found" and "no
 * engine there" are reported, so an error message can tell them apart.
 */
export async function lookupContainer(ref: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ContainerLookup> {
  const out: ContainerLookup = { info: null, asked: [], unreachable: [] };
  for (const socket of engineSockets(opts.env)) {
    let res: { status: number; body: string };
    try {
      res = await get(socket, `/containers/${encodeURIComponent(ref)}/json`, opts.timeoutMs ?? 5000);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      out.unreachable.push({ socket, error: err.code ?? err.message });
      continue;
    }
    if (res.status === 404) {
      out.asked.push(socket);
      continue;
    }
    if (res.status !== 200) throw new Error(`the engine at ${socket} answered ${res.status}: ${res.body.trim()}`);
    const j = JSON.parse(res.body) as { Id: string; Name: string; State?: { Pid?: number; Running?: boolean } };
    out.info = { id: j.Id, name: j.Name.replace(/^\//, ''), pid: j.State?.Pid ?? 0, running: j.State?.Running === true, socket };
    return out;
  }
  return out;
}

