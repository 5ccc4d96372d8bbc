// `pipewright engine`: the resident engine (lib/ops/engine). It serves
// pipewright command lines on a unix socket in the state directory, so a
// call costs a connection instead of a Node start (the native client,
// pipewright-fast, sends them), and keeps every attachment it follows as it
// was made. One engine per state directory and network namespace (a lock); SIGTERM or SIGINT stops
// it cleanly. Under systemd the socket can be handed over (socket
// activation: LISTEN_FDS). `pipewright engine status` asks a running one;
// `pipewright engine client` prints where the native client is.
import { Engine, EngineServer, Reconciler, ENGINE_DIR, engineLockName, defaultSocketPath, takeOverFromPredecessor } from '../../ops/engine';
import { ownNetnsId } from '../../ops/ownership';
import { tryLockStateFile } from '../../core/state-files';
import { stateDir } from '../../core/state-dir';
import { findNativeClient } from '../../core/addon-load';
import { answerWaitUs, pollUs, setAnswerWait } from '../../core/answer-wait';
import { packageRoot } from '../../core/paths';
import { PipewrightError, invalidArgument } from '../../core/errors';
import type { CommandContext } from '../registry';
import { EXIT } from '../exit-codes';
import { line, printJson, processIo, reportError, type Io } from '../report';
import { engineLog } from '../engine-log';
import { UsageError } from '../args-common';
import { refusal, runRequest, runsBeside } from '../engine-session';

/** The engine's memory in MB, for status: a resident process should show it stays flat. */
function memoryMb(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external) };
}

/** The first fd systemd passes (SD_LISTEN_FDS_START). */
const SD_LISTEN_FD = 3;

function activationFd(): number | undefined {
  const pid = Number(process.env.LISTEN_PID);
  const fds = Number(process.env.LISTEN_FDS);
  return pid === process.pid && fds >= 1 ? SD_LISTEN_FD : undefined;
}

function parseUids(text: string | undefined): number[] {
  if (text === undefined) return [];
  return text.split(',').map((w) => {
    if (!/^\d+$/.test(w) || Number(w) > 0xfffffffe) throw invalidArgument('--allow-uid', w, 'must be a comma-separated list of numeric uids');
    return Number(w);
  });
}

function parseMode(text: string | undefined): number {
  if (text === undefined) return 0o600;
  if (!/^0?[0-7]{3}$/.test(text)) throw invalidArgument('--socket-mode', text, 'must be an octal mode such as 0600');
  return parseInt(text, 8);
}

