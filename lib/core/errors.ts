// Error types. Every failure pipewright reports is one of two classes:
//  - NetlinkError: the kernel (or a syscall) refused. `code` is the errno name
//    ('EEXIST', 'ENODEV', ...) or, for a failure the addon explains itself,
//    the ERR_PW_* code nativeError below gives its kind (the addon reports
//    facts; codes and classes are decided here).
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
  /** The native addon is missing for this system or cannot be loaded (the message says how to build it). */
  | 'ERR_PW_ADDON_LOAD'
  /** An optional package a feature needs is not installed (@viz-js/viz for SVG). */
  | 'ERR_PW_OPTIONAL_MISSING'
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

/** What the addon reports about a failure (native/js_error.cc). */
export interface NativeFailure {
  /** A refusal of the addon's own: 'invalid-argument', 'not-a-netns', ... */
  kind?: string;
  errno?: number;
  /** The errno's symbolic name, from the C library ('EEXIST'). */
  errnoName?: string;
  syscall?: string;
  op?: string;
  extack?: string;
  offset?: number;
  field?: string;
  object?: string;
  detail?: string;
  completed?: unknown[];
  failedIndex?: number;
}

/** The code each kind of the addon's own refusals is reported with. */
const NATIVE_KIND_CODES: Record<string, PipewrightErrorCode> = {
  'invalid-argument': 'ERR_PW_INVALID_ARGUMENT',
  'link-not-found': 'ERR_PW_LINK_NOT_FOUND',
  'netns-not-found': 'ERR_PW_NETNS_NOT_FOUND',
  'netns-exists': 'ERR_PW_NETNS_EXISTS',
  'not-a-netns': 'ERR_PW_NOT_A_NETNS',
  'unsafe-path': 'ERR_PW_UNSAFE_PATH',
  internal: 'ERR_PW_INTERNAL',
};

/**
 * Turns what the addon reports into the error callers see (the addon calls
 * it, on the JS thread): a NetlinkError, coded by the refusal's kind, else
 * by the errno's name; a failure with neither is internal.
 */
export function nativeError(message: string, facts: NativeFailure): NetlinkError {
  const { kind, errnoName, ...rest } = facts;
  const code = (kind !== undefined ? NATIVE_KIND_CODES[kind] : undefined) ?? errnoName ?? 'ERR_PW_INTERNAL';
  return Object.assign(new NetlinkError(message), { code, ...rest });
}

export function isNetlinkError(e: unknown, code?: string): e is NetlinkError {
  return e instanceof NetlinkError && (code === undefined || e.code === code);
}
