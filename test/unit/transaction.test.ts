// The transaction runner (lib/ops/transaction.ts) on its own, through fake
// handles that record their hops: the undo stack, consecutive requests in
// one hop, a step's reads asked with the batch before it, and a step of
// several requests that waits for what it needs. attach's use of it is in
// attach-rollback.test.ts.
import t from 'tap';
import { failAt, requestStep, runSteps, setFailpoint, StepError, type Step } from '../../lib/ops/transaction';
import type { OpCall } from '../../lib/core/op-types';

t.test('runSteps undoes the completed steps in reverse, and only those', async (t) => {
  for (let failing = 0; failing < 4; failing++) {
    const done: string[] = [];
    const steps: Array<Step<null>> = [0, 1, 2, 3].map((i) => ({
      describe: `step ${i}`,
      undo: `undo ${i}`,
      run: async () => {
        if (i === failing) throw new Error(`step ${i} broke`);
        done.push(`do ${i}`);
        return async () => {
          done.push(`undo ${i}`);
        };
      },
    }));
    const err = await runSteps(steps, null).then(() => null, (e: unknown) => e);
    t.ok(err instanceof StepError);
    const expected = [...Array(failing).keys()].map((i) => `undo ${i}`).reverse();
    t.same((err as StepError).rollback.undone, expected, `failing at ${failing}: undone ${expected.join(', ') || 'nothing'}`);
    t.same(done, [...[...Array(failing).keys()].map((i) => `do ${i}`), ...expected]);
  }
});


/** A fake handle for the runner: records each hop's tags (as `name:tag` when named), refuses the op tagged failing(), answers `tag!` (after done(tag)). */
function taggedTarget(hops: string[][], failing: () => string | null, name = '', done?: (tag: string) => void) {
  return {
    async runBatch(ops: readonly OpCall[]) {
      hops.push(ops.map((o) => `${name ? `${name}:` : ''}${(o.args as { tag: string }).tag}`));
      const results: unknown[] = [];
      for (const [i, o] of ops.entries()) {
        const tag = (o.args as { tag: string }).tag;
        if (tag === failing()) throw Object.assign(new Error(`${tag} refused`), { completed: results, failedIndex: i });
        done?.(tag);
        results.push(`${tag}!`);
      }
      return results;
    },
  };
}

/** Steps of one request each through a fake handle that records its hops and fails the op named `failing`. */
function requestSteps(failing: string | null, log: string[], recover?: () => Promise<() => Promise<void>>) {
  const hops: string[][] = [];
  const via = taggedTarget(hops, () => failing, '', (tag) => log.push(`do ${tag}`));
  const req = (tag: string): Step<null> =>
    requestStep({ describe: tag, request: () => ({ via, call: { op: 'link.set', args: { tag } } as unknown as OpCall, ...(tag === 'b' && recover ? { failed: recover } : {}) }) });
  const steps: Array<Step<null>> = [
    {
      describe: 'make',
      undo: 'remove',
      run: async () => {
        log.push('make');
        return async () => void log.push('remove');
      },
    },
    req('a'),
    req('b'),
    req('c'),
    { describe: 'last', run: async () => void log.push('last') },
  ];
  return { steps, hops };
}

t.test('runSteps sends consecutive requests in one hop; a failure inside it is its own step', async (t) => {
  const log: string[] = [];
  const ok = requestSteps(null, log);
  t.same((await runSteps(ok.steps, null)).completed, ['make', 'a', 'b', 'c', 'last']);
  t.same(ok.hops, [['a', 'b', 'c']], 'a, b and c in one hop');

  log.length = 0;
  const bad = requestSteps('b', log);
  const err = await runSteps(bad.steps, null).then(() => null, (e: unknown) => e);
  t.ok(err instanceof StepError);
  t.equal((err as StepError).step, 'b', 'the step whose request failed');
  t.match((err as StepError).cause, { message: 'b refused' });
  t.same((err as StepError).rollback.undone, ['remove'], 'what came before is undone');
  t.same(log, ['make', 'do a', 'remove'], 'c and last never ran');

  // A step that handles its own failure (the default route's EEXIST): its undo counts, the rest go on in a new hop.
  log.length = 0;
  const recovered = requestSteps('b', log, async () => {
    log.push('recover b');
    return async () => void log.push('undo b');
  });
  t.same((await runSteps(recovered.steps, null)).completed, ['make', 'a', 'b', 'c', 'last']);
  t.same(recovered.hops, [['a', 'b', 'c'], ['c']], 'c sent again, alone, after b recovered');
  t.same(log, ['make', 'do a', 'recover b', 'do c', 'last']);

  // The failpoint fires after a batched step as after any other: b's recovery undone, then make's.
  log.length = 0;
  const again = requestSteps('b', log, async () => async () => void log.push('undo b'));
  setFailpoint(failAt('c'));
  const injected = await runSteps(again.steps, null).then(() => null, (e: unknown) => e).finally(() => setFailpoint(undefined));
  t.equal((injected as StepError).step, 'c');
  t.same((injected as StepError).rollback.undone, ['undo: b', 'remove']);
});

