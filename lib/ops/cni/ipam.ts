// The IPAM step of each verb: the built-in host-local (host-local/) when the
// configuration names host-local and the built-in understands it, else the
// plugin of that name from CNI_PATH (delegate.ts), exactly as before.
import { delegate, PluginMissing } from './delegate';
import type { Verb } from './env';
import { hostLocal, BUILTIN } from './host-local';

/** The built-in could not take the configuration, and there is no binary to hand it to. */
export class BuiltinDeclined extends PluginMissing {
  constructor(type: string, path: readonly string[], why: string) {
    super(type, path, `the built-in ${type} does not take this configuration (${why}), and there is no "${type}" in path [${path.join(' ')}] to run instead`);
  }
}

/** Runs IPAM for one verb; resolves with the result (ADD) or null, rejects with its CniError. */
export async function runIpam(type: string, verb: Extract<Verb, 'ADD' | 'DEL' | 'CHECK'>, stdin: string, env: NodeJS.ProcessEnv, path: readonly string[]): Promise<unknown> {
  if (type !== BUILTIN) return delegate(type, verb, stdin, env, path);
  const answer = await hostLocal(verb, stdin, env);
  if ('result' in answer) return answer.result;
  try {
    return await delegate(type, verb, stdin, env, path);
  } catch (e) {
    if (e instanceof PluginMissing) throw new BuiltinDeclined(type, path, answer.delegate);
    throw e;
  }
}
