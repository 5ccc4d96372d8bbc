// One command line from the engine's socket, run in the engine's process
// through the same dispatcher as the pipewright command (main.ts): the
// caller's working directory and the environment variables commands read
// are put in place for the length of the command and restored after. The
// engine runs one such command line at a time, so nothing else sees them; a
// CNI call, which carries its own environment and reads neither, runs beside
// (runsBeside).
import { statSync } from 'node:fs';
import { PROTOCOL_VERSION_OWN_ENV, type CliRequest, type Session } from '../ops/engine';
import { DEFAULT_STATE_DIR } from '../core/state-dir';
import { withTrustedPathMemo } from '../core/trusted-path';
import { findCommand } from './registry';
import { main } from './main';
import type { Io } from './report';

/** The variables a command reads (the rest of the caller's environment is not the engine's business). */
export const FORWARDED_ENV = ['PATH', 'PIPEWRIGHT_DEBUG', 'PW_NETNS_ETC_DIR', 'DOCKER_HOST', 'CONTAINER_HOST', 'XDG_RUNTIME_DIR'] as const;

/** Commands that must run in their own process: the engine itself, and repro (it re-executes itself in a sandbox). */
const OWN_PROCESS = new Set(['engine', 'repro']);

const stateDirOf = (env: Readonly<Record<string, string | undefined>>) => env.PW_STATE_DIR || DEFAULT_STATE_DIR;

/** Why the engine does not run this command line ('' when it does); the client then runs it itself. */
export function refusal(req: CliRequest): string {
  const c = findCommand(req.argv[0]);
  if (c && OWN_PROCESS.has(c.name)) return `'${c.name}' runs in its own process`;
  // The plugin's environment is per call: only a request that carries it whole is run here.
  if (c?.name === 'cni' && req.v !== PROTOCOL_VERSION_OWN_ENV) return `'cni' reads the caller's whole environment: a request of protocol ${PROTOCOL_VERSION_OWN_ENV} carries it`;
  if (stateDirOf(req.env) !== stateDirOf(process.env)) return `the caller uses another state directory (${stateDirOf(req.env)})`;
  // The build the engine runs itself (started with the same PW_ADDON_PATH: the sanitizer run's) is no other.
  if (req.env.PW_ADDON_PATH && req.env.PW_ADDON_PATH !== process.env.PW_ADDON_PATH) return 'PW_ADDON_PATH asks for another build of the addon';
  // A call that runs beside reads no working directory (runsBeside): the engine never enters it.
  if (c?.name === 'cni' && req.v === PROTOCOL_VERSION_OWN_ENV) return '';
  try {
    if (!statSync(req.cwd).isDirectory()) return `the working directory ${req.cwd} is not a directory`;
  } catch {
    return `the working directory ${req.cwd} cannot be entered`;
  }
  return '';
}

/**
 * Whether a command line may run beside others in the engine: it carries
 * the caller's whole environment (protocol 2, given to the command as
 * io.env) and reads neither process.env nor the working directory. Only the
 * CNI plugin is written so (lib/ops/cni reads its environment from io.env;
 * test/unit/engine-protocol.test.ts checks process.env is untouched).
 */
export function runsBeside(req: CliRequest): boolean {
  return req.v === PROTOCOL_VERSION_OWN_ENV && findCommand(req.argv[0])?.name === 'cni';
}

export async function runRequest(req: CliRequest, session: Session): Promise<number> {
  if (runsBeside(req)) return withTrustedPathMemo(() => main(req.argv, ioOf(req, session)));
  const saved = FORWARDED_ENV.map((k) => [k, process.env[k]] as const);
  const cwd = process.cwd();
  const io = ioOf(req, session);
  try {
    for (const k of FORWARDED_ENV) {
      if (req.env[k] === undefined) delete process.env[k];
      else process.env[k] = req.env[k];
    }
    process.chdir(req.cwd);
    // Paths the environment names are checked once per command line (lib/core/trusted-path.ts).
    return await withTrustedPathMemo(() => main(req.argv, io));
  } finally {
    process.chdir(cwd);
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function ioOf(req: CliRequest, session: Session): Io {
  return {
    stdout: { write: (s: string) => session.stdout(s) },
    stderr: { write: (s: string) => session.stderr(s) },
    readStdin: () => (session.stdin ?? Buffer.alloc(0)).toString('utf8'),
    signal: session.signal,
    afterAnswer: (work) => session.afterAnswer(work),
    // A copy: the command may keep it (a delegated plugin's environment), the request is not touched.
    ...(req.v === PROTOCOL_VERSION_OWN_ENV ? { env: { ...req.env } } : {}),
  };
}
