// Finds a Docker or Podman container's PID through the engine's HTTP API on
// its unix socket (no docker CLI needed). DOCKER_HOST is honoured; Podman's
// Docker-compatible socket is tried too.
import http from 'node:http';
import { existsSync } from 'node:fs';

export interface ContainerInfo {
  id: string;
  name: string;
  pid: number;
  running: boolean;
  /** The socket that answered. */
  socket: string;
}

/** Candidate engine sockets, in the order they are tried. */
export function engineSockets(env: NodeJS.ProcessEnv = process.env): string[] {
  const host = env.DOCKER_HOST;
  if (host) return host.startsWith('unix://') ? [host.slice('unix://'.length)] : [];
  return ['/var/run/docker.sock', '/run/podman/podman.sock'].filter((p) => existsSync(p));
}

function get(socketPath: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, headers: { Host: 'docker' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * The container named (or with the id) `ref`, or null when no engine knows
 * it. Throws only when an engine answered with something unexpected.
 */
export async function inspectContainer(ref: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ContainerInfo | null> {
  const sockets = engineSockets(opts.env);
  for (const socket of sockets) {
    let res: { status: number; body: string };
    try {
      res = await get(socket, `/containers/${encodeURIComponent(ref)}/json`, opts.timeoutMs ?? 5000);
    } catch {
      continue; // no engine listening there
    }
    if (res.status === 404) continue;
    if (res.status !== 200) throw new Error(`the engine at ${socket} answered ${res.status}: ${res.body.trim()}`);
    const j = JSON.parse(res.body) as { Id: string; Name: string; State?: { Pid?: number; Running?: boolean } };
    return { id: j.Id, name: j.Name.replace(/^\//, ''), pid: j.State?.Pid ?? 0, running: j.State?.Running === true, socket };
  }
  return null;
}
