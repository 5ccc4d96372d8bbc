// The engine's socket: accepts connections, checks who is asking (the
// kernel's SO_PEERCRED, never anything the peer says), reads one request
// per connection and runs it through a handler the caller provides (the
// CLI's own dispatcher: lib/cli/engine-session.ts), streaming its output
// back as frames (protocol.ts). Command lines run one at a time: a command
// reads the process's environment and working directory, which the handler
// sets to the caller's for the length of one command. A request that
// carries its own environment and reads neither (a CNI call: `beside`) runs
// at once instead, beside the others, up to MAX_BESIDE at a time. Questions
// to the engine itself (status) are answered at once, also while a command
// runs.
import { promises as fsp } from 'node:fs';
import { FRAME, FrameReader, encodeFrame, monotonicMicros, parseRequest, type CliRequest, type Frame, type Request } from './protocol';
import { namespaceRefusal, peerRefusal, sharesClock } from './peer';
import { claimSocketPath, type SocketClaim } from './socket-path';
import { EngineSocket, type Connection, type PeerIdentity } from '../../core/engine-socket';

/** Where one command's output goes. */
export interface Session {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stdin's bytes, when the client sent them (the command line has '-'). */
  stdin: Buffer | undefined;
  peer: PeerIdentity;
  /** Aborted when the client's connection closes before the command ends. */
  signal: AbortSignal;
  /** Work the command leaves going past its answer: finished (and its lines logged) after the exit frame is sent; stop() waits for it. */
  afterAnswer(work: Promise<string[]>): void;
}

export interface ServerOptions {
  /** The socket's path (made here) unless `listenFd` is given. */
  socketPath: string;
  /** A listening socket handed over (systemd socket activation): used as it is, never unlinked. */
  listenFd?: number;
  /** Mode of the socket file made here; 0600 by default. */
  socketMode?: number;
  /** Peers allowed besides root. */
  allowUids?: readonly number[];
  /** Why a command line is not run here ('' when it is): the client then runs it itself. */
  refuse(req: CliRequest): string;
  /** Whether a command line takes nothing from the process's environment or working directory, so may run beside others. */
  beside?(req: CliRequest): boolean;
  /** Runs a command line; resolves with its exit code. */
  run(req: CliRequest, session: Session): Promise<number>;
  /** The engine's own state, for status requests. */
  status(): Record<string, unknown>;
  log(line: string): void;
}

interface Job {
  req: CliRequest;
  socket: Connection;
  stdin: Buffer | undefined;
  peer: PeerIdentity;
  /** true once the job may run: the client's 'go' came, or 'a' went out before its deadline; else why not. */
  go: Promise<true | Refusal>;
  /** Settles go (the first call counts). */
  decide(go: true | Refusal): void;
  /** Set when go is decided by the clock (the request's deadline): a 'go' frame then counts for nothing. */
  byClock: boolean;
}

/** Why a job that was accepted will not run (the client runs it itself, or gave up). */
type Refusal = 'left' | 'late-go' | 'late-accept';

/** How long a job at the head of the queue waits for its client's 'go' (which follows 'accepted' at once) before it is dropped. */
const GO_WAIT_MS = 10_000;

const REFUSAL_TEXT: Record<Refusal, string> = {
  left: 'the client left without confirming (it runs the command itself)',
  'late-go': `the client did not confirm within ${GO_WAIT_MS} ms`,
  'late-accept': 'the request was accepted after the deadline it gave (the client runs the command itself)',
};

/** How many requests run beside the serial queue at once; more wait their turn (the addon's threads and the loop are shared). */
export const MAX_BESIDE = 16;

export class EngineServer {
  readonly #opts: ServerOptions;
  #socket: EngineSocket | null = null;
  #claim: SocketClaim | null = null;
  #queue: Job[] = [];
  readonly #besideQueue: Job[] = [];
  readonly #beside = new Set<Promise<void>>();
  #running: Promise<void> | null = null;
  #stopping = false;
  #busy = false;
  #served = 0;
  #refused = 0;

  private constructor(opts: ServerOptions) {
    this.#opts = opts;
  }

  static async start(opts: ServerOptions): Promise<EngineServer> {
    const server = new EngineServer(opts);
    await server.#listen();
    return server;
  }

