// A sandboxed Docker engine for a test file (scripts/docker-sandbox.sh):
// dockerd in its own network and mount namespaces, everything under a temp
// dir, reached through its socket's path. Tests that need it skip, with the
// script's reason, only when the engine cannot be installed or started here.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = resolve(__dirname, '../../scripts/docker-sandbox.sh');
/** The script's "cannot have an engine here" status. */
const UNAVAILABLE = 77;

export class Engine {
  private constructor(
    readonly dir: string,
    readonly dockerHost: string,
    /** dockerd's PID: /proc/PID/ns/net is the engine's own namespace. */
    readonly pid: number,
    /** What the script said about its phases and their timings. */
    readonly log: string,
  ) {}

  /**
   * Starts one, or says why it cannot be had here. Installing the packages
   * on a fresh machine takes ~15 s, so callers give it time.
   */
  static async start(config: 'safe' | 'default'): Promise<Engine | { unavailable: string }> {
    // Short: the socket path must fit in sun_path.
    const dir = mkdtempSync('/tmp/pwd.');
    try {
      // --owner: should this process die before its teardown, the engine goes too.
      const { stdout, stderr } = await run(SCRIPT, ['start', '--config', config, '--owner', String(process.pid), dir], { timeout: 900_000 });
      const host = /^DOCKER_HOST=(\S+)$/m.exec(stdout)?.[1];
      if (!host) throw new Error(`docker-sandbox.sh printed no DOCKER_HOST: ${stdout}`);
      return new Engine(dir, host, Number(readFileSync(join(dir, 'dockerd.pid'), 'utf8').trim()), stderr.trim());
    } catch (e) {
      const err = e as { code?: number; stderr?: string };
      await run(SCRIPT, ['stop', dir]).catch(() => undefined);
      if (err.code === UNAVAILABLE) return { unavailable: (err.stderr ?? '').replace(/^docker-sandbox: /gm, '').trim() };
      throw e;
    }
  }

  /** Runs the docker client against this engine; resolves its trimmed stdout. */
  async docker(...args: string[]): Promise<string> {
    const { stdout } = await run('docker', args, { env: { ...process.env, DOCKER_HOST: this.dockerHost }, timeout: 60_000 });
    return stdout.trim();
  }

  /** The docker command's failure, or null when it succeeded. */
  async dockerFails(...args: string[]): Promise<{ code: number; stderr: string } | null> {
    try {
      await this.docker(...args);
      return null;
    } catch (e) {
      const err = e as { code: number; stderr: string };
      return { code: err.code, stderr: err.stderr };
    }
  }

  /** Runs a command inside the engine's network namespace (its iptables, its links). */
  async inEngineNs(cmd: string, args: string[]): Promise<string> {
    const { stdout } = await run('nsenter', [`--net=/proc/${this.pid}/ns/net`, cmd, ...args], { timeout: 10_000 });
    return stdout;
  }

  /** Removes its containers, stops dockerd and removes the dir. Safe to call twice. */
  async stop(): Promise<void> {
    await run(SCRIPT, ['stop', this.dir], { timeout: 120_000 });
  }
}

/** True while a process with that PID exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
