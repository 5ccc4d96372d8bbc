// Where an engine lives: its directory under pipewright's state directory
// (mode 0700, root's), holding its lock and its socket. The native client
// (native/client/pipewright_fast.cc) spells the same path.
import { stateDir } from '../../core/state-dir';

/** The engine's subdirectory of the state directory. */
export const ENGINE_DIR = 'engine';

/** The lock only one engine per state directory holds. */
export const ENGINE_LOCK = 'lock';

/** The socket an engine of this state directory listens on (PIPEWRIGHT_ENGINE_SOCKET names another). */
export function defaultSocketPath(): string {
  const named = process.env.PIPEWRIGHT_ENGINE_SOCKET;
  return named ? named : `${stateDir()}/${ENGINE_DIR}/socket`;
}
