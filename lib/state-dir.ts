// pipewright's own state directory: per-guest DHCP files and the ownership
// journal live under it. Everything pipewright creates, rewrites or removes
// on disk is beneath this directory or the named-namespace directory.
export const DEFAULT_STATE_DIR = '/run/pipewright';

/** Where pipewright keeps its state (PW_STATE_DIR, else /run/pipewright). */
export function stateDir(): string {
  return process.env.PW_STATE_DIR ?? DEFAULT_STATE_DIR;
}
