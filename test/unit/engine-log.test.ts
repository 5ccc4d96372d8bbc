// The engine's log (lib/cli/engine-log.ts): a stderr pipe nobody reads never
// blocks the writer; what the pipe cannot take waits (bounded), is written
// in order once the reader is back, and what did not fit is counted and
// said. The pipe here is handed over blocking, as a supervisor's would be.
import t from 'tap';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineLog, MAX_QUEUED_BYTES } from '../../lib/cli/engine-log';

const LINES = 400;
const lineOf = (i: number) => `${`line ${i} `.padEnd(999, 'x')}\n`;

/** Everything the pipe holds now, read without waiting. */
function readAvailable(fd: number): string {
  const buf = Buffer.alloc(1 << 16);
  let text = '';
  for (;;) {
    try {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return text;
      text += buf.toString('utf8', 0, n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw e;
    }
  }
}

t.test('a pipe nobody reads: writes return at once; the rest follows in order, and the drop is said', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-engine-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'stderr');
  execFileSync('mkfifo', ['-m', '0600', fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY); // blocking, as handed over
  t.teardown(() => {
    closeSync(writer);
    closeSync(reader);
  });
  const log = engineLog(writer);
  // With a blocking write, the first line past the pipe's 64 KiB would hang this test.
  for (let i = 0; i < LINES; i++) log.write(lineOf(i));
  t.ok(log.dropped > 0, `lines past the bound are dropped (${log.dropped})`);
  t.ok(log.queuedBytes > 0 && log.queuedBytes <= MAX_QUEUED_BYTES, `what waits is bounded (${log.queuedBytes} bytes)`);
  const dropped = log.dropped;

  // The reader comes back: it reads until the writer has nothing left and the drop was said.
  let text = '';
  const said = /log line\(s\) dropped/;
  while (log.queuedBytes > 0 || !said.test(text)) {
    text += readAvailable(reader);
    await new Promise((r) => setTimeout(r, 5));
  }
  text += readAvailable(reader);
  const got = text.split('\n').slice(0, -1);
  const kept = LINES - dropped;
  t.equal(got.length, kept + 1, 'every line kept, then one line about the drop');
  t.same(got.slice(0, kept), Array.from({ length: kept }, (_, i) => lineOf(i).slice(0, -1)), 'the kept lines are the first ones, whole and in order');
  t.equal(got[kept], `pipewright engine: ${dropped} log line(s) dropped: stderr was not being read`, 'the drop is counted');
  t.equal(log.dropped, dropped, 'nothing dropped once the reader was back');

  // From now on a line goes out at once.
  log.write('after\n');
  t.equal(readAvailable(reader), 'after\n');
});

t.test('a regular file is written at once, as it is', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-engine-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'log');
  const fd = openSync(file, 'a');
  const log = engineLog(fd);
  log.write('one\n');
  log.write('two\n');
  closeSync(fd);
  t.equal(readFileSync(file, 'utf8'), 'one\ntwo\n');
  t.equal(log.queuedBytes, 0);
});
