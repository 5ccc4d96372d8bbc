// An explicit undo stack for multi-step operations: each step registers its
// undo only after what it created exists, and a failure undoes in reverse.
// The outcome of every undo is recorded, so an error can say exactly what
// was removed and what (if anything) could not be.
import type { OpCall } from '../core/op-types';

/** What a batched request is sent through: a Handle (runBatch: the requests in order, in one hop). */
export interface BatchTarget {
  runBatch(ops: readonly OpCall[]): Promise<unknown>;
}

/**
 * A step whose whole work is one request to one handle. Consecutive such
 * steps on the same handle go in one hop (a round trip to the addon's
 * thread each saved: the guest's address, link up and default route of an
 * attach are three). Such a step creates nothing that needs an undo of its
 * own when its request succeeds (what it sets goes with what an earlier
 * step's undo removes); when its request fails, `failed` decides (its
 * default: the step fails with that error), and may return an undo.
 */
export interface BatchedRequest {
  via: BatchTarget;
  /** The request; or, for a step whose work is a few requests in order, `calls` (none, when it has nothing to do). */
  call?: OpCall;
  calls?: OpCall[];
  failed?(error: unknown): Promise<UndoFn | void>;
}

/** A batched request's calls, in order. */
function callsOf(req: BatchedRequest): OpCall[] {
  return req.calls ?? (req.call ? [req.call] : []);
}

export interface Step<C> {
  /** What the step does, e.g. "create bridge br0 (up)". */
  describe: string;
  /** What undoing it does, when it creates something. */
  undo?: string;
  run(ctx: C): Promise<UndoFn | void>;
  /**
   * The same work as one request (BatchedRequest), asked for when the first
   * step of its batch is due: it may read what the steps before that batch
   * learnt, never what a step batched with it does. runSteps sends it with
   * the requests of the steps that follow, when they have one for the same
   * handle; a step alone runs its `run`.
   */
  request?(ctx: C): BatchedRequest;
  /** Reads to have answered before `run` (ReadAhead), asked when the batch before this step is; ctx then holds them. */
  readAhead?(ctx: C): ReadAhead[];
  /**
   * Settles before the batch this step may join is formed: what its
   * `request` reads from ctx that another task provides (the CNI ADD's
   * addresses, from IPAM running beside the attach). Should it reject, the
   * step's `request` throws, so the step runs alone, and fails there.
   */
  ready?(ctx: C): Promise<unknown>;
}

export type UndoFn = () => Promise<void>;

/**
 * Read-only requests a step wants answered before it runs (an attach's
 * verification: its read-back), asked as the batch of requests just before
 * it goes out. Reads for the batch's handle ride at its end, after its
 * requests, in the same hop: they see what those did. Reads for another
 * handle are sent beside the batch, so they must not depend on it (the
 * host end, read while the guest's batch runs, is not something that batch
 * touches). Without such a batch just before it, the step reads for itself.
 */
export interface ReadAhead {
  via: BatchTarget;
  calls: OpCall[];
  /** The answers in order, or null when they could not be had: the step then reads for itself. */
  keep(results: unknown[] | null): void;
}

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
  /** The step did its work (and registered its undo): the failpoint may still make it fail. */
  const done = (step: Step<C>, undo: UndoFn | void) => {
    if (undo) stack.push({ describe: step.undo ?? `undo: ${step.describe}`, undo });
    if (injected(step.describe)) throw new InjectedFault(step.describe);
    completed.push(step.describe);
  };
  for (let i = 0; i < steps.length; ) {
    await readyFor(steps, i, ctx);
    const batch = batchAt(steps, i, ctx);
    const next = batch.length > 0 ? steps[batch[batch.length - 1]!.index + 1] : undefined;
    const ahead = next?.readAhead ? readAheadOf(next, ctx) : [];
    if (batch.length > 1 || (batch.length === 1 && ahead.length > 0)) {
      i = await runBatched(batch, done, stack, ahead);
      continue;
    }
    const step = steps[i++]!;
    try {
      done(step, await step.run(ctx));
    } catch (cause) {
      throw new StepError(step.describe, cause, await rollback(stack));
    }
  }
  return { completed };
}

interface Batched<C> {
  step: Step<C>;
  index: number;
  req: BatchedRequest;
}

/** Waits for what the request steps from i on are waiting for (Step.ready); a rejection is the step's to report. */
async function readyFor<C>(steps: Step<C>[], i: number, ctx: C): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (let j = i; j < steps.length && steps[j]!.request; j++) if (steps[j]!.ready) waits.push(steps[j]!.ready!(ctx));
  if (waits.length > 0) await Promise.allSettled(waits);
}

