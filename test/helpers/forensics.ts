// Ground truth for the forensics tests: namespaces held in each way the scan
// must find (a process, one thread of a process, a bind mount visible only in
// another mount namespace, an fd, a name), each returning its id so tests
// assert about what they made and never about the rest of the host.
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';

/** "dev:ino" of a namespace file (follows /proc links and bind mounts). */
export function nsId(path: string): string {
  const st = statSync(path);
  return `${st.dev}:${st.ino}`;
}

export async function waitFor<T>(what: string, fn: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Held {
  proc: ChildProcess;
  pid: number;
  /** Ends the holder and waits until it is gone. */
  kill(): Promise<void>;
}

function held(proc: ChildProcess): Held {
  const exited = once(proc, 'exit');
  return {
    proc,
    pid: proc.pid!,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** A process in a new network namespace: `unshare --net sleep`. */
export async function processInNewNetns(): Promise<Held & { id: string }> {
  const ours = readlinkSync('/proc/self/ns/net');
  const proc = spawn('unshare', ['--net', 'sleep', '120'], { stdio: 'ignore' });
  // unshare execs sleep once the namespace exists: wait until it differs from ours.
  await waitFor('the new namespace', () => {
    try {
      return readlinkSync(`/proc/${proc.pid}/ns/net`) !== ours;
    } catch {
      return false;
    }
  });
  return { ...held(proc), id: nsId(`/proc/${proc.pid}/ns/net`) };
}

/** A process one of whose threads (only) runs in a new network namespace. */
export async function threadInNewNetns(): Promise<Held & { id: string; tid: number }> {
  const script = [
    'import ctypes, os, threading, time, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'def worker():',
    '    if libc.unshare(0x40000000) != 0: os._exit(3)',
    "    print(threading.get_native_id(), flush=True)",
    '    time.sleep(120)',
    'threading.Thread(target=worker, daemon=True).start()',
    'time.sleep(120)',
  ].join('\n');
  const proc = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(proc.stdout!, 'data')) as [Buffer];
  const tid = Number(line.toString().trim());
  return { ...held(proc), tid, id: nsId(`/proc/${proc.pid}/task/${tid}/ns/net`) };
}

/**
 * FIELD-NOTES §3: a bind mount of the namespace of `pid` inside a new, private
 * mount namespace (a process that sleeps there keeps it). Kill `pid` after
 * this and the namespace lives on only through that mount.
 */
export async function foreignMountOf(pid: number): Promise<Held & { dir: string; mountPoint: string; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join('/tmp', 'pw-forensics-'));
  const mountPoint = join(dir, 'ns');
  const proc = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `touch ${mountPoint} && mount --bind /proc/${pid}/ns/net ${mountPoint} && echo ready && exec sleep 120`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(proc.stdout!, 'data');
  const h = held(proc);
  return {
    ...h,
    dir,
    mountPoint,
    async cleanup() {
      await h.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}


/**
 * FIELD-NOTES §3 as `ip netns add` leaves it when run in another mount
 * namespace: the namespace of `pid` bind-mounted on /run/netns/NAME inside a
 * new, private mount namespace (a sleeping process keeps it). In ours, the
 * name is the plain file under that mount.
 */
export async function foreignNameOf(pid: number, name: string): Promise<Held & { mountPoint: string; cleanup(): Promise<void> }> {
  const mountPoint = `/run/netns/${name}`;
  const proc = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `touch ${mountPoint} && mount --bind /proc/${pid}/ns/net ${mountPoint} && echo ready && exec sleep 120`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(proc.stdout!, 'data');
  const h = held(proc);
  return {
    ...h,
    mountPoint,
    async cleanup() {
      await h.kill();
      rmSync(mountPoint, { force: true });
    },
  };
}
