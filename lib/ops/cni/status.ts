// STATUS (spec 1.1): ready only when the bridge can be used (it exists as a
// bridge, or its name is free to create one) and the IPAM plugin answers
// (found in CNI_PATH, answers VERSION with the configuration's version, and
// its own STATUS when it speaks 1.1.0). Not ready is code 50, with the reason.
import { Handle } from '../../core/handle';
import type { NetConf } from './config';
import type { CniEnv } from './env';
import { CniError, CNI_ERR } from './errors';
import { delegate, findPlugin } from './delegate';
import { SUPPORTED_VERSIONS } from './version';
import { BUILTIN } from './host-local';

export async function cmdStatus(conf: NetConf, env: CniEnv): Promise<void> {
  const notReady = (why: string) => new CniError(CNI_ERR.NOT_AVAILABLE, `not ready: ${why}`);
  let host: Handle;
  try {
    host = await Handle.open();
  } catch (e) {
    throw notReady(`cannot talk to the kernel's routing netlink: ${(e as Error).message}`);
  }
  try {
    const br = await host.link.find(conf.bridge);
    if (br && br.kind !== 'bridge') throw notReady(`"${conf.bridge}" exists and is a ${br.kind ?? 'device without a kind'}, not a bridge: ADD cannot attach to it`);
  } finally {
    await host.close();
  }
  if (!conf.ipam) return;
  const type = conf.ipam.type;
  // Built in: ready without a binary (one is needed only for a configuration the built-in hands on).
  if (type === BUILTIN && !(await findPlugin(type, env.path))) return;
  if (!(await findPlugin(type, env.path))) throw notReady(`IPAM plugin "${type}" is not in CNI_PATH (${env.path.join(':')})`);
  let versions: string[];
  try {
    versions = await supportedVersions(type, conf.cniVersion, env);
  } catch (e) {
    throw notReady(`IPAM plugin "${type}" does not answer VERSION: ${(e as Error).message}`);
  }
  // An older IPAM plugin is asked in an older version (delegate.ts): it must speak one of ours.
  if (!versions.some((x) => (SUPPORTED_VERSIONS as readonly string[]).includes(x))) throw notReady(`IPAM plugin "${type}" speaks none of pipewright's CNI versions (it speaks ${versions.join(', ')})`);
  if (versions.includes('1.1.0')) {
    try {
      await delegate(type, 'STATUS', conf.raw, env.raw, env.path);
    } catch (e) {
      const c = e instanceof CniError ? e : null;
      throw new CniError(c?.code === CNI_ERR.NOT_AVAILABLE_LIMITED ? CNI_ERR.NOT_AVAILABLE_LIMITED : CNI_ERR.NOT_AVAILABLE, `not ready: IPAM plugin "${type}": ${(e as Error).message}`);
    }
  }
}

async function supportedVersions(type: string, cniVersion: string, env: CniEnv): Promise<string[]> {
  const out = (await delegate(type, 'VERSION', JSON.stringify({ cniVersion }), env.raw, env.path)) as { supportedVersions?: unknown } | null;
  if (!out || !Array.isArray(out.supportedVersions)) throw new Error('no supportedVersions in its answer');
  return out.supportedVersions.filter((x): x is string => typeof x === 'string');
}

export async function supportsVersion(type: string, version: string, env: CniEnv): Promise<boolean> {
  try {
    return (await supportedVersions(type, version, env)).includes(version);
  } catch {
    return false;
  }
}
