// `pipewright tc GUEST ARGS...`: traffic control has no netlink codec here,
// so, as pipework did, run `tc` itself inside the guest's network namespace.
// nsenter enters it through our already-validated namespace fd (never by PID
// again), and tc's own exit code is passed through.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { CommandContext } from '../registry';
import { helpFor } from '../help';
import { EXIT } from '../exit-codes';
import { parsePipeworkArgs, Parsed } from '../pipework-args';
import type { Io } from '../report';
import { PipewrightError } from '../../core/errors';

export type TcParsed = Extract<Parsed, { kind: 'tc' }>;

/** `pipewright tc GUEST ...`: the words go through pipework's grammar, as `pipework tc` did. */
export async function run({ argv, io }: CommandContext): Promise<number> {
  const p = parsePipeworkArgs(['tc', ...argv]);
  if (p.kind === 'help') {
    io.stdout.write(helpFor('tc'));
    return EXIT.OK;
  }
  return runTc(p as TcParsed, io);
}

function runIn(nsPath: string, args: string[], io: Io): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${nsPath}`, 'tc', ...args], { stdio: ['inherit', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => io.stdout.write(b.toString()));
    child.stderr.on('data', (b: Buffer) => io.stderr.write(b.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new PipewrightError('ERR_PW_INTERNAL', e.code === 'ENOENT' ? 'nsenter (util-linux) is not installed; it is needed to run tc inside the guest' : `cannot run nsenter: ${e.message}`, { cause: e })),
    );
    // A signal-killed tc reports 128 + signal number, as a shell would.
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

export async function runTc(p: TcParsed, io: Io): Promise<number> {
  // Lazy: this module loads for every commander command (help, attach ...); guest resolution only for tc.
  const { resolveGuest } = await import('../../ops/guest');
  const g = await resolveGuest(p.guest);
  try {
    return await runIn(`/proc/${process.pid}/fd/${g.netns.fd}`, p.args, io);
  } finally {
    if (g.owned) await g.netns.close();
  }
}