t.test("runSteps asks a step's reads with the batch before it: riding its hop, or beside it; kept only when the batch succeeded", async (t) => {
  const target = (name: string, hops: string[][], failing: () => string | null) => taggedTarget(hops, failing, name);
  let failing: string | null = null;
  const hops: string[][] = [];
  const g = target('g', hops, () => failing);
  const h = target('h', hops, () => failing);
  const call = (tag: string) => ({ op: 'link.get', args: { tag } }) as unknown as OpCall;
  const kept: Array<{ ride: unknown[] | null | undefined; beside: unknown[] | null | undefined }> = [];
  const steps = (lone = false): Array<Step<null>> => {
    const seen: { ride?: unknown[] | null; beside?: unknown[] | null } = {};
    return [
      requestStep({ describe: 'up', request: () => ({ via: g, call: call('up') }) }),
      ...(lone ? [{ describe: 'lone', run: async () => undefined }] : []),
      {
        describe: 'check',
        readAhead: () => [
          { via: g, calls: [call('r1'), call('r2')], keep: (r) => (seen.ride = r) },
          { via: h, calls: [call('he')], keep: (r) => (seen.beside = r) },
        ],
        run: async () => void kept.push({ ride: seen.ride, beside: seen.beside }),
      },
    ];
  };

  t.same((await runSteps(steps(), null)).completed, ['up', 'check']);
  t.same(hops, [['h:he'], ['g:up', 'g:r1', 'g:r2']], 'the reads for the same handle ride after the request; the other goes beside');
  t.same(kept.pop(), { ride: ['r1!', 'r2!'], beside: ['he!'] }, 'each answer kept for the step');

  // A read that fails after the request succeeded: the request's step is done; the step gets null and reads for itself.
  hops.length = 0;
  failing = 'r2';
  t.same((await runSteps(steps(), null)).completed, ['up', 'check']);
  t.same(kept.pop(), { ride: null, beside: ['he!'] });

  // The request fails: nothing read is kept, and nothing runs past the rollback.
  failing = 'up';
  const err = await runSteps(steps(), null).then(() => null, (e: unknown) => e);
  t.equal((err as StepError).step, 'up');
  t.equal(kept.length, 0, 'check never ran');

  // Not just after a batch (a step without a request between): no read ahead; the step reads for itself.
  failing = null;
  hops.length = 0;
  t.same((await runSteps(steps(true), null)).completed, ['up', 'lone', 'check']);
  t.same(hops, [['g:up']], 'the request alone in its hop');
  t.same(kept.pop(), { ride: undefined, beside: undefined });
});

t.test('runSteps: a step of several requests waits for what it needs (ready), joins the hop, and a failure inside it is its own', async (t) => {
  const hops: string[][] = [];
  let failing: string | null = null;
  const g = taggedTarget(hops, () => failing);
  const call = (tag: string) => ({ op: 'link.get', args: { tag } }) as unknown as OpCall;
  const log: string[] = [];
  const steps = (settings: Promise<string[]>): Array<Step<null>> => {
    let known: string[] | undefined;
    const ready = () => settings.then((s) => (known = s));
    ready().catch(() => undefined);
    return [
      {
        describe: 'create',
        run: async () => {
          log.push('create');
          return async () => void log.push('undo create');
        },
      },
      requestStep({ describe: 'up', request: () => ({ via: g, call: call('up') }) }),
      {
        describe: 'settings',
        ready,
        request: () => {
          if (!known) throw new Error('not known');
          return { via: g, calls: known.map(call) };
        },
        run: async () => {
          const s = await ready();
          if (s.length) await g.runBatch(s.map(call));
        },
      },
      { describe: 'check', readAhead: () => [{ via: g, calls: [call('r1')], keep: () => undefined }], run: async () => undefined },
    ];
  };
  const later = <T>(v: T) => new Promise<T>((r) => setImmediate(() => r(v)));

  // Known only after the runner got to the hop: it waited, then sent all of it at once.
  t.same((await runSteps(steps(later(['a1', 'a2'])), null)).completed, ['create', 'up', 'settings', 'check']);
  t.same(hops, [['up', 'a1', 'a2', 'r1']], "the request, the step's two, then the reads: one hop");

  // Nothing to add: the step still belongs to the hop, with no request of its own.
  hops.length = 0;
  t.same((await runSteps(steps(later([])), null)).completed, ['create', 'up', 'settings', 'check']);
  t.same(hops, [['up', 'r1']]);

  // The second of its requests refused: 'up' completed, the step failed, the rollback ran.
  hops.length = 0;
  log.length = 0;
  failing = 'a2';
  const refused = await runSteps(steps(later(['a1', 'a2'])), null).then(() => null, (e: unknown) => e);
  t.ok(refused instanceof StepError);
  t.equal((refused as StepError).step, 'settings', 'the failure is the step whose request failed');
  t.same(log, ['create', 'undo create']);

  // What it waits for fails: the requests before it go in their own hop, then it fails alone, with that error.
  hops.length = 0;
  log.length = 0;
  failing = null;
  const gone = await runSteps(steps(Promise.reject(new Error('IPAM said no'))), null).then(() => null, (e: unknown) => e);
  t.equal((gone as StepError).step, 'settings');
  t.match(((gone as StepError).cause as Error).message, 'IPAM said no');
  t.same(hops, [['up']], 'nothing of it was sent');
  t.same(log, ['create', 'undo create']);
});
