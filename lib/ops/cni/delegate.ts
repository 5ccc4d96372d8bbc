// Delegation (SPEC.md, "Delegated plugins"): another plugin (the IPAM
// plugin) is found by its type in CNI_PATH and executed with the same
// configuration on stdin and the same environment, CNI_COMMAND aside. Its
// stdout is its result or its error; its stderr is passed through to ours.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { CniError, CNI_ERR, PW_ERR } from './errors';
import type { Verb } from './env';
import { SUPPORTED_VERSIONS, compareVersions, isSemver } from './version';

/** The executable for `type` in the first CNI_PATH directory that has one, or null. */
export async function findPlugin(type: string, path: readonly string[]): Promise<string | null> {
  for (const dir of path) {
    const file = join(dir, type);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

export class PluginMissing extends CniError {
  constructor(type: string, path: readonly string[], msg = `failed to find plugin "${type}" in path [${path.join(' ')}]`) {
    super(CNI_ERR.INVALID_CONFIG, msg);
  }
}

/**
 * Runs the delegated plugin for one verb; resolves with its stdout (parsed
 * JSON, or null when it printed nothing), rejects with its CniError.
 */
export async function delegate(type: string, verb: Verb, stdin: string, env: NodeJS.ProcessEnv, path: readonly string[]): Promise<unknown> {
  const exe = await findPlugin(type, path);
  if (!exe) throw new PluginMissing(type, path);
  try {
    return await once(exe, type, verb, stdin, env);
  } catch (e) {
    // An IPAM plugin older than the configuration (Debian's host-local 1.1.1
    // speaks up to 1.0.0; pipewright 1.1.0): asked again in the newest
    // version both speak, which changes nothing an IPAM plugin reads.
    if (!(e instanceof CniError && e.code === CNI_ERR.INCOMPATIBLE_VERSION) || verb === 'VERSION') throw e;
    const older = await commonVersion(exe, type, stdin, env);
    if (!older) throw e;
    const conf = JSON.parse(stdin) as Record<string, unknown>;
    return once(exe, type, verb, JSON.stringify({ ...conf, cniVersion: older }), env);
  }
}

/** The newest version below the configuration's that both the plugin and pipewright speak. */
async function commonVersion(exe: string, type: string, stdin: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  let asked: unknown;
  try {
    asked = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
  } catch {
    return null;
  }
  if (!isSemver(asked)) return null;
  const answer = (await once(exe, type, 'VERSION', JSON.stringify({ cniVersion: asked }), env).catch(() => null)) as { supportedVersions?: unknown } | null;
  const theirs = Array.isArray(answer?.supportedVersions) ? (answer!.supportedVersions as unknown[]) : [];
  const both = SUPPORTED_VERSIONS.filter((x) => theirs.includes(x) && compareVersions(x, asked as string) < 0);
  return both.length ? both[both.length - 1]! : null;
}

async function once(exe: string, type: string, verb: Verb, stdin: string, env: NodeJS.ProcessEnv): Promise<unknown> {
  const { code, stdout } = await run(exe, stdin, { ...env, CNI_COMMAND: verb });
  const text = stdout.trim();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      if (code === 0) throw new CniError(CNI_ERR.DECODE, `failed to decode the result of plugin "${type}" (${verb}): not JSON`, text.slice(0, 500));
    }
  }
  if (code !== 0) {
    const e = parsed as { code?: unknown; msg?: unknown; details?: unknown } | null;
    const theirs = typeof e?.code === 'number' ? e.code : PW_ERR.IPAM_FAILED;
    const msg = typeof e?.msg === 'string' ? e.msg : text.slice(0, 500) || `exited with status ${code}`;
    throw new CniError(theirs, `plugin "${type}" failed (${verb}): ${msg}`, typeof e?.details === 'string' && e.details ? e.details : undefined);
  }
  return parsed;
}

function run(exe: string, stdin: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (e) => reject(new CniError(CNI_ERR.IO_FAILURE, `could not run ${exe}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (signal) reject(new CniError(CNI_ERR.IO_FAILURE, `${exe} was killed by ${signal}`));
      else resolve({ code: code ?? 1, stdout: Buffer.concat(chunks).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // a plugin that exits without reading: its exit code says why
    child.stdin.end(stdin);
  });
}
