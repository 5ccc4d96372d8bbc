// The CNI_* environment a runtime sets for one plugin call, read and checked
// per verb (the spec's table of which variables each verb needs).
import { CniError, CNI_ERR, badEnv } from './errors';
import * as v from '../../core/validate';

export type Verb = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';
const VERBS: readonly Verb[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'];

export interface CniEnv {
  command: Verb;
  containerId?: string;
  netns?: string;
  ifname?: string;
  /** CNI_ARGS as key=value pairs. */
  args: Record<string, string>;
  /** CNI_PATH split on ':' (empty entries dropped). */
  path: string[];
  /** The whole environment, handed unchanged to delegated plugins. */
  raw: NodeJS.ProcessEnv;
}

/** Container IDs: the spec's character set (alphanumerics, underscore, dot, hyphen), not empty. */
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const NEEDS: Record<Verb, { containerId?: true; netns?: true; ifname?: true; path?: true }> = {
  ADD: { containerId: true, netns: true, ifname: true, path: true },
  CHECK: { containerId: true, netns: true, ifname: true, path: true },
  DEL: { containerId: true, ifname: true, path: true },
  GC: { path: true },
  STATUS: { path: true },
  VERSION: {},
};

export function readEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === '') throw badEnv('CNI_COMMAND', command, `is required (one of ${VERBS.join(', ')})`);
  if (!(VERBS as readonly string[]).includes(command)) throw badEnv('CNI_COMMAND', command, `is not a CNI verb (one of ${VERBS.join(', ')})`);
  const verb = command as Verb;
  const needs = NEEDS[verb];
  // VERSION reads nothing else: libcni probes with CNI_NETNS=dummy, CNI_PATH=dummy.
  if (verb === 'VERSION') return { command: verb, args: {}, path: [], raw: env };
  const out: CniEnv = { command: verb, args: parseArgs(env.CNI_ARGS), path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''), raw: env };
  const get = (name: string, required: boolean | undefined): string | undefined => {
    const value = env[name];
    if (value === undefined || value === '') {
      if (required) throw badEnv(name, value, `is required for ${verb}`);
      return undefined;
    }
    return value;
  };
  const id = get('CNI_CONTAINERID', needs.containerId);
  if (id !== undefined) {
    if (!CONTAINER_ID.test(id)) throw badEnv('CNI_CONTAINERID', id, 'must start with a letter or digit and hold only letters, digits, _ . -');
    out.containerId = id;
  }
  const netns = get('CNI_NETNS', needs.netns);
  if (netns !== undefined) {
    if (!netns.startsWith('/')) throw badEnv('CNI_NETNS', netns, 'must be an absolute path to a network namespace (/var/run/netns/NAME, /proc/PID/ns/net)');
    out.netns = netns;
  }
  const ifname = get('CNI_IFNAME', needs.ifname);
  if (ifname !== undefined) {
    try {
      out.ifname = v.ifname('CNI_IFNAME', ifname);
    } catch (e) {
      throw badEnv('CNI_IFNAME', ifname, `is not a valid interface name: ${(e as Error).message.replace(/^[^:]*: /, '')}`);
    }
  }
  if (needs.path && out.path.length === 0) throw badEnv('CNI_PATH', env.CNI_PATH, `is required for ${verb} (the directories holding the plugin executables)`);
  for (const p of out.path) if (!p.startsWith('/')) throw badEnv('CNI_PATH', env.CNI_PATH, `holds a relative directory '${p}'; plugins are looked up in absolute directories only`);
  return out;
}

/** CNI_ARGS: "K1=V1;K2=V2". */
export function parseArgs(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === '') return out;
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CNI_ERR.INVALID_ENV, `CNI_ARGS=${JSON.stringify(raw)}: '${pair}' is not KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
