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

/**
 * Runs IPAM for one verb; resolves with the result (ADD) or null, rejects
 * with its CniError. `changesAfter`: nothing may be changed before it
 * resolves (ADD's record must be written first), and nothing is when it
 * rejects (with its reason). The built-in reads its store meanwhile, under
 * the store's lock; a delegated plugin, which changes things as it runs,
 * starts only then.
 */
export async function runIpam(type: string, verb: Extract<Verb, 'ADD' | 'DEL' | 'CHECK'>, stdin: string, env: NodeJS.ProcessEnv, path: readonly string[], changesAfter: Promise<unknown> = Promise.resolve()): Promise<unknown> {
  changesAfter.catch(() => undefined); // its reason is reported below, whenever it is looked at
  if (type !== BUILTIN) return changesAfter.then(() => delegate(type, verb, stdin, env, path));
  const answer = await hostLocal(verb, stdin, env, changesAfter);
  if ('result' in answer) return answer.result;
  try {
    await changesAfter;
    return await delegate(type, verb, stdin, env, path);
  } catch (e) {
    if (e instanceof PluginMissing) throw new BuiltinDeclined(type, path, answer.delegate);
    throw e;
  }
}
