// Engine.connect(): a running engine's socket, for library users who want a
// command line run by it (and for tests and tools). The library's own calls
// stay in-process by default; this is the optional path. One connection
// per request, as the native client makes.
import { connect, type Socket } from 'node:net';
import { PipewrightError } from '../../core/errors';
import { FRAME, FrameReader, PROTOCOL_VERSION, encodeFrame } from './protocol';
import { defaultSocketPath } from './paths';

export interface EngineReply {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The working directory the command sees (default: this process's). */
  cwd?: string;
  /** Variables for the command (the engine keeps the ones commands read); by default this process's, as the native client sends them. */
  env?: Record<string, string>;
  /** What the command reads on stdin (batch -). */
  stdin?: string | Buffer;
}

export interface ConnectOptions {
  /** The engine's socket (default: the state directory's, as the CLI finds it). */
  socket?: string;
  /** How long to wait for the engine to accept a request (default 2000 ms). */
  acceptTimeoutMs?: number;
}

/** The engine turned the request down: nothing was run (run it in-process instead). */
export class EngineRefusal extends PipewrightError {
  constructor(reason: string) {
    super('ERR_PW_CONFLICT', `the engine did not run the request: ${reason}`, { field: 'engine', value: reason });
    this.name = 'EngineRefusal';
  }
}

/** The variables a command may read, from this process's environment (the native client sends the same). */
const FORWARDED = /^(PW_|PIPEWRIGHT_|DOCKER_|CONTAINER_|PATH$|XDG_RUNTIME_DIR$)/;

function forwardedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && FORWARDED.test(k)) out[k] = v;
  return out;
}

export class Engine {
  readonly socket: string;
  readonly #acceptTimeoutMs: number;

  private constructor(socket: string, acceptTimeoutMs: number) {
    this.socket = socket;
    this.#acceptTimeoutMs = acceptTimeoutMs;
  }

  /** Finds a running engine: resolves once its status answers, throws (ERR_PW_CONFLICT, EngineRefusal) when none does. */
  static async connect(opts: ConnectOptions = {}): Promise<Engine> {
    const e = new Engine(opts.socket ?? defaultSocketPath(), opts.acceptTimeoutMs ?? 2000);
    await e.status();
    return e;
  }

  /** The engine's state: its pid, what it serves and follows, what it repaired. */
  async status(): Promise<Record<string, unknown>> {
    const r = await this.#exchange({ v: PROTOCOL_VERSION, control: 'status' });
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  /** Runs a pipewright command line in the engine: the exit code and output the CLI would give. */
  run(argv: readonly string[], opts: RunOptions = {}): Promise<EngineReply> {
    const env = opts.env ?? forwardedEnv();
    return this.#exchange({ v: PROTOCOL_VERSION, argv: [...argv], cwd: opts.cwd ?? process.cwd(), env, stdin: opts.stdin !== undefined }, opts.stdin);
  }

  #exchange(request: object, stdin?: string | Buffer): Promise<EngineReply> {
    return new Promise((resolve, reject) => {
      const s: Socket = connect(this.socket);
      const reader = new FrameReader();
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let started = false;
      let settled = false;
      const isControl = 'control' in request;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.destroy();
        f();
      };
      const timer = setTimeout(() => finish(() => reject(new PipewrightError('ERR_PW_TIMEOUT', `the engine on ${this.socket} did not accept the request within ${this.#acceptTimeoutMs} ms`))), this.#acceptTimeoutMs);
      s.on('connect', () => {
        s.write(encodeFrame(FRAME.request, JSON.stringify(request)));
        if (stdin !== undefined) s.write(encodeFrame(FRAME.stdin, typeof stdin === 'string' ? Buffer.from(stdin) : stdin));
      });
      s.on('data', (chunk: Buffer) => {
        let frames;
        try {
          frames = reader.push(chunk);
        } catch (e) {
          return finish(() => reject(e));
        }
        for (const f of frames) {
          if (f.kind === FRAME.accepted) {
            clearTimeout(timer);
            // Committed: from here the engine runs it, and this side never does (protocol.ts).
            if (!isControl) s.write(encodeFrame(FRAME.go));
          } else if (f.kind === FRAME.started) started = true;
          else if (f.kind === FRAME.stdout) out.push(Buffer.from(f.payload));
          else if (f.kind === FRAME.stderr) err.push(Buffer.from(f.payload));
          else if (f.kind === FRAME.refused && !started) return finish(() => reject(new EngineRefusal((JSON.parse(f.payload.toString()) as { reason: string }).reason)));
          else if (f.kind === FRAME.exit) {
            const { exitCode } = JSON.parse(f.payload.toString()) as { exitCode: number };
            return finish(() => resolve({ exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
          }
        }
      });
      s.on('error', (e: NodeJS.ErrnoException) => finish(() => reject(new PipewrightError('ERR_PW_CONFLICT', `no engine answers on ${this.socket} (${e.code ?? e.message})`, { field: 'socket', value: this.socket, cause: e }))));
      s.on('close', () =>
        finish(() =>
          reject(
            started
              ? new PipewrightError('ERR_PW_INTERNAL', 'the engine stopped while running the command, so whether it did is unknown: an attach it left half-way is rolled back when an engine starts again (or by pipewright gc)')
              : new PipewrightError('ERR_PW_CONFLICT', `the engine on ${this.socket} closed the connection before running the request`),
          ),
        ),
      );
    });
  }
}