/** The steps from i on whose requests go in one hop: consecutive, each with a request, all to the same handle. */
function batchAt<C>(steps: Step<C>[], i: number, ctx: C): Batched<C>[] {
  const batch: Batched<C>[] = [];
  for (let j = i; j < steps.length; j++) {
    const step = steps[j]!;
    if (!step.request) break;
    let req: BatchedRequest;
    try {
      req = step.request(ctx);
    } catch {
      break; // a request that cannot be made: the step runs alone, and fails there as a step
    }
    if (batch.length > 0 && req.via !== batch[0]!.req.via) break;
    batch.push({ step, index: j, req });
  }
  return batch;
}

/** A step's reads ahead; none when it cannot say them yet (it then reads for itself). */
function readAheadOf<C>(step: Step<C>, ctx: C): ReadAhead[] {
  try {
    return step.readAhead!(ctx).filter((r) => r.calls.length > 0);
  } catch {
    return [];
  }
}

/**
 * Sends a batch; each step completes in order as if run alone (the
 * failpoint is asked after each). When request k fails, the steps before it
 * completed, the ones after it were not sent: step k's `failed` decides, and
 * the steps after it run again from the start of the loop. The next step's
 * reads (ReadAhead) ride at the batch's end or go beside it; they are kept
 * only when the whole batch succeeded, and all have settled before this
 * returns. Returns the index of the next step to run.
 */
async function runBatched<C>(batch: Batched<C>[], done: (step: Step<C>, undo: UndoFn | void) => void, stack: Array<{ describe: string; undo: UndoFn }>, ahead: ReadAhead[] = []): Promise<number> {
  const via = batch[0]!.req.via;
  const riding = ahead.filter((r) => r.via === via);
  const beside = ahead.filter((r) => r.via !== via).map((r) => r.via.runBatch(r.calls).then((res) => res as unknown[], () => null));
  // Each step's calls in order; `ends[b]`: where step b's calls end.
  const calls: OpCall[] = [];
  const ends: number[] = [];
  for (const b of batch) {
    calls.push(...callsOf(b.req));
    ends.push(calls.length);
  }
  let failedAt = batch.length;
  let error: unknown;
  let answers: unknown[] | null = null;
  try {
    answers = (await via.runBatch([...calls, ...riding.flatMap((r) => r.calls)])) as unknown[];
  } catch (e) {
    const k = (e as { failedIndex?: unknown }).failedIndex;
    // A read that failed after every request succeeded: the batch did its work, the step reads for itself.
    if (typeof k === 'number' && k >= calls.length && k < calls.length + riding.reduce((n, r) => n + r.calls.length, 0)) answers = null;
    else {
      // The step whose call failed (the ones before it completed). Without
      // the index nothing says what was done: as if the first failed (its
      // undo-free work goes with the rollback).
      failedAt = typeof k === 'number' && k >= 0 && k < calls.length ? ends.findIndex((end) => k < end) : 0;
      error = e;
    }
  }
  const besideAnswers = await Promise.all(beside);
  if (failedAt === batch.length) {
    let at = calls.length;
    for (const r of riding) {
      r.keep(answers ? answers.slice(at, at + r.calls.length) : null);
      at += r.calls.length;
    }
    ahead.filter((r) => r.via !== via).forEach((r, k) => r.keep(besideAnswers[k]!));
  }
  for (const [k, b] of batch.entries()) {
    if (k > failedAt) break;
    try {
      done(b.step, k < failedAt ? undefined : await failedStep(b.req, error));
    } catch (cause) {
      throw new StepError(b.step.describe, cause, await rollback(stack));
    }
  }
  return batch[Math.min(failedAt, batch.length - 1)]!.index + 1;
}

async function failedStep(req: BatchedRequest, error: unknown): Promise<UndoFn | void> {
  if (!req.failed) throw error;
  return req.failed(error);
}

/** A step whose work is one request (BatchedRequest): alone it sends just that; runSteps batches it with its neighbours. */
export function requestStep<C>(s: { describe: string; undo?: string; request(ctx: C): BatchedRequest; ready?(ctx: C): Promise<unknown> }): Step<C> {
  return {
    ...s,
    run: async (ctx) => {
      const r = s.request(ctx);
      const calls = callsOf(r);
      if (calls.length === 0) return;
      try {
        await r.via.runBatch(calls);
      } catch (e) {
        return failedStep(r, e);
      }
    },
  };
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
