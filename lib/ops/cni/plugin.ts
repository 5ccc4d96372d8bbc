// The plugin: CNI_* environment and configuration in, result or error out.
// One dispatch table over the verbs; every failure becomes the spec's error
// JSON in one place (errors.ts). Pure of process I/O: lib/cli/cni.ts feeds it
// stdin and the environment and writes what it returns.
import { readEnv, type CniEnv, type Verb } from './env';
import { parseConfig, type NetConf } from './config';
import { toCniError } from './errors';
import { LATEST, SUPPORTED_VERSIONS, isSemver, requireVerb } from './version';
import { renderResult } from './result';

export interface PluginOutput {
  /** What goes to stdout: the result, the version answer, the error, or nothing. */
  stdout: string;
  /** Lines for stderr (only when the configuration says "verbose": true). */
  log: string[];
  exitCode: number;
  /**
   * Work that goes on after the answer (ADD's announcement: AddOutcome.after):
   * the caller writes stdout first, then lets it finish (the process before
   * it exits, the engine in the background). Never rejects; resolves with
   * what there is to say of it (a process prints it only when `verbose`).
   */
  after?: Promise<string[]>;
  /** The configuration said "verbose": true. */
  verbose?: boolean;
}

type Handler = (conf: NetConf, env: CniEnv) => Promise<{ result?: Record<string, unknown>; log?: string[]; after?: Promise<string[]> }>;

// Each verb's module loads when that verb runs: VERSION and refused input
// never load the attach machinery.
const VERBS: Record<Exclude<Verb, 'VERSION'>, Handler> = {
  ADD: async (conf, env) => {
    const r = await (await import('./add')).cmdAdd(conf, env);
    return { result: renderResult(r.result, conf.cniVersion), log: r.warnings, ...(r.after ? { after: r.after } : {}) };
  },
  DEL: async (conf, env) => ({ log: await (await import('./del')).cmdDel(conf, env) }),
  CHECK: async (conf, env) => {
    await (await import('./check')).cmdCheck(conf, env);
    return {};
  },
  GC: async (conf, env) => {
    const r = await (await import('./gc')).cmdGc(conf, env);
    return { log: [...r.removed.map((a) => `removed the attachment of ${a.containerID} (${a.ifname})`), ...r.notes] };
  },
  STATUS: async (conf, env) => {
    await (await import('./status')).cmdStatus(conf, env);
    return {};
  },
};

/** The version an error is reported in: the configuration's when it can be read, else the newest. */
function versionOf(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return isSemver(v) ? v : LATEST;
  } catch {
    return LATEST;
  }
}

export async function runPlugin(environ: NodeJS.ProcessEnv, stdin: string): Promise<PluginOutput> {
  let verbose = false;
  try {
    const env = readEnv(environ);
    if (env.command === 'VERSION') {
      return { stdout: `${JSON.stringify({ cniVersion: versionOf(stdin), supportedVersions: [...SUPPORTED_VERSIONS] })}\n`, log: [], exitCode: 0 };
    }
    const conf = parseConfig(stdin);
    verbose = conf.verbose;
    requireVerb(env.command, conf.cniVersion);
    const out = await VERBS[env.command](conf, env);
    return { stdout: out.result ? `${JSON.stringify(out.result)}\n` : '', log: verbose ? (out.log ?? []) : [], exitCode: 0, ...(out.after ? { after: out.after, verbose } : {}) };
  } catch (e) {
    const err = toCniError(e);
    return { stdout: `${JSON.stringify(err.toJSON(versionOf(stdin)))}\n`, log: verbose && err.stack ? [err.stack] : [], exitCode: 1 };
  }
}
