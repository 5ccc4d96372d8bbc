// Exit codes: scripts branch on them, so each kind of failure has its own,
// decided by the error's code (never by its message text).
import { NetlinkError } from '../core/errors';

export const EXIT = {
  OK: 0,
  /** Unexpected: a bug, or a failure with no better code. */
  INTERNAL: 1,
  /** Bad usage or invalid input (including a host interface that does not exist). */
  USAGE: 2,
  GUEST_NOT_FOUND: 3,
  /** The kernel refused, or a step of the operation failed (and was rolled back). */
  FAILED: 4,
  VERIFY_FAILED: 5,
  /** Something already there conflicts with what was asked. */
  CONFLICT: 6,
  TIMEOUT: 7,
} as const;

const BY_CODE: Record<string, number> = {
  ERR_PW_INVALID_ARGUMENT: EXIT.USAGE,
  ERR_PW_LINK_NOT_FOUND: EXIT.USAGE,
  ERR_PW_GUEST_NOT_FOUND: EXIT.GUEST_NOT_FOUND,
  ERR_PW_NETNS_NOT_FOUND: EXIT.GUEST_NOT_FOUND,
  ERR_PW_NOT_A_NETNS: EXIT.GUEST_NOT_FOUND,
  ERR_PW_ATTACH_FAILED: EXIT.FAILED,
  ERR_PW_APPLY_FAILED: EXIT.FAILED,
  ERR_PW_VERIFY_FAILED: EXIT.VERIFY_FAILED,
  ERR_PW_CONFLICT: EXIT.CONFLICT,
  ERR_PW_TIMEOUT: EXIT.TIMEOUT,
  /** netns delete: something still holds the namespace (it names the holder). */
  ERR_PW_NETNS_BUSY: EXIT.FAILED,
  /** A symbolic link or a foreign mount where a namespace name was expected: refused, nothing done. */
  ERR_PW_UNSAFE_PATH: EXIT.USAGE,
  /** PW_ADDON_PATH, PW_STATE_DIR or DOCKER_HOST names something not root's alone. */
  ERR_PW_UNTRUSTED_ENV: EXIT.USAGE,
  /** The addon cannot be loaded, or an optional package is missing: exit 1, with the fix in the message (not "unexpected"). */
  ERR_PW_ADDON_LOAD: EXIT.INTERNAL,
  ERR_PW_OPTIONAL_MISSING: EXIT.INTERNAL,
};

/** Codes whose message already says what to do: no "this was unexpected" line. */
export const EXPLAINED = new Set(['ERR_PW_ADDON_LOAD', 'ERR_PW_OPTIONAL_MISSING']);

export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && BY_CODE[code] !== undefined) return BY_CODE[code]!;
  // Any other kernel/syscall refusal that carries an errno: EEXIST, EPERM, ENODEV...
  if (err instanceof NetlinkError && typeof err.errno === 'number' && err.errno > 0) return EXIT.FAILED;
  // A syscall outside the addon refused for lack of privilege (opening a namespace's file, say): the same failure.
  if (code === 'EPERM' || code === 'EACCES') return EXIT.FAILED;
  return EXIT.INTERNAL;
}
