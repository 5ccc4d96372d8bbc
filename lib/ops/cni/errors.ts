// The CNI error value: what a plugin prints on stdout (with a non-zero exit)
// when a verb fails. Codes 0-99 are the spec's well-known ones; 100 and up
// are pipewright's own. Every library error is mapped here, in one place, so
// the rest of the plugin throws what it means and never formats JSON.
import { PipewrightError, NetlinkError } from '../../core/errors';

/** The spec's well-known codes (SPEC.md, "Well-known error codes"). */
export const CNI_ERR = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADDs now. */
  NOT_AVAILABLE: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  NOT_AVAILABLE_LIMITED: 51,
} as const;

/** pipewright's own codes (>= 100). */
export const PW_ERR = {
  /** The attach failed at a step and was rolled back. */
  ATTACH_FAILED: 100,
  /** CHECK (or an attach's read-back) found the attachment not as it should be. */
  VERIFY_FAILED: 101,
  /** Something that is not ours holds a name we need (a link, an interface in the container). */
  CONFLICT: 102,
  /** The delegated IPAM plugin failed (its own code and message are in details). */
  IPAM_FAILED: 103,
  /** The kernel refused a request. */
  KERNEL: 104,
  /** A bug: an error pipewright did not expect. */
  INTERNAL: 199,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details?: string,
  ) {
    super(details ? `${msg}: ${details}` : msg);
    this.name = 'CniError';
  }

  /** The JSON the spec prescribes, in the version the config asked for. */
  toJSON(cniVersion: string): Record<string, unknown> {
    return { cniVersion, code: this.code, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}

/** A bad field in the network configuration: code 7, naming the field and value. */
export function badConfig(field: string, value: unknown, why: string): CniError {
  return new CniError(CNI_ERR.INVALID_CONFIG, `invalid network configuration: ${field}: ${show(value)} ${why}`);
}

/** A field the spec knows but this plugin does not do: code 2. */
export function unsupportedField(field: string, value: unknown, why: string): CniError {
  return new CniError(CNI_ERR.UNSUPPORTED_FIELD, `unsupported field in network configuration: ${field}: ${show(value)} ${why}`);
}

/** A missing or malformed CNI_* variable: code 4. */
export function badEnv(name: string, value: string | undefined, why: string): CniError {
  return new CniError(CNI_ERR.INVALID_ENV, `${name}${value === undefined ? '' : `=${JSON.stringify(value)}`} ${why}`);
}

export function show(value: unknown): string {
  if (value === undefined) return '(missing)';
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** Any error, as the CNI error it stands for. */
/** The addon's operations on files (native/addon_state.cc): state files, locks, the shared stores. */
const FILE_OPS = /^(state|lock|lockedDir)\./;

export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof PipewrightError) {
    const field = e.field !== undefined ? ` (field ${e.field})` : '';
    switch (e.code) {
      case 'ERR_PW_INVALID_ARGUMENT':
        return new CniError(CNI_ERR.INVALID_CONFIG, e.message);
      case 'ERR_PW_GUEST_NOT_FOUND':
      case 'ERR_PW_NETNS_NOT_FOUND':
      case 'ERR_PW_NOT_A_NETNS':
        return new CniError(CNI_ERR.UNKNOWN_CONTAINER, `the container's network namespace cannot be used: ${e.message}`);
      case 'ERR_PW_CONFLICT':
        return new CniError(PW_ERR.CONFLICT, `conflict${field}: ${e.message}`);
      case 'ERR_PW_VERIFY_FAILED':
        return new CniError(PW_ERR.VERIFY_FAILED, e.message);
      case 'ERR_PW_ATTACH_FAILED':
        return new CniError(PW_ERR.ATTACH_FAILED, e.message);
      case 'ERR_PW_UNTRUSTED_ENV':
      case 'ERR_PW_UNSAFE_PATH':
        return new CniError(CNI_ERR.IO_FAILURE, e.message);
      case 'ERR_PW_TIMEOUT':
        return new CniError(CNI_ERR.TRY_AGAIN_LATER, e.message);
      default:
        return new CniError(PW_ERR.ATTACH_FAILED, e.message);
    }
  }
  // The addon's own files (the state directory, locks, the IPAM store) fail as I/O, not as the kernel's network refusal.
  if (e instanceof NetlinkError && FILE_OPS.test(e.op ?? '')) return new CniError(CNI_ERR.IO_FAILURE, `pipewright's state on disk could not be used: ${e.message}`);
  if (e instanceof NetlinkError) return new CniError(PW_ERR.KERNEL, `the kernel refused: ${e.message}`);
  const err = e as { code?: unknown; message?: unknown };
  if (typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code)) return new CniError(CNI_ERR.IO_FAILURE, String(err.message));
  return new CniError(PW_ERR.INTERNAL, `unexpected error: ${e instanceof Error ? e.message : String(e)}`, e instanceof Error && process.env.PIPEWRIGHT_DEBUG ? e.stack : undefined);
}
