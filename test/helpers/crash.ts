// The crash tests' machinery: an attach in a child process (attach-child.js)
// killed with SIGKILL at a step boundary or at a random moment; decoys that
// must survive every gc; and the state that must come back "as if never
// attempted" (links with their aliases and groups, addresses, routes, and
// the journal's entries for the scene's namespace).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { PIPEWRIGHT_GROUP, type Handle, type Netns } from '../../lib';
import { netnsCookie, readEntries, sameHost, tempFiles } from '../../lib/ops/ownership';
import { gc } from '../../lib/ops/forensics';
import { netState } from '../../lib/ops/repro/state';
import type { Scene } from './scene';
import { inNetns } from './scene';

const CHILD = join(__dirname, 'attach-child.js');
const DIST = join(__dirname, '..', '..', 'dist', 'lib', 'index.js');
if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build it first with 'npm run build:ts'`);

export interface ChildOutcome {
  /** 'SIGKILL' when it was killed. */
  signal: NodeJS.Signals | null;
  code: number | null;
  /** The child's last line: {status} or {error, message}, when it got that far. */
  result?: { status?: string; error?: string; message?: string; ms?: number };
  pid: number;
}

/** A child loaded and waiting for "go" (start it early: its start-up then overlaps the previous try's checks). */
export interface PreparedChild {
  /**
   * Starts the attach; with killAfterMs, SIGKILL that long into it, counted
   * from its start or from its journal entry's appearance. Resolves when the
   * child has exited.
   */
  go(killAfterMs?: number, from?: 'start' | 'journal'): Promise<ChildOutcome>;
  /** Kills it unused. */
  discard(): void;
}

/** Starts a child inside `hostNs` that will run one attach of `spec` (env: PIPEWRIGHT_FAILPOINT etc.). */
export function prepareChild(hostNs: Netns, spec: Record<string, unknown>, env: Record<string, string> = {}): PreparedChild {
  const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${hostNs.fd}`, process.execPath, CHILD, JSON.stringify(spec)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stdin!.on('error', () => undefined); // killed before it read
  const ready = new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (out.startsWith('ready\n')) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.on('close', (code, signal) => reject(new Error(`the attach child never got ready (code ${code}, signal ${signal}): ${err}`)));
  });
  ready.catch(() => undefined);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    async go(killAfterMs?: number, from: 'start' | 'journal' = 'start') {
      await ready;
      // The child kills itself, timed from its attach's start or journal entry.
      child.stdin!.write(`go ${from} ${killAfterMs ?? -1}\n`);
      const { code, signal } = await closed;
      const last = out.trim().split('\n').pop() ?? '';
      let result: ChildOutcome['result'];
      try {
        if (last.startsWith('{')) result = JSON.parse(last);
      } catch {
        // cut short by the kill
      }
      return { signal, code, pid: child.pid!, ...(result ? { result } : {}) };
    },
    discard() {
      child.kill('SIGKILL');
    },
  };
}

/** Runs one attach in a child process inside `hostNs` (see prepareChild). */
export function attachInChild(hostNs: Netns, spec: Record<string, unknown>, opts: { env?: Record<string, string>; killAfterMs?: number } = {}): Promise<ChildOutcome> {
  return prepareChild(hostNs, spec, opts.env).go(opts.killAfterMs);
}

/** A namespace as a comparable value, with each link's alias and group (the marks). */
export async function markedState(h: Handle): Promise<{ net: Awaited<ReturnType<typeof netState>>; marks: string[] }> {
  const net = await netState(h);
  const marks = (await h.link.list()).map((l) => `${l.name} group=${l.group ?? 0} alias=${l.alias ?? ''}`).sort();
  return { net, marks };
}

/**
 * The journal's entries for the host namespace `host` works in (file names).
 * Matched on its cookie as well as its dev:ino: the journal is shared with
 * the test files running beside, and a freed namespace's inode goes to the
 * next one, so another file's stale entry can name this host by dev:ino.
 */
export async function journalOf(host: Handle, hostNetns: string): Promise<string[]> {
  const cookie = await netnsCookie(host);
  return (await readEntries()).filter((s) => s.entry.hostNetns === hostNetns && sameHost(s.entry, cookie)).map((s) => s.file).sort();
}

export async function tempFilesOf(pid: number): Promise<string[]> {
  return (await tempFiles()).filter((t) => t.pid === pid).map((t) => t.file);
}

/**
 * Decoys in the scene's host namespace that gc must never touch: a veth made
 * with ip (no mark), veths in pipewright's group with foreign aliases or
 * none, and one with an owner mark whose guest is alive.
 */
export async function addDecoys(s: Scene): Promise<void> {
  const g = await s.guest();
  await inNetns(s.hostNs, 'ip', ['link', 'add', 'dip0', 'type', 'veth', 'peer', 'name', 'dip1']);
  await s.host.link.add({ kind: 'veth', name: 'dgrp0', group: PIPEWRIGHT_GROUP, alias: 'made by another tool', peer: { name: 'p0', netns: g.ns } });
  await s.host.link.add({ kind: 'veth', name: 'dgrp1', group: PIPEWRIGHT_GROUP, alias: 'pipewright-ish but not ours', peer: { name: 'p1', netns: g.ns } });
  await s.host.link.add({ kind: 'veth', name: 'dgrp2', group: PIPEWRIGHT_GROUP, peer: { name: 'p2', netns: g.ns } });
  await s.host.link.add({ kind: 'veth', name: 'dlive0', group: PIPEWRIGHT_GROUP, alias: `pipewright owner=decoy guest=${g.ns.id} if=eth1`, peer: { name: 'eth1', netns: g.ns } });
}

export const DECOYS = ['dip0', 'dip1', 'dgrp0', 'dgrp1', 'dgrp2', 'dlive0'];

/**
 * Journal entries of namespaces that died before this test (other test
 * files share the state directory) whose inodes this scene's namespaces got:
 * gc forgets those of this scene's host once, so that a try's "as it was"
 * starts clean. (Entries written under other hosts stay; crash-try.ts reads
 * only the entries of its own host and guest.)
 */
export async function forgetOlderScenes(s: Scene): Promise<void> {
  await gc({ host: s.host });
}

/**
 * Moves a namespace's next interface index far up (200 veths made and
 * deleted as one group), so that its interfaces never have the index of
 * their peer or lower device in the host namespace: such a link reads back
 * without that index (issue 12), which would make an ownership check fail
 * for a reason that is not this test's.
 */
export async function raiseIndexes(h: Handle): Promise<void> {
  for (let i = 0; i < 100; i++) await h.link.add({ kind: 'veth', name: `pad${i}a`, group: 99, peer: { name: `pad${i}b`, group: 99 } });
  await h.link.delGroup(99);
}
