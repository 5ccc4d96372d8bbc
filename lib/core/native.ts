// The only file that loads the addon. It describes the addon's surface in
// types (the operations' in lib/core/op-types.ts, generated from
// lib/core/op-table.json) and hands the addon errors.ts's nativeError, which
// makes native failures NetlinkErrors with their code, errno and
// extended-ACK text (the addon reports facts; TS decides code and class). The
// library reaches the addon through transport(), so unit tests can put a fake
// kernel in its place. Where the addon file is found (a build here, or the
// package's prebuilt) and what a failure to load it says: addon-load.ts.
import { nativeError, type NativeFailure, type NetlinkError } from './errors';
import { packageRoot } from './paths';
import { checkTrustedPath } from './trusted-path';
import { findAddon, loadAddonFile } from './addon-load';
import type { OpArgs, OpCall, OpName } from './op-types';

/** What the addon returns for an opened namespace: the fd is ours to close. */
export interface NativeNsInfo {
  fd: number;
  dev: number;
  ino: number;
  path?: string;
  pid?: number;
  /** netnsCreate, and netnsOpenNamed and netnsOpenPath when asked: a socket opened inside the namespace, for its first Handle. */
  socket?: NativeSocket;
}

export interface NativeNamedNs {
  name: string;
  path: string;
  valid: boolean;
  reason?: string;
  dev?: number;
  ino?: number;
  /** The entry is a symbolic link (to this target); it is never followed. */
  symlink?: string;
}

/** What netnsDelete removed. */
export interface NativeNetnsDeleted {
  path: string;
  /** The name was an empty plain file (a stale name), not a namespace. */
  stale: boolean;
  wasMounted: boolean;
  /** The namespace that was behind the name (absent for a stale name). */
  dev?: number;
  ino?: number;
  /** Its nsfs file handle, to ask later whether it still exists (absent on kernels without them). */
  handle?: string;
}

/** Where netnsDelete acts, beyond (name, runDir). */
export interface NativeNetnsDeleteOptions {
  /** "/proc/PID/root": runDir is then relative to that process's root, and the name is only unlinked. */
  root?: string;
  /** The name must lead to exactly this namespace, or nothing is done. */
  dev?: number;
  ino?: number;
}

/** One operation for the addon (lib/core/op-table.json). */
export type NativeOp = OpCall;

export interface NativeSocket {
  /** Runs the operations in order in one hop; rejects at the first failure. */
  run(ops: readonly OpCall[]): Promise<unknown[]>;
  close(): void;
}

export interface NativeEvent {
  kind: 'link' | 'addr' | 'route' | 'neigh' | 'nsid' | 'overrun';
  action?: 'new' | 'del';
  object?: Record<string, unknown>;
}

export interface NativeSubscription {
  close(): void;
  /** Link events only for the links followed (added, removed; all: every link again), dropped before they are decoded. */
  followLinks?(add: number[], remove: number[], all?: boolean): void;
}

/**
 * Who connected to the engine's socket, as the kernel recorded it (SO_PEERCRED)
 * and the namespaces its process was in when accepted ("dev:ino" of
 * /proc/PID/ns/KIND; absent when unreadable). `error` instead when none of
 * it could be read.
 */
export interface NativePeer {
  pid?: number;
  uid?: number;
  gid?: number;
  net?: string;
  mnt?: string;
  time?: string;
  /** Why the namespaces could not be read, when the process was not simply gone (e.g. out of fds). */
  nsError?: string;
  error?: string;
}

export type NativeEngineEvent = 'connection' | 'data' | 'end' | 'drained' | 'closed' | 'error';

/** The engine's listening socket, polled by the event loop (native/engine_listener.h); connections are ids. */
export interface NativeEngineListener {
  /** 1 when every byte is in the socket now, 0 when some wait ('drained' follows), -1 when the connection is gone or broken. */
  write(id: number, data: Buffer): 1 | 0 | -1;
  /** Closes once what was written is in the socket: true when that is now, else 'closed' follows. */
  end(id: number): boolean;
  /** Closes now. */
  destroy(id: number): void;
  /** Stops listening and closes the listening fd; connections open go on. */
  close(): void;
}

/** A base chain on the forward hook, from an nf_tables chain dump. */
export interface NativeForwardChain {
  /** NFPROTO_*: 1 inet, 2 ip, 3 arp, 7 bridge, 10 ip6. */
  family: number;
  familyName: 'inet' | 'ip' | 'arp' | 'netdev' | 'bridge' | 'ip6' | 'unknown';
  table: string;
  name: string;
  /** The chain type: 'filter', 'nat', 'route'. */
  type: string;
  priority: number;
  policy: 'accept' | 'drop';
}

