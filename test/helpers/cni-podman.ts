// podman 4.3 with its CNI backend, fenced in for a test. podman writes in
// many places a test must not touch (/run/crun and /run/containers,
// /var/lib/containers, libcni's cache in /var/lib/cni, the cgroup tree), so
// every podman command runs inside a "holder": a process in a network
// namespace of its own (podman's host side: its bridge, the host ends) and a
// mount namespace with tmpfs over /run, /var/lib and /sys/fs/cgroup (there a
// bare cgroup2, and containers run with cgroups disabled under crun, so no
// cgroup is ever made). Storage, run root, tmp dir and network configs live
// in a temp dir; the image is a busybox root filesystem, imported.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makePluginDir } from './cni-world';
import { sanitizerEnv } from './sanitizer-env';

const run = promisify(execFile);

/** Why podman cannot run here, or null when it can. */
export async function podmanUnavailable(): Promise<string | null> {
  for (const [bin, pkg] of [
    ['/usr/bin/podman', 'podman'],
    ['/usr/bin/crun', 'crun'],
    ['/usr/bin/conmon', 'conmon'],
    ['/bin/busybox', 'busybox-static'],
  ])
    if (!existsSync(bin)) return `${bin} is missing (Debian package ${pkg})`;
  try {
    await run('ldd', ['/bin/busybox']);
    return '/bin/busybox is dynamically linked; the image needs busybox-static';
  } catch {
    // not a dynamic executable: good
  }
  try {
    const { stdout } = await run('podman', ['--version']);
    if (!/podman version 4\./.test(stdout)) return `podman is ${stdout.trim()}, not 4.x (the CNI backend)`;
  } catch (e) {
    return `podman --version fails: ${(e as Error).message}`;
  }
  // The holder's fence, tried in a throwaway mount namespace: in a user
  // namespace the kernel refuses a tmpfs over /sys/fs/cgroup (sysfs is
  // locked there), and without that fence podman would write the real tree.
  try {
    await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs pw-probe /sys/fs/cgroup && mount -t cgroup2 pw-probe2 /sys/fs/cgroup']);
  } catch (e) {
    const why = ((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split('\n')[0];
    return `the fence podman needs cannot be made here (a tmpfs and a cgroup2 over /sys/fs/cgroup in a mount namespace of its own): ${why}`;
  }
  return null;
}

const HOLDER_SETUP = `
set -e
ip link set lo up
mount -t tmpfs pw-podman-run /run
mkdir /run/netns
mount -t tmpfs pw-podman-cgroup /sys/fs/cgroup
mount -t cgroup2 pw-podman-cgroup2 /sys/fs/cgroup
mount -t tmpfs pw-podman-varlib /var/lib
mkdir /var/lib/cni /var/lib/containers
echo ready
# Until whoever started us closes stdin (or dies).
while read -r _; do :; done
`;

export class Podman {
  private constructor(
    readonly dir: string,
    readonly bin: string,
    private readonly holder: ChildProcess,
    private readonly base: string[],
  ) {}

  static async start(): Promise<Podman> {
    const dir = mkdtempSync('/tmp/pw-podman.');
    const bin = makePluginDir(join(dir, 'bin'));
    mkdirSync(join(dir, 'cni'));
    mkdirSync(join(dir, 'ipam'));
    // pipewright's state (records, journal) private to this podman: no other test sees it.
    mkdirSync(join(dir, 'state'), { mode: 0o755 });
    const rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
    for (const a of ['sh', 'ip', 'ping', 'sleep', 'cat']) symlinkSync('busybox', join(rootfs, 'bin', a));
    await run('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
    writeFileSync(
      join(dir, 'containers.conf'),
      [
        '[containers]',
        'cgroups = "disabled"',
        // No CAP_SYS_RESOURCE here: the container may not raise its limits.
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${bin}"]`,
        '[engine]',
        'runtime = "crun"',
        // Every podman process, not only the ones the tests start: `podman
        // container cleanup`, which conmon starts when a container exits
        // (with an environment of its own), also tears networks down, and its
        // DELs must find this podman's records and journal (and, in the
        // sanitizer run, load its addon with leak checking off: sanitizer-env.ts).
        `env = ${JSON.stringify([`PW_STATE_DIR=${join(dir, 'state')}`, ...Object.entries(sanitizerEnv()).map(([k, v]) => `${k}=${v}`)])}`,
        `tmp_dir = "${join(dir, 'tmp')}"`,
        '',
      ].join('\n'),
    );
    const holder = spawn('unshare', ['--net', '--mount', '--propagation', 'private', 'bash', '-c', HOLDER_SETUP], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    holder.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      holder.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('ready\n')) resolve();
      });
      holder.on('exit', (code) => reject(new Error(`the podman holder exited (${code}): ${err}`)));
    });
    const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--network-config-dir', join(dir, 'cni')];
    const p = new Podman(dir, bin, holder, base);
    await p.podman('import', '-q', join(dir, 'rootfs.tar'), 'localhost/bb');
    return p;
  }

  /** Runs a command in the holder's namespaces. */
  async inHolder(cmd: string, args: string[], timeout = 120_000): Promise<string> {
    const { stdout } = await run('nsenter', ['-t', String(this.holder.pid), '-n', '-m', cmd, ...args], {
      timeout,
      maxBuffer: 64 << 20,
      env: { ...process.env, CONTAINERS_CONF: join(this.dir, 'containers.conf'), PW_STATE_DIR: join(this.dir, 'state') },
    });
    return stdout;
  }

  /** A podman command; resolves its trimmed stdout. */
  async podman(...args: string[]): Promise<string> {
    try {
      return (await this.inHolder('podman', [...this.base, ...args])).trim();
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`podman ${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
    }
  }

  /** Writes the network `name` as a conflist in podman's network config dir. */
  network(name: string, plugins: Array<Record<string, unknown>>): void {
    writeFileSync(join(this.dir, 'cni', `${name}.conflist`), JSON.stringify({ cniVersion: '1.0.0', name, plugins }));
  }

  /** host-local's leases (IP-named files) for a network, with their holders. */
  leases(network: string): Map<string, string> {
    const d = join(this.dir, 'ipam', network);
    const out = new Map<string, string>();
    if (!existsSync(d)) return out;
    for (const f of readdirSync(d)) if (/^[0-9a-f.:]+$/.test(f)) out.set(f, readFileSync(join(d, f), 'utf8').split(/\r?\n/)[0]!);
    return out;
  }

  /** Link names in podman's host namespace. */
  async links(): Promise<string[]> {
    return (JSON.parse(await this.inHolder('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
  }

  /** Entries of a directory inside the holder's mount namespace (its /run/netns, /var/lib/cni/results). */
  async ls(path: string): Promise<string[]> {
    const out = await this.inHolder('sh', ['-c', `[ -d "$1" ] && ls -A "$1" || true`, 'sh', path]);
    return out.split('\n').filter(Boolean);
  }

  /** pipewright's records, journal entries and container lock files for this podman (test/helpers/cni-world.ts says which files count). */
  stateFiles(): string[] {
    const out: string[] = [];
    for (const sub of ['cni', 'attachments', 'cni-locks']) {
      const d = join(this.dir, 'state', sub);
      if (existsSync(d)) out.push(...readdirSync(d).map((f) => `${sub}/${f}`));
    }
    return out.sort();
  }

  /** conmon processes of this instance still alive (they outlive podman by design). */
  conmons(): number[] {
    const pids: number[] = [];
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.startsWith('/usr/bin/conmon\0') && cmd.includes(this.dir)) pids.push(Number(pid));
      } catch {
        // exited while we looked
      }
    }
    return pids;
  }

  /**
   * Removes every container, waits for their conmons to go (killing, by
   * PID, any still there after a generous deadline: they are ours), ends the
   * holder and removes the dir.
   */
  async stop(): Promise<void> {
    try {
      await this.podman('rm', '-a', '-f', '-t', '0');
    } finally {
      for (const until = Date.now() + 30_000; this.conmons().length > 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
      for (const pid of this.conmons()) process.kill(pid, 'SIGKILL');
      this.holder.stdin!.end();
      if (this.holder.exitCode === null) await new Promise((r) => this.holder.on('exit', r));
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