  get counts(): { served: number; refused: number; queued: number; busy: boolean } {
    return { served: this.#served, refused: this.#refused, queued: this.#queue.length + this.#besideQueue.length, busy: this.#busy || this.#beside.size > 0 };
  }

  async #listen(): Promise<void> {
    const { listenFd, socketPath, socketMode = 0o600 } = this.#opts;
    const accept = (c: Connection) => this.#accept(c);
    const failed = (message: string) => this.#opts.log(`socket error: ${message}`);
    if (listenFd !== undefined) {
      this.#socket = EngineSocket.adopt(listenFd, accept, failed);
      return;
    }
    const claim = await claimSocketPath(socketPath, this.#opts.log);
    // Made with no access for anyone else, then opened up to exactly socketMode: never wider, not even for a moment.
    const socket = EngineSocket.bind(socketPath, accept, failed);
    try {
      // Recorded before anything else can fail, so that a failure below removes the file made here (and only it).
      await claim.recordMade();
      await fsp.chmod(socketPath, socketMode);
    } catch (e) {
      socket.stopListening();
      await claim.release();
      throw e;
    }
    this.#claim = claim;
    this.#socket = socket;
  }

  #accept(socket: Connection): void {
    const reader = new FrameReader();
    const frames: Frame[] = [];
    let checked: PeerIdentity | null = null;
    let handled = false;
    let decide: (go: true | Refusal) => void = () => {};
    const go = new Promise<true | Refusal>((resolve) => (decide = resolve));
    let job: Job | undefined;
    socket.onGone(() => {
      decide('left');
      // Gone before a whole request came: nothing of it is ours to keep.
      if (!handled) socket.destroy();
    });
    const proceed = () => {
      if (handled || !checked) return;
      const q = frames.find((f) => f.kind === FRAME.request);
      if (!q) return;
      let req: Request;
      try {
        req = parseRequest(q.payload);
      } catch (e) {
        handled = true;
        return this.#refuse(socket, (e as Error).message);
      }
      if ('control' in req) {
        handled = true;
        return this.#answerStatus(socket);
      }
      const stdinFrame = req.stdin ? frames.find((f) => f.kind === FRAME.stdin) : undefined;
      if (req.stdin && !stdinFrame) return; // wait for it
      handled = true;
      const peer = checked;
      job = { req, socket, stdin: stdinFrame ? Buffer.from(stdinFrame.payload) : undefined, peer, go, decide, byClock: false };
      const why = namespaceRefusal(peer);
      if (why) this.#refuse(socket, why, peer.pid);
      else this.#enqueue(job);
    };
    socket.onData((chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) {
          // A 'go' counts only where the engine waits for one.
          if (f.kind !== FRAME.go) frames.push(f);
          else if (!job?.byClock) decide(true);
        }
      } catch (e) {
        handled = true;
        return this.#refuse(socket, (e as Error).message);
      }
      proceed();
    });
    if (this.#stopping) {
      handled = true;
      return this.#refuse(socket, 'the engine is stopping');
    }
    const cred = socket.peer;
    if ('error' in cred) {
      handled = true;
      return this.#refuse(socket, `cannot identify the peer: ${cred.error}`);
    }
    const why = peerRefusal(cred, this.#opts.allowUids ?? []);
    if (why) {
      handled = true;
      return this.#refuse(socket, `uid ${cred.uid}: ${why}`, cred.pid);
    }
    checked = cred;
  }

  /** Says no (the client then runs the command itself, or gave up already) and logs it: nothing of the request is run. */
  #refuse(socket: Connection, reason: string, pid?: number): void {
    this.#refused++;
    this.#opts.log(`refused a request${pid === undefined ? '' : ` from pid ${pid}`}: ${reason}`);
    if (!socket.destroyed) socket.end(encodeFrame(FRAME.refused, JSON.stringify({ reason })));
  }

  #answerStatus(socket: Connection): void {
    const body = JSON.stringify({ pid: process.pid, ...this.counts, ...this.#opts.status() });
    socket.end(Buffer.concat([encodeFrame(FRAME.accepted, '{}'), encodeFrame(FRAME.started), encodeFrame(FRAME.stdout, `${body}\n`), encodeFrame(FRAME.exit, '{"exitCode":0}')]));
  }

  #enqueue(job: Job): void {
    const why = this.#stopping ? 'the engine is stopping' : this.#opts.refuse(job.req);
    if (why) return this.#refuse(job.socket, why, job.peer.pid);
    const { deadline } = job.req;
    job.byClock = deadline !== undefined && sharesClock(job.peer);
    const accepted = encodeFrame(FRAME.accepted, JSON.stringify({ v: 1, pid: process.pid, ...(job.byClock ? { committed: true } : {}) }));
    // By the clock, it is read once 'a' is in the client's socket (the write's callback): a reading before the deadline
    // proves the client, which looks after its deadline, sees the 'a' and leaves the command to us (protocol.ts).
    const byClock = (written: boolean) => {
      if (!written) job.decide('left');
      else job.decide(monotonicMicros() < deadline! ? true : 'late-accept');
    };
    job.socket.write(accepted, job.byClock ? byClock : undefined);
    if (this.#opts.beside?.(job.req)) {
      this.#besideQueue.push(job);
      this.#startBeside();
      return;
    }
    this.#queue.push(job);
    this.#running ??= this.#drain();
  }

  /** Starts waiting beside-jobs while fewer than MAX_BESIDE run. */
  #startBeside(): void {
    while (this.#beside.size < MAX_BESIDE && this.#besideQueue.length > 0) {
      const job = this.#besideQueue.shift()!;
      // A client that went away before its turn ran nothing: its connection goes.
      if (!job.socket.writable) {
        job.socket.destroy();
        continue;
      }
      const p: Promise<void> = (async () => {
        if (await this.#awaitGo(job)) await this.#runJob(job);
      })().finally(() => {
        this.#beside.delete(p);
        this.#startBeside();
      });
      this.#beside.add(p);
    }
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job; job = this.#queue.shift()) {
      // A client that went away before its turn ran nothing: skip it, and close its connection.
      if (!job.socket.writable) {
        job.socket.destroy();
        continue;
      }
      if (!(await this.#awaitGo(job))) continue;
      await this.#runJob(job);
    }
    this.#running = null;
  }

  /**
   * Whether the job may run: the client said 'go', or the engine accepted it
   * before the client's deadline. One that left without either gave up
   * waiting and may have run the command itself (protocol.ts): never run it
   * here.
   */
  async #awaitGo(job: Job): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    if (!job.byClock) timer = setTimeout(() => job.decide('late-go'), GO_WAIT_MS);
    const go = await job.go;
    clearTimeout(timer);
    if (go === true) return true;
    this.#refuse(job.socket, REFUSAL_TEXT[go], job.peer.pid);
    return false;
  }

  async #runJob(job: Job): Promise<void> {
    const { socket } = job;
    // Output goes out at the loop's next turn, with whatever follows it in
    // this one: a command that answers at its end (a CNI call) sends its
    // output and its exit in one write, which wakes the client once.
    const send = (kind: typeof FRAME.stdout | typeof FRAME.stderr, text: string) => {
      if (socket.destroyed || text === '') return;
      socket.cork();
      socket.write(encodeFrame(kind, text));
    };
    // 'started' goes at once, alone: the client counts the command as run from then on.
    socket.write(encodeFrame(FRAME.started));
    // A client never half-closes while it waits for its answer: its end of the stream ending means it is gone.
    const gone = new AbortController();
    const unwatch = socket.onGone(() => gone.abort());
    const serial = !this.#opts.beside?.(job.req);
    if (serial) this.#busy = true;
    let exitCode: number;
    // Work the command leaves going past its answer (Session.afterAnswer), each read as log lines, a failure too.
    const later: Promise<string[]>[] = [];
    const afterAnswer = (work: Promise<string[]>) => void later.push(work.catch((e: unknown) => [`work left after the answer failed: ${(e as Error).message}`]));
    try {
      exitCode = await this.#opts.run(job.req, { stdout: (t) => send(FRAME.stdout, t), stderr: (t) => send(FRAME.stderr, t), stdin: job.stdin, peer: job.peer, signal: gone.signal, afterAnswer });
    } catch (e) {
      send(FRAME.stderr, `pipewright: the engine failed to run the command: ${(e as Error).message}\n`);
      exitCode = 1;
    } finally {
      unwatch();
      if (serial) this.#busy = false;
    }
    this.#served++;
    if (!socket.destroyed) socket.end(encodeFrame(FRAME.exit, JSON.stringify({ exitCode })));
    // The answer is out: what the command left going finishes here, in the
    // job's slot (a serial command's successor, and stop(), wait for it).
    for (const work of later) for (const l of await work) this.#opts.log(`after the answer to pid ${job.peer.pid}: ${l}`);
  }

  /**
   * Stops taking connections; commands waiting their turn are handed back
   * (the client runs them itself); the running one finishes. The socket
   * file made here is removed, if it is still the one made.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#socket?.stopListening();
    for (const job of [...this.#queue.splice(0), ...this.#besideQueue.splice(0)]) this.#refuse(job.socket, 'the engine is stopping', job.peer.pid);
    await this.#running;
    await Promise.all([...this.#beside]);
    // Connections that never sent a whole request hold nothing of ours.
    this.#socket?.destroyAll();
    await this.#claim?.release();
  }
}