async function serve(a: CommandContext['args'], io: Io): Promise<number> {
  if (process.getuid?.() !== 0) throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', 'the engine runs as root (it changes the network and serves root)', { field: 'uid', value: process.getuid?.() });
  const socketPath = a.options.get('socket') ?? defaultSocketPath();
  const socketMode = parseMode(a.options.get('socket-mode'));
  const allowUids = parseUids(a.options.get('allow-uid'));
  // The process's own stderr is written so that a reader who stops reading never stops the engine (engine-log.ts).
  const ownLog = io === processIo ? engineLog() : null;
  const logOut = ownLog ?? io.stderr;
  const log = (text: string) => line(logOut, `pipewright engine: ${text}`);
  // The JS thread does not wait for quick answers here unless asked to
  // (PIPEWRIGHT_ANSWER_WAIT_US): in the engine, where a CNI ADD has IPAM,
  // its attach and its records at work together, the waits cost ~10 % of
  // an ADD and a command line gained nothing from them (docs/engine.md).
  if (!process.env.PIPEWRIGHT_ANSWER_WAIT_US) setAnswerWait(0);
  const netnsId = await ownNetnsId();
  const unlock = await tryLockStateFile(ENGINE_DIR, engineLockName(netnsId));
  if (!unlock) throw new PipewrightError('ERR_PW_CONFLICT', `an engine already runs for the state directory ${stateDir()} in this network namespace`, { field: 'stateDir', value: stateDir() });
  let reconciler: Reconciler | null = null;
  let server: EngineServer | null = null;
  let forgetRecord: (() => Promise<void>) | null = null;
  const onUnhandled = (e: unknown) => log(`unexpected failure (the engine goes on): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.on('unhandledRejection', onUnhandled);
  try {
    forgetRecord = await takeOverFromPredecessor(netnsId, log);
    if (!a.flags.has('no-reconcile')) reconciler = await Reconciler.start(log);
    const listenFd = activationFd();
    server = await EngineServer.start({
      socketPath,
      ...(listenFd !== undefined ? { listenFd } : {}),
      socketMode,
      allowUids,
      refuse: refusal,
      beside: runsBeside,
      run: async (req, session) => {
        // The standing repair reads journal changes after the command answered (Reconciler.hold).
        const release = reconciler?.hold();
        try {
          return await runRequest(req, session);
        } finally {
          release?.();
        }
      },
      status: () => ({ stateDir: stateDir(), answerWaitUs: answerWaitUs(), pollUs: pollUs(), socket: listenFd !== undefined ? `fd ${listenFd} (socket activation)` : socketPath, tracked: reconciler?.tracked() ?? [], repairs: reconciler?.repairs ?? 0, incidents: reconciler?.incidents() ?? [], memory: memoryMb(), logDropped: ownLog?.dropped ?? 0 }),
      log,
    });
    log(`ready on ${listenFd !== undefined ? `the socket systemd passed` : socketPath} (pid ${process.pid}; following ${reconciler ? `${reconciler.tracked().length} attachment(s)` : 'nothing: --no-reconcile'})`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log(`${signal}: stopping (the command at work finishes; waiting ones go back to their callers)`);
    return EXIT.OK;
  } finally {
    await server?.stop();
    await reconciler?.close();
    await forgetRecord?.();
    await unlock();
    process.off('unhandledRejection', onUnhandled);
    log('stopped');
  }
}

async function status(a: CommandContext['args'], io: Io): Promise<number> {
  const socket = a.options.get('socket') ?? defaultSocketPath();
  const s = await Engine.connect({ socket }).then((e) => e.status());
  if (a.flags.has('json')) printJson(io, s);
  else {
    const tracked = (s.tracked as unknown[]).length;
    line(io.stdout, `engine pid ${String(s.pid)} on ${String(s.socket)}: ${String(s.served)} command(s) served, following ${tracked} attachment(s), ${String(s.repairs)} repair(s), RSS ${String((s.memory as { rss?: number } | undefined)?.rss ?? "?")} MB${Number(s.logDropped) > 0 ? `, ${String(s.logDropped)} log line(s) dropped (stderr not read)` : ''}`);
    for (const i of (s.incidents as Array<{ at: string; hostEnd: string; what: string; action: string; detail?: string }>).slice(-10)) line(io.stdout, `  ${i.at} ${i.hostEnd}: ${i.what}: ${i.action}${i.detail ? ` (${i.detail})` : ''}`);
  }
  return EXIT.OK;
}

/** Where the native client is, to link as `pipewright` (docs/engine.md). */
function client(io: Io, json: boolean): number {
  const path = findNativeClient(packageRoot());
  if (json) printJson(io, { client: path });
  else line(io.stdout, path);
  return EXIT.OK;
}

export async function run({ args: a, io }: CommandContext): Promise<number> {
  const json = a.flags.has('json');
  try {
    const [what] = a.positional;
    if (what === 'status') return await status(a, io);
    if (what === 'client') return client(io, json);
    if (what !== undefined) throw new UsageError(`engine: unknown word '${what}'; expected nothing (run the engine), 'status' or 'client'`, 'engine');
    if (json) throw invalidArgument('--json', true, 'only goes with engine status or engine client');
    return await serve(a, io);
  } catch (e) {
    return reportError(e, io, { json });
  }
}
