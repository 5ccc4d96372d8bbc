// Where an engine lives: its directory under pipewright's state directory
// (mode 0700, root's), holding its lock and its socket. The native client
// (native/client/pipewright_fast.cc) spells the same path.
import { stateDir } from '../../core/state-dir';

/** The engine's subdirectory of the state directory. */
export const ENGINE_DIR = 'engine';

/**
 * The lock one engine per state directory and network namespace holds. Two
 * engines in different namespaces follow disjoint attachments (each only
 * those whose host side is in its own namespace), so they may share a state
 * directory; two in one namespace would repair the same ports.
 */
export function engineLockName(netnsId: string): string {
  return `lock-net-${netnsId.replace(':', '-')}`;
}

/** The socket an engine of this state directory listens on (PIPEWRIGHT_ENGINE_SOCKET names another). */
export function defaultSocketPath(): string {
  const named = process.env.PIPEWRIGHT_ENGINE_SOCKET;
  return named ? named : `${stateDir()}/${ENGINE_DIR}/socket`;
}
