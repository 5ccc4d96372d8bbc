// Where output goes and how failures are reported. Errors go to stderr as
// `pipewright: <message>`, followed by what the failure means for the
// system's state; with --json the same error is also printed on stdout as
// {"error": {...}} so a script reading stdout always gets JSON.
import { EXIT, EXPLAINED, exitCodeFor } from './exit-codes';
import type { ParsedKind } from './pipework-args';
import { syncOut } from './sync-out';
import { PRIVILEGE_HINT } from './usage';

export interface Out {
  write(s: string): unknown;
}

export interface Io {
  stdout: Out;
  stderr: Out;
  /** stdin's text, for commands that read it (batch -); absent: the process's own fd 0. */
  readStdin?(): string;
  /** Aborted when whoever asked for the command is gone (the engine's client): a watch then ends early. */
  signal?: AbortSignal;
  /**
   * The caller's whole environment, for commands that read it per call (the
   * CNI plugin's CNI_* variables); absent: the process's own. The engine
   * passes it here rather than into process.env, so nothing of one call's
   * environment is seen by another.
   */
  env?: Readonly<NodeJS.ProcessEnv>;
  /**
   * The engine: takes work a command leaves going once it has answered (the
   * CNI ADD's announcement), lets it finish after the answer is sent, and
   * logs its lines. Absent: the command finishes the work itself before it
   * returns (its process would otherwise exit under it).
   */
  afterAnswer?(work: Promise<string[]>): void;
}

export const processIo: Io = { stdout: syncOut(1), stderr: syncOut(2) };

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function line(out: Out, text = ''): void {
  out.write(`${text}\n`);
}

export interface ErrorContext {
  json: boolean;
  /** What was being run, when the command line got that far. */
  kind?: ParsedKind;
  dryRun?: boolean;
}

interface ErrorShape {
  code?: unknown;
  message?: unknown;
  name?: unknown;
  field?: unknown;
  step?: unknown;
  undone?: unknown;
  leftBehind?: unknown;
  stack?: unknown;
}

/**
 * What the failure means for the system, when the message does not say it
 * already. An attach step failure (AttachError) lists its own rollback.
 */
function aftermath(e: ErrorShape, exit: number, ctx: ErrorContext): string | null {
  if (Array.isArray(e.undone)) return null;
  if (ctx.dryRun) return 'nothing was changed (dry run)';
  if (exit === EXIT.USAGE || exit === EXIT.GUEST_NOT_FOUND || exit === EXIT.CONFLICT) return 'nothing was changed';
  // route and rule send one request, which the kernel applies whole or not at all.
  if ((ctx.kind === 'route' || ctx.kind === 'rule') && exit === EXIT.FAILED) return 'nothing was changed';
  return null;
}

const PRIVILEGE_ERRNOS = new Set([1, 13]);

/**
 * A refusal for lack of privilege (EPERM, EACCES) from the kernel or a
 * syscall, here or as the cause of a failed step: what it needs is said
 * with the original error.
 */
export function lacksPrivilege(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, errno } = e as { code?: unknown; errno?: unknown };
    if (code === 'EPERM' || code === 'EACCES' || (typeof errno === 'number' && PRIVILEGE_ERRNOS.has(Math.abs(errno)))) return true;
  }
  return false;
}

/** Reports err on stderr (and stdout with --json); returns the exit code (exitCode, when a command decides it). */
export function reportError(err: unknown, io: Io, ctx: ErrorContext, exitCode?: number): number {
  const exit = exitCode ?? exitCodeFor(err);
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ErrorShape;
  const original = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  const message = lacksPrivilege(err) ? `${original}: ${PRIVILEGE_HINT}` : original;
  const after = aftermath(e, exit, ctx);
  line(io.stderr, `pipewright: ${message}${after ? ` (${after})` : ''}`);
  if (e.name === 'UsageError') {
    const command = (e as { command?: unknown }).command;
    line(io.stderr, `Run 'pipewright help${typeof command === 'string' ? ` ${command}` : ''}' for the syntax.`);
  }
  if (exit === EXIT.INTERNAL && !(typeof e.code === 'string' && EXPLAINED.has(e.code))) {
    if (process.env.PIPEWRIGHT_DEBUG && typeof e.stack === 'string') line(io.stderr, e.stack);
    else line(io.stderr, 'pipewright: this was unexpected; run with PIPEWRIGHT_DEBUG=1 for the stack trace');
  }
  if (ctx.json) {
    const out: Record<string, unknown> = {
      code: typeof e.code === 'string' ? e.code : 'ERR_PW_INTERNAL',
      message,
      exitCode: exit,
    };
    if (typeof e.field === 'string') out.field = e.field;
    if (typeof e.step === 'string') out.step = e.step;
    if (Array.isArray(e.undone)) out.undone = e.undone;
    if (Array.isArray(e.leftBehind)) out.leftBehind = e.leftBehind;
    if (after) out.aftermath = after;
    printJson(io, { error: out });
  }
  return exit;
}
