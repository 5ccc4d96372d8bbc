// Engine on and off for the CLI suites (issue 15): the test files that
// drive the command line run a second time with PW_TEST_VIA_ENGINE=1, so
// every command line goes through the native client to an engine
// (test/helpers/cli.ts), and must give the same results as with the Node CLI
// (the same assertions pass). The log the helper keeps shows the engine did
// serve them: a run where every command fell back to the Node CLI would
// prove nothing.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
/** Every live test file whose subject is the command line (they run the CLI through test/helpers/cli.ts). */
const CLI_SUITES = ['cli', 'cli-manners', 'cli-forensics', 'attach-names', 'attach-rerun', 'plan-fields', 'detach-ownership'].map((f) => `test/live/${f}.test.ts`);

/** The failed assertions of a tap run's output, each with the lines that say why: the tail alone may not show them. */
function failuresIn(out: string): string {
  const lines = out.split('\n');
  const picked: string[] = [];
  lines.forEach((l, i) => {
    if (/^\s*not ok /.test(l)) picked.push(...lines.slice(i, i + 25), '');
  });
  return picked.join('\n').slice(0, 12000) || '(no "not ok" line: the run itself failed)';
}

t.setTimeout(3_000_000); // the suites run whole, each command line with an engine of its own

t.test('the CLI suites through the engine: the same assertions pass, and the engine served the commands', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-via-engine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'served.log');
  // Each file is run as tap runs it (this process's node options: the
  // TypeScript loader, own-state-dir.js; tap's environment, its time limit
  // included), one after the other, and not through a second tap runner: a
  // runner starts by deleting the project's .tap/processinfo, which the
  // runner of this suite and the files beside this one are writing to
  // (ENOTEMPTY, a failed run, when one wrote there meanwhile).
  let out = '';
  const failed: string[] = [];
  for (const file of CLI_SUITES) {
    const child = spawn(process.execPath, [...process.execArgv, file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PW_TEST_VIA_ENGINE: '1', PW_TEST_VIA_ENGINE_LOG: log },
    });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) failed.push(`${file} (exit ${code})`);
  }
  t.same(failed, [], 'every assertion of the CLI suites passes with the engine on', { failures: failuresIn(out), output: out.slice(-3000) });

  t.ok(existsSync(log), 'the helper recorded the command lines');
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  const served = lines.filter((l) => /^"served": [1-9]/.test(l)).length;
  t.comment(`${lines.length} command lines, ${served} served by an engine; the others:\n${lines.filter((l) => !/^"served": [1-9]/.test(l)).slice(0, 40).join('\n')}`);
  // Some fall back by design: 'engine' and 'repro' run in their own process, a caller with another state
  // directory or namespace is refused, and a test that runs two at once in one namespace finds the first's engine.
  t.ok(lines.length >= 80, `the suites ran many command lines (${lines.length})`);
  t.ok(served >= lines.length * 0.7, `the engine served most of them (${served} of ${lines.length})`);
});
