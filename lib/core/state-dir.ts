// pipewright's own state directory: per-guest DHCP files and the ownership
// journal live under it. Everything pipewright creates, rewrites or removes
// on disk is beneath this directory or the named-namespace directory.
import { checkTrustedPath } from './trusted-path';

export const DEFAULT_STATE_DIR = '/run/pipewright';

/**
 * Where pipewright keeps its state (PW_STATE_DIR, else /run/pipewright).
 * PW_STATE_DIR is deliberate: as root, the directory it names must be
 * root's alone (lib/core/trusted-path.ts), or this throws ERR_PW_UNTRUSTED_ENV.
 * Checked on every call: the answer is about the directory as it is now.
 */
export function stateDir(): string {
  const named = process.env.PW_STATE_DIR;
  if (named === undefined || named === '') return DEFAULT_STATE_DIR;
  return checkTrustedPath('PW_STATE_DIR', named, 'directory', { mayBeMissing: true });
}
