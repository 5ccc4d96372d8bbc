// The engine's wire format, shared by its server (server.ts), the library's
// client (client.ts) and the native client (native/client/pipewright_fast.cc).
// Every frame is a 4-byte big-endian length, then one kind byte, then the
// rest (length counts the kind byte). Structured frames carry JSON; output
// frames carry raw bytes, so nothing is re-encoded on the way.
//   client -> engine: 'q' request, then 'i' (stdin's bytes) if it said stdin;
//                     'y' go, sent once 'a' came;
//   engine -> client: 'a' accepted, 'g' started, 'o' stdout, 'e' stderr,
//                     'x' exit {exitCode}, 'r' refused (nothing was run).
// Why 'y': a client that waits too long for 'a' runs the command itself. An
// engine that was stopped (SIGSTOP, swapped out) may wake later and find the
// request in its socket; it must not run it a second time. So the engine
// runs a command only after the client's 'y', and a client that sent 'y'
// never runs it itself: exactly one of them runs it.
// A request may instead carry `deadline`: the client's CLOCK_MONOTONIC, in
// microseconds, after which it stops waiting for 'a'. An engine that shares
// the client's clock (the same time namespace) then needs no 'y': it writes
// 'a' (saying `committed`), reads the clock, and runs the command only if
// that reading is before the deadline; otherwise it refuses ('r'). The
// client waits for 'a' until the deadline has passed and looks once more
// after it: an 'a' written before the deadline is in its socket by then, so
// it never runs a command the engine runs. An 'a' without `committed` (an
// older engine, or another clock) still wants the 'y'. This spares the
// round trip of the 'y' on every command.
// A request carries its protocol version `v`; an engine refuses versions it
// does not speak, and a client falls back to running the command itself.
// Version 2 is version 1 where `env` is the caller's whole environment and
// the command reads it from there, never from the engine's process (the CNI
// plugin: its CNI_* variables are per call); an engine that only speaks 1
// refuses it, so its client falls back rather than run a plugin call
// without its environment.
import { PipewrightError } from '../../core/errors';

export const PROTOCOL_VERSION = 1;
/** A command line whose command reads the request's environment (the CNI plugin's calls). */
export const PROTOCOL_VERSION_OWN_ENV = 2;
const SPOKEN: readonly number[] = [PROTOCOL_VERSION, PROTOCOL_VERSION_OWN_ENV];

/** Largest frame either side accepts (a batch plan on stdin fits easily). */
export const MAX_FRAME = 64 * 1024 * 1024;

export const FRAME = {
  request: 'q',
  stdin: 'i',
  go: 'y',
  accepted: 'a',
  started: 'g',
  stdout: 'o',
  stderr: 'e',
  exit: 'x',
  refused: 'r',
} as const;

export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

/** A command line to run, as the client saw it. */
export interface CliRequest {
  /** 1, or 2: the command reads `env` as its whole environment (PROTOCOL_VERSION_OWN_ENV). */
  v: number;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** An 'i' frame with stdin's bytes follows. */
  stdin: boolean;
  /** The client's CLOCK_MONOTONIC in µs after which it no longer waits for 'a' (see above); without it, the engine waits for 'y'. */
  deadline?: number;
}

/** A question to the engine itself, not a command line. */
export interface ControlRequest {
  v: number;
  control: 'status';
}

export type Request = CliRequest | ControlRequest;

export function encodeFrame(kind: FrameKind, payload: string | Buffer = ''): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head.write(kind, 4, 'latin1');
  return Buffer.concat([head, body]);
}

export interface Frame {
  kind: string;
  payload: Buffer;
}

/** Cuts a byte stream into frames. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the frames now complete. Throws on a frame no peer of ours would send. */
  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.#buf.length >= 5) {
      const len = this.#buf.readUInt32BE(0);
      if (len < 1 || len > MAX_FRAME) throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', `engine protocol: a frame of ${len} bytes (at most ${MAX_FRAME})`, { field: 'frame', value: len });
      if (this.#buf.length < 4 + len) break;
      out.push({ kind: String.fromCharCode(this.#buf[4]!), payload: this.#buf.subarray(5, 4 + len) });
      this.#buf = this.#buf.subarray(4 + len);
    }
    return out;
  }
}

const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every((w) => typeof w === 'string');

/** A 'q' frame's request, checked field by field. */
export function parseRequest(payload: Buffer): Request {
  let o: unknown;
  try {
    o = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', `engine protocol: the request is not JSON (${(e as Error).message})`, { field: 'request' });
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', 'engine protocol: the request must be an object', { field: 'request', value: o });
  const r = o as Record<string, unknown>;
  if (typeof r.v !== 'number' || !SPOKEN.includes(r.v)) throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', `engine protocol: version ${String(r.v)} is not spoken here (this engine speaks ${SPOKEN.join(', ')})`, { field: 'v', value: r.v });
  if (r.control !== undefined) {
    if (r.control !== 'status') throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', `engine protocol: unknown control request '${String(r.control)}'`, { field: 'control', value: r.control });
    return { v: PROTOCOL_VERSION, control: 'status' };
  }
  if (!isStringArray(r.argv)) throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', 'engine protocol: argv must be an array of strings', { field: 'argv', value: r.argv });
  if (typeof r.cwd !== 'string' || !r.cwd.startsWith('/')) throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', 'engine protocol: cwd must be an absolute path', { field: 'cwd', value: r.cwd });
  const env = r.env ?? {};
  if (typeof env !== 'object' || env === null || Object.values(env).some((x) => typeof x !== 'string'))
    throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', 'engine protocol: env must map names to strings', { field: 'env', value: env });
  if (r.deadline !== undefined && !(Number.isSafeInteger(r.deadline) && (r.deadline as number) >= 0))
    throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', 'engine protocol: deadline must be a whole number of microseconds', { field: 'deadline', value: r.deadline });
  const req: CliRequest = { v: r.v, argv: r.argv, cwd: r.cwd, env: env as Record<string, string>, stdin: r.stdin === true };
  if (r.deadline !== undefined) req.deadline = r.deadline as number;
  return req;
}

/** CLOCK_MONOTONIC in microseconds: the clock a request's deadline is on (libuv's hrtime reads it). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
