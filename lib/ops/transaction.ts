// An explicit undo stack for multi-step operations: each step registers its
// undo only after what it created exists, and a failure undoes in reverse.
// The outcome of every undo is recorded, so an error can say exactly what
// was removed and what (if anything) could not be.

export interface Step<C> {
  /** What the step does, e.g. "create bridge br0 (up)". */
  describe: string;
  /** What undoing it does, when it creates something. */
  undo?: string;
  run(ctx: C): Promise<UndoFn | void>;
}

export type UndoFn = () => Promise<void>;

export interface RollbackReport {
  undone: string[];
  /** Undo actions that failed: these objects were left behind. */
  leftBehind: string[];
}

export class StepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
    readonly rollback: RollbackReport,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * A fault-injection hook for tests, never set in production: called after
 * each step has done its work (its undo already registered) with the
 * step's description. 'fail' makes the step fail there, so the test sees
 * the rollback of a step that completed; 'kill' SIGKILLs the process there
 * instead (no undo runs, as when the OOM killer or an operator's kill -9
 * strikes: the crash tests then check what gc and doctor make of it).
 */
export type Failpoint = (step: string) => 'fail' | 'kill' | undefined;

let failpoint: Failpoint | undefined;

/** Sets (or, with undefined, clears) the fault-injection hook. Not part of the public API. */
export function setFailpoint(fp: Failpoint | undefined): void {
  failpoint = fp;
}

/** A failpoint that fires at the first step whose description contains `part`. */
export function failAt(part: string, action: 'fail' | 'kill' = 'fail'): Failpoint {
  return (step) => (part !== '' && step.includes(part) ? action : undefined);
}

function injected(step: string): boolean {
  const action = failpoint?.(step);
  if (action === 'kill') process.kill(process.pid, 'SIGKILL');
  return action === 'fail';
}

export class InjectedFault extends Error {
  constructor(step: string) {
    super(`injected failure (failpoint) after: ${step}`);
    this.name = 'InjectedFault';
  }
}

/** Runs the steps in order; on the first failure undoes the completed ones in reverse and throws StepError. */
export async function runSteps<C>(steps: Step<C>[], ctx: C): Promise<{ completed: string[] }> {
  const stack: Array<{ describe: string; undo: UndoFn }> = [];
  const completed: string[] = [];
  for (const step of steps) {
    try {
      const undo = await step.run(ctx);
      if (undo) stack.push({ describe: step.undo ?? `undo: ${step.describe}`, undo });
      if (injected(step.describe)) throw new InjectedFault(step.describe);
      completed.push(step.describe);
    } catch (cause) {
      throw new StepError(step.describe, cause, await rollback(stack));
    }
  }
  return { completed };
}

export async function rollback(stack: Array<{ describe: string; undo: UndoFn }>): Promise<RollbackReport> {
  const report: RollbackReport = { undone: [], leftBehind: [] };
  for (const { describe, undo } of [...stack].reverse()) {
    try {
      await undo();
      report.undone.push(describe);
    } catch (e) {
      report.leftBehind.push(`${describe} (failed: ${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return report;
}
