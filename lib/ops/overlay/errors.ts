// A declarative apply that failed part-way: which step failed, and what its
// rollback removed (or could not remove). The code says whether the kernel
// refused a step (ERR_PW_APPLY_FAILED, exit 4) or the read-back found
// something other than declared (ERR_PW_VERIFY_FAILED, exit 5).
import { PipewrightError } from '../../core/errors';
import { StepError } from '../transaction';

export class ApplyError extends PipewrightError {
  constructor(
    message: string,
    readonly step: string,
    readonly undone: string[],
    readonly leftBehind: string[],
    cause: unknown,
  ) {
    const verify = cause instanceof PipewrightError && cause.code === 'ERR_PW_VERIFY_FAILED';
    super(verify ? 'ERR_PW_VERIFY_FAILED' : 'ERR_PW_APPLY_FAILED', message, { cause });
    this.name = 'ApplyError';
  }
}

/** The transaction's failure, said for an apply: the step, the cause, and the rollback. */
export function applyError(e: unknown): unknown {
  if (!(e instanceof StepError)) return e;
  const { undone, leftBehind } = e.rollback;
  const cause = e.cause instanceof Error ? e.cause.message : String(e.cause);
  const after = leftBehind.length
    ? `rolled back, but left behind: ${leftBehind.join('; ')}`
    : undone.length
      ? `everything it had done was undone (${undone.length} step${undone.length === 1 ? '' : 's'}); nothing was left behind`
      : 'nothing had been changed';
  return new ApplyError(`step '${e.step}' failed: ${cause}; ${after}`, e.step, undone, leftBehind, e.cause);
}
