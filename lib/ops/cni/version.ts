// Which CNI specification versions the plugin speaks, and what each allows.
// Results are produced in the version the configuration names: 0.3.0 and
// 0.3.1 (ips carry a "version"), 0.4.0 (adds CHECK), 1.0.0 (no "version"
// in ips), 1.1.0 (GC, STATUS, interface and route mtu and friends).
import { CniError, CNI_ERR, badConfig } from './errors';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST = '1.1.0';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

/** Compares two "X.Y.Z" versions: negative, 0 or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a)!.slice(1).map(Number);
  const pb = SEMVER.exec(b)!.slice(1).map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

export function isSemver(v: unknown): v is string {
  return typeof v === 'string' && SEMVER.test(v);
}

export function atLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/**
 * The version the plugin runs in: `cniVersion` when given (it must be one we
 * speak: code 1 otherwise), else the newest of `cniVersions` we speak.
 */
export function chooseVersion(cniVersion: unknown, cniVersions: unknown): string {
  if (cniVersions !== undefined) {
    if (!Array.isArray(cniVersions) || cniVersions.length === 0) throw badConfig('cniVersions', cniVersions, 'must be a non-empty list of versions ("1.1.0")');
    cniVersions.forEach((x, i) => {
      if (!isSemver(x)) throw badConfig(`cniVersions[${i}]`, x, 'is not a version of the form X.Y.Z');
    });
  }
  if (cniVersion !== undefined) {
    if (!isSemver(cniVersion)) throw badConfig('cniVersion', cniVersion, 'is not a version of the form X.Y.Z');
    if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion))
      throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `incompatible CNI version: cniVersion ${JSON.stringify(cniVersion)} is not supported by pipewright`, `supported: ${SUPPORTED_VERSIONS.join(', ')}`);
    return cniVersion;
  }
  if (cniVersions !== undefined) {
    const ours = (cniVersions as string[]).filter((x) => (SUPPORTED_VERSIONS as readonly string[]).includes(x)).sort(compareVersions);
    if (ours.length === 0)
      throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `incompatible CNI version: none of cniVersions ${JSON.stringify(cniVersions)} is supported by pipewright`, `supported: ${SUPPORTED_VERSIONS.join(', ')}`);
    return ours[ours.length - 1]!;
  }
  throw badConfig('cniVersion', undefined, 'is required (or cniVersions)');
}

/** The verbs each version knows; a verb newer than the config's version is code 1. */
const VERB_SINCE: Record<string, string> = { ADD: '0.3.0', DEL: '0.3.0', CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };

export function requireVerb(verb: string, version: string): void {
  const since = VERB_SINCE[verb];
  if (since && !atLeast(version, since))
    throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `incompatible CNI version: ${verb} needs cniVersion ${since} or later; the configuration says ${version}`);
}