/** What decides whether bridged frames meet iptables FORWARD, read inside one namespace. */
export interface NativeFirewallState {
  /** net.bridge.bridge-nf-call-iptables there; null without br_netfilter. */
  bridgeNfCallIptables: number | null;
  /** iptables-legacy's tables there (ip_tables_names); null when /proc cannot show this thread's. */
  legacyTables: string[] | null;
  /** False when the kernel has no nf_tables (forwardChains is then empty). */
  nftables: boolean;
  forwardChains: NativeForwardChain[];
}

/** The addon's codec entry points: used by tests and tools, never at run time by the library. */
export interface AddonCodec {
  /** Hands over the function that turns a native failure into the error callers see. */
  init(makeError: (message: string, facts: NativeFailure) => NetlinkError): void;
  encode<K extends OpName>(op: K, args: OpArgs[K]): Buffer;
  decode(messages: Buffer): NativeEvent[];
  opNames(): string[];
  /** The forward base chains in a run of nf_tables chain messages (tests). */
  decodeForwardChains(messages: Buffer): NativeForwardChain[];
}

/**
 * What the library asks of the native side at run time: sockets and their
 * operations (lib/core/op-table.json), events, namespaces, the state
 * directory's files and locks. The addon is the transport; unit tests put
 * a fake in its place (setTransport) that models the kernel's objects.
 */
export interface Transport {
  openSocket(nsfd: number): Promise<NativeSocket>;
  subscribe(nsfd: number, groups: string[], onEvents: (events: NativeEvent[]) => void): Promise<NativeSubscription>;
  netnsCreate(name: string | null, runDir: string): Promise<NativeNsInfo>;
  /** path, validated as a network namespace; withSocket as for netnsOpenNamed. */
  netnsOpenPath(path: string, withSocket?: boolean): Promise<NativeNsInfo>;
  netnsOpenPid(pid: number): Promise<NativeNsInfo>;
  netnsOpenSelf(): Promise<NativeNsInfo>;
  netnsDelete(name: string, runDir: string, opts?: NativeNetnsDeleteOptions): Promise<NativeNetnsDeleted>;
  netnsList(runDir: string): Promise<NativeNamedNs[]>;
  /** runDir/name, reached without following a symbolic link, validated; with withSocket, a netlink socket opened inside it comes along (`socket`, absent if it could not be opened). */
  netnsOpenNamed(name: string, runDir: string, withSocket?: boolean): Promise<NativeNsInfo>;
  /** Whether the namespace an nsfs file handle names still exists (without holding it). */
  netnsAlive(handle: string): Promise<{ alive: boolean }>;
  fdClose(fd: number): Promise<void>;
  /** A unix stream socket bound to path and listening; its file gets the process's umask. */
  engineBind(path: string): number;
  /**
   * Serves the listening socket fd (taken over) from the event loop:
   * onEvent('connection', id, peer), ('data', id, bytes), ('end', id) when
   * the peer closed or failed, ('drained', id) when queued bytes went out,
   * ('closed', id, allWritten) when a connection ended with bytes still
   * queued is closed, ('error', 0, message) when accepting failed.
   */
  engineListen(fd: number, onEvent: (kind: NativeEngineEvent, id: number, arg?: unknown) => void): NativeEngineListener;
  sendGratuitousArp(nsfd: number, ifindex: number, ip: string, mac: string, count: number): Promise<{ sent: number }>;
  /** The bridge firewall's state in a namespace (-1: our own), without starting a process. */
  firewallProbe(nsfd: number): Promise<NativeFirewallState>;
  /**
   * Process-wide counters: dumpRetries = dump attempts the kernel marked
   * interrupted; answerWaits = routing requests the JS thread waited for
   * (native/executor.h, SubmitAndWait), answersWhileWaiting = of those,
   * answered within the wait; answerWaitUs = the longest such wait in
   * force (µs, 0 = never); polls = times an event loop began polling for
   * answers instead of sleeping (native/dispatch.cc), settledByPoll =
   * answers it settled so, pollUs = the longest it polls without an
   * answer (µs, 0 = never); polling = whether this thread's loop polls now;
   * namespaceJobsOnRoutingThread / namespaceJobsOnNamespaceThreads = jobs
   * that create or enter a namespace, by the thread that took them
   * (native/executor.h, Lane::kNamespace).
   */
  stats(): {
    dumpRetries: number;
    answerWaits: number;
    answersWhileWaiting: number;
    answerWaitUs: number;
    polls: number;
    settledByPoll: number;
    pollUs: number;
    polling: boolean;
    namespaceJobsOnRoutingThread: number;
    namespaceJobsOnNamespaceThreads: number;
  };
  /** Sets answerWaitUs (0–1000), in place of PIPEWRIGHT_ANSWER_WAIT_US. */
  setAnswerWait(us: number): void;
  /**
   * An advisory lock (flock) on root/sub/name, shared or exclusive, waited
   * for on the addon's lock thread (with wait false: refused at once with
   * EWOULDBLOCK when held). Closing the fds (fdClose) releases it.
   */
  lockAcquire(root: string, sub: string, name: string, exclusive: boolean, wait?: boolean): Promise<{ fd: number; gateFd?: number }>;
  /** lockAcquire (shared) then stateFileWrite, in one trip to the lock thread; on failure the lock is released. */
  lockAndWrite(root: string, lockSub: string, lockName: string, fileSub: string, fileName: string, data: string): Promise<{ fd: number }>;
  /** lockAcquire (exclusive, waited for) then stateFileRead, in one trip to the lock thread; on failure the lock is released. */
  lockAndRead(root: string, lockSub: string, lockName: string, fileSub: string, name: string): Promise<{ fd: number; gateFd?: number; file: { name: string; data: string; mtimeMs: number } | null }>;
  /** Writes root/sub/name atomically and durably (temporary file, fsync, rename, fsync of the directory). */
  stateFileWrite(root: string, sub: string, name: string, data: string): Promise<void>;
  stateFileRemove(root: string, sub: string, name: string): Promise<{ removed: boolean }>;
  /** The regular files of root/sub whose names start with prefix, with their contents ([] without the directory). */
  stateFileList(root: string, sub: string, prefix: string): Promise<Array<{ name: string; data: string; mtimeMs: number }>>;
  /** root/sub/name if it is a regular file of ours, opened by name (no listing); null otherwise. */
  stateFileRead(root: string, sub: string, name: string): Promise<{ name: string; data: string; mtimeMs: number } | null>;
  /**
   * parent/name, a directory shared with other programs (made when missing,
   * never through a symbolic link), its lock file locked exclusively and its
   * entries read under the lock. With wait the lock is waited for, on the
   * lock thread; without, it is taken only if free ({ busy } otherwise).
   * `since`: the number of the last reading of this directory whose entries
   * the caller holds (0: none); the files unchanged since are then only
   * named, in `same`.
   */
  lockedDirOpen(parent: string, name: string, lockName: string, wait: true, since?: number): Promise<NativeLockedDir>;
  lockedDirOpen(parent: string, name: string, lockName: string, wait: false, since?: number): Promise<NativeLockedDir | { busy: true }>;
  /** Changes in a directory lockedDirOpen holds, in order; with closeFds the lock is given back after them. */
  lockedDirApply(dirFd: number, lockFd: number, changes: NativeLockedDirChange[], closeFds: boolean, path: string): Promise<NativeLockedDirOutcome[]>;
}

