// `pipewright tc GUEST ARGS...`: traffic control has no netlink codec here,
// so, as pipework did, run `tc` itself inside the guest's network namespace.
// nsenter enters it through our already-validated namespace fd (never by PID
// again), and tc's own exit code is passed through.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import type { Cli } from '../main';
import { parsePipeworkArgs, Parsed } from '../pipework-args';
import type { Io } from '../report';
import { PipewrightError } from '../../core/errors';

export type TcParsed = Extract<Parsed, { kind: 'tc' }>;

export function register(program: Command, cli: Cli): void {
  program
    .command('tc')
    .description("run tc inside a guest's network namespace (its exit code is passed through)")
    .argument('<guest>', 'container name/ID, netns name, PID, nsfs path, ...')
    .argument('<args...>', 'tc arguments, e.g. qdisc add dev eth1 root netem delay 100ms')
    .allowUnknownOption()
    .passThroughOptions()
    .action((guest: string, args: string[]) => cli.execute(parsePipeworkArgs(['tc', guest, ...args])));
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
