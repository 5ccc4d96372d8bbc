// Error types. Every failure pipewright reports is one of two classes:
//  - NetlinkError: the kernel (or a syscall) refused. `code` is the errno name
//    ('EEXIST', 'ENODEV', ...) or an ERR_PW_* code the addon chose for a
//    failure it explains itself (ERR_PW_NOT_A_NETNS, ERR_PW_LINK_NOT_FOUND).
//  - PipewrightError: the library refused before anything was sent (bad input)
//    or found something wrong afterwards (verification). `code` is ERR_PW_*.
// Tests and callers match on `code`, never on message text.

export type PipewrightErrorCode =
  | 'ERR_PW_INVALID_ARGUMENT'
  | 'ERR_PW_LINK_NOT_FOUND'
  | 'ERR_PW_NETNS_NOT_FOUND'
  | 'ERR_PW_GUEST_NOT_FOUND'
  | 'ERR_PW_CONFLICT'
  | 'ERR_PW_ATTACH_FAILED'
  /** A declarative apply (bridge, overlay, topology) failed at a step and was rolled back. */
  | 'ERR_PW_APPLY_FAILED'
  | 'ERR_PW_NETNS_EXISTS'
  | 'ERR_PW_NOT_A_NETNS'
  | 'ERR_PW_CLOSED'
  | 'ERR_PW_VERIFY_FAILED'
  | 'ERR_PW_TIMEOUT'
  /** Something still keeps a namespace alive after its name was removed. */
  | 'ERR_PW_NETNS_BUSY'
  /** A path pipewright will not act through: a symbolic link, a mount that is not a namespace name. */
  | 'ERR_PW_UNSAFE_PATH'
  /** Running as root, a path the environment names (PW_ADDON_PATH, PW_STATE_DIR, DOCKER_HOST) is not root's alone. */
  | 'ERR_PW_UNTRUSTED_ENV'
  | 'ERR_PW_INTERNAL';

export class PipewrightError extends Error {
  readonly code: PipewrightErrorCode;
  /** The input field the error is about ('name', 'peer.name', 'address'). */
  readonly field?: string;
  /** The offending value, as given. */
  readonly value?: unknown;

  constructor(code: PipewrightErrorCode, message: string, details: { field?: string; value?: unknown; cause?: unknown } = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'PipewrightError';
    this.code = code;
    if (details.field !== undefined) this.field = details.field;
    if ('value' in details) this.value = details.value;
  }
}

/** Bad input, caught before anything reached the kernel. */
export function invalidArgument(field: string, value: unknown, why: string): PipewrightError {
  return new PipewrightError('ERR_PW_INVALID_ARGUMENT', `${field}: ${show(value)} ${why}`, { field, value });
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A refusal from the kernel or a syscall. Constructed by the addon (the class
 * is handed to it at load time), which sets the properties below.
 */
export class NetlinkError extends Error {
  /** 'EEXIST', 'ENODEV', ... or an ERR_PW_* code. */
  declare readonly code: string;
  /** Positive errno, when there is one. */
  declare readonly errno?: number;
  /** The syscall, or 'netlink' for a kernel reply. */
  declare readonly syscall?: string;
  /** The operation: 'link.add', 'netns.open', ... */
  declare readonly op?: string;
  /** The kernel's extended-ACK message. */
  declare readonly extack?: string;
  /** Offset of the offending attribute in the request, from extended ACK. */
  declare readonly offset?: number;
  /** The API field that attribute encodes ('mtu', 'peer.name'). */
  declare readonly field?: string;
  /** What the operation concerned: a link name, an address, a path. */
  declare readonly object?: string;
  /** Our own explanation, when the kernel gave none. */
  declare readonly detail?: string;
  /** For a batch: the results of the operations that completed. */
  declare readonly completed?: unknown[];
  /** For a batch: the position of the operation that failed. */
  declare readonly failedIndex?: number;

  constructor(message: string) {
    super(message);
    this.name = 'NetlinkError';
  }
}

export function isNetlinkError(e: unknown, code?: string): e is NetlinkError {
  return e instanceof NetlinkError && (code === undefined || e.code === code);
}