export interface NativeLockedDirEntry {
  name: string;
  type: 'file' | 'link' | 'dir' | 'other';
  /** The contents of a regular file up to 64 KiB. */
  data?: string;
}

export interface NativeLockedDir {
  dirFd: number;
  lockFd: number;
  /** whole: every entry; else those new or changed since reading `since`. */
  entries: NativeLockedDirEntry[];
  /** The names ('/'-joined, '' for none) of the entries of reading `since` no longer there. */
  gone: string;
  /** The entries are all there is (the reading `since` was not the addon's last of this directory). */
  whole: boolean;
  /** The directory was listed (false: its events said what changed). */
  scanned: boolean;
  /** This reading's number, for the next one's `since` (0: the addon keeps nothing of it). */
  reading: number;
}

export interface NativeLockedDirChange {
  op: 'create' | 'write' | 'remove';
  name: string;
  /** create, write: the content; remove: only a file holding exactly this goes ("differs" otherwise). */
  data?: string;
}

/** One per change made; a create that finds the name taken ("exists") ends the run. */
export type NativeLockedDirOutcome = 'created' | 'exists' | 'written' | 'removed' | 'missing' | 'differs';

export type Addon = AddonCodec & Transport;

let loaded: Addon | undefined;
let substitute: Transport | undefined;

/**
 * Puts a transport in the addon's place (unit tests: a fake kernel), or
 * with undefined goes back to the addon. Internal: not exported by the
 * package.
 */
export function setTransport(t: Transport | undefined): void {
  substitute = t;
}

/** Where the library's native calls go: the addon, unless a test substituted a fake. */
export function transport(): Transport {
  return substitute ?? addon();
}

/** The addon itself, loaded on first use (never at import time): its codec, for tests and tools. */
export function addon(): Addon {
  if (!loaded) {
    // PW_ADDON_PATH names a specific build of the addon to load instead of
    // build/Release: scripts/asan.sh builds the sanitized addon elsewhere so
    // the normal build is never overwritten, and points the tests at it.
    // It decides what code runs: as root, only a file that is root's alone.
    const override = process.env.PW_ADDON_PATH;
    const file = override ? checkTrustedPath('PW_ADDON_PATH', override, 'file') : findAddon(packageRoot());
    const a = loadAddonFile(file, packageRoot()) as Addon;
    a.init(nativeError);
    loaded = a;
  }
  return loaded;
}
