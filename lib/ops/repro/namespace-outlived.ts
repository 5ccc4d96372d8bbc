// §3 The namespace that outlived its container. A container (a process in
// its own network namespace, eth0 10.2.1.15/24 on a veth into the host's
// bridge) is named by "the daemon" (`ip netns attach`), and a "monitor" in a
// mount namespace of its own keeps a copy of that handle. The container is
// removed as Docker removed it: its process killed, `ip netns delete`. A new
// pod then gets the same IP. The old way — `ip netns list`, and nsenter into
// every process's namespace looking for the IP — sees one copy of the
// address and no trace of the old namespace. pipewright's scan finds it,
// names the mount that keeps it, find-ip reports the conflict, and the
// release it suggests really frees it.
import { spawn, ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Handle } from '../../core/handle';
import { DEFAULT_RUN_DIR } from '../../core/netns';
import { findIp, holders, scanNamespaces, waitReleased } from '../forensics';
import { Checks, exec, privateHost, sleep, track, uniqueName } from './common';
import type { Scenario } from './types';

/** The pod IP of the write-up. */
const POD_IP = '10.2.1.15';

interface Proc {
  pid: number;
  /** Ends it (SIGKILL) and waits until it is gone. */
  kill(): Promise<void>;
}

function proc(child: ChildProcess): Proc {
  // Listen before anything can happen: a process that already exited never emits 'exit' again.
  const exited = once(child, 'exit').then(() => undefined);
  return {
    pid: child.pid!,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A container: `unshare --net sleep`, returned once its namespace exists. */
async function container(): Promise<Proc & { id: string; ino: number }> {
  const ours = readlinkSync('/proc/self/ns/net');
  const p = proc(track(spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' })));
  for (const until = Date.now() + 5000; ; await sleep(5)) {
    try {
      if (readlinkSync(`/proc/${p.pid}/ns/net`) !== ours) break;
    } catch {
      // not started yet
    }
    if (Date.now() > until) {
      await p.kill();
      throw new Error('the container process did not get its own network namespace in 5 s');
    }
  }
  const st = statSync(`/proc/${p.pid}/ns/net`);
  return { ...p, id: `${st.dev}:${st.ino}`, ino: st.ino };
}

/** What Docker does for a container: a veth whose host end is a port of cbr0, eth0 with the pod IP inside. */
async function plug(host: Handle, pid: number, hostEnd: string): Promise<void> {
  await host.link.add({ kind: 'veth', name: hostEnd, up: true, master: 'cbr0', peer: { name: 'eth0', netns: { pid }, up: true } });
  const g = await Handle.open({ pid });
  try {
    await g.link.set('lo', { up: true });
    await g.addr.add('eth0', `${POD_IP}/24`);
  } finally {
    await g.close();
  }
}

// The monitor: its own mount namespace, so it holds copies of the daemon's
// mounts; it binds its copy of the container's handle onto a file of its own.
// (Since Linux 3.18, unlinking a mount point detaches its copies in every
// mount namespace: a copy on the same path as the name would not outlive
// `ip netns delete`. Under any other path it does.) It then drops its copy
// of /run/netns, so that it keeps nothing of other tests' named namespaces.
const MONITOR = 'mount --bind "$1/$2" "$3" && umount -l "$1" && echo ready && exec sleep 60';

async function monitor(name: string): Promise<Proc & { mountPoint: string; mntns: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-monitor-'));
  const mountPoint = join(dir, 'net');
  writeFileSync(mountPoint, '');
  const child = track(spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', MONITOR, 'monitor', DEFAULT_RUN_DIR, name, mountPoint], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const p = proc(child);
  const stop = async () => {
    await p.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the monitor did not start in 5 s')), 5000);
      child.on('exit', (code) => reject(new Error(`the monitor exited (${code}): ${stderr.trim()}`)));
      createInterface({ input: child.stdout! }).on('line', (l) => {
        if (l === 'ready') clearTimeout(timer), resolve();
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const mntns = Number(/^mnt:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p.pid}/ns/mnt`))![1]);
  return { ...p, kill: stop, mountPoint, mntns };
}

// The write-up's search, with the real tools: the names iproute2 lists, then
// every process's namespace (one nsenter per distinct one) and every name,
// each searched for the IP.
const OLD_WAY = `IP=$1
names=$(ip netns list | cut -d' ' -f1)
for n in $names; do echo "name $n"; done
declare -A pidOf
for p in /proc/[0-9]*; do
  ns=$(readlink $p/ns/net 2>/dev/null) || continue
  [ -n "\${pidOf[$ns]}" ] || pidOf[$ns]=\${p#/proc/}
done
for ns in "\${!pidOf[@]}"; do
  echo "procns $ns"
  if nsenter --net=/proc/\${pidOf[$ns]}/ns/net ip -o addr show 2>/dev/null | grep -qF " $IP/"; then echo "found $ns"; fi
done
for n in $names; do
  if ip -n "$n" -o addr show 2>/dev/null | grep -qF " $IP/"; then echo "found net:[$(stat -L -c %i "/run/netns/$n")]"; fi
done`;

/**
 * Another test's scan may have the ghost open for a moment (an fd of
 * another process): that holder is passing by, so look again, a few times,
 * until it is gone. Returns the last result.
 */
async function withoutPassersBy<T>(look: () => Promise<T>, passerBy: (r: T) => boolean): Promise<T> {
  let r = await look();
  for (let i = 0; i < 5 && passerBy(r); i++) {
    await sleep(50);
    r = await look();
  }
  return r;
}

const lines = (out: string, tag: string) => out.split('\n').filter((l) => l.startsWith(`${tag} `)).map((l) => l.slice(tag.length + 1));

export const namespaceOutlived: Scenario = {
  name: 'namespace-outlived',
  title: 'The namespace that outlived its container (Docker with MountFlags=slave)',
  section: 3,
  async run() {
    const c = new Checks();
    const stops: Array<() => Promise<void>> = [];
    const host = await privateHost();
    const name = uniqueName('pwctr');
    const details: Record<string, unknown> = {};
    let oldWay: Record<string, number | string | boolean> = {};
    let pw: Record<string, number | string | boolean> = {};
    let oldSummary = 'not reached';
    let pwSummary = 'not reached';
    try {
      await host.h.link.add({ kind: 'bridge', name: 'cbr0', up: true });
      await host.h.addr.add('cbr0', '10.2.1.1/24');
      const ctr = await container();
      stops.push(ctr.kill);
      await plug(host.h, ctr.pid, 'vethold');
      const attach = await exec('ip', ['netns', 'attach', name, String(ctr.pid)]);
      if (attach.code !== 0) throw new Error(`ip netns attach ${name} ${ctr.pid}: ${attach.stderr.trim()}`);
      const mon = await monitor(name);
      stops.push(mon.kill);
      const before = await holders(name);
      details.holdersWhileRunning = { processes: before.processes.map((p) => p.pid), names: before.names.map((n) => n.path), mounts: before.mounts.map((m) => `${m.mountPoint} in mnt:[${m.mntns}]`) };

      // Container removal, as Docker did it; then the new pod with the same IP.
      await ctr.kill();
      const del = await exec('ip', ['netns', 'delete', name]);
      c.equal(del.code, 0, '`ip netns delete` of the removed container exits 0');
      const pod = await container();
      stops.push(pod.kill);
      await plug(host.h, pod.pid, 'vethnew');
      const staleEnd = (await host.h.link.find('vethold')) !== null;
      c.ok(staleEnd, "the removed container's veth host end is still on cbr0");

      // The old way.
      let started = performance.now();
      const old = await exec('bash', ['-c', OLD_WAY, 'repro', POD_IP], { timeoutMs: 30_000 });
      const oldMs = Math.round(performance.now() - started);
      if (old.code !== 0) throw new Error(`the old way's search failed (${old.code}): ${old.stderr.trim()}`);
      const names = lines(old.stdout, 'name');
      const procNs = lines(old.stdout, 'procns');
      const found = lines(old.stdout, 'found');
      const ghostLink = `net:[${ctr.ino}]`;
      c.ok(!names.includes(name), `old way: \`ip netns list\` no longer lists ${name}`);
      c.ok(!procNs.includes(ghostLink), `old way: no process's /proc/PID/ns/net is ${ghostLink}`);
      c.ok(!found.includes(ghostLink), `old way: searching every reachable namespace does not find ${POD_IP} in the old container's`);
      c.ok(found.includes(`net:[${pod.ino}]`), `old way: it finds ${POD_IP} in the new pod only, so nothing looks wrong`);
      const ghostSeen = names.includes(name) || procNs.includes(ghostLink) || found.includes(ghostLink);
      oldWay = { deleteExit: del.code, namesListed: names.length, processNamespaces: procNs.length, namespacesSearched: procNs.length + names.length, ipFoundIn: found.length, ghostSeen, staleHostEnd: staleEnd, searchMs: oldMs };
      oldSummary =
        `\`ip netns delete\` exited ${del.code}; afterwards \`ip netns list\` shows ${names.length} name(s) and /proc ${procNs.length} network namespace(s), ` +
        (ghostSeen ? "and the old container's namespace is among them" : `none of them the old container's; ${POD_IP} is found in ${found.length} namespace(s)${found.includes(`net:[${pod.ino}]`) ? ", the new pod's" : ''} — the ghost copy that steals its traffic is invisible`);

      // pipewright.
      const scan = await withoutPassersBy(() => scanNamespaces({ all: true }), (s) => s.namespaces.some((n) => n.id === ctr.id && n.fds.length > 0));
      const scanMs = scan.elapsedMs;
      const ghost = scan.namespaces.filter((n) => n.id === ctr.id);
      c.equal(ghost.length, 1, `pipewright: scanNamespaces({all}) lists the old container's namespace ${ctr.id} exactly once`);
      const g = ghost[0];
      c.equal(g && [g.processes.length, g.fds.length, g.names.length], [0, 0, 0], 'pipewright: no process, fd or name holds it');
      c.equal(
        g?.mounts.map((m) => ({ pid: m.pid, mntns: m.mntns, mountPoint: m.mountPoint, ours: m.ours })),
        [{ pid: mon.pid, mntns: mon.mntns, mountPoint: mon.mountPoint, ours: false }],
        "pipewright: its one holder is the monitor's mount (pid, mount namespace, mount point)",
      );
      c.equal(g?.flags, { orphan: true, unreachableFromHere: true, current: false }, 'pipewright: flagged orphan and unreachable-from-here');
      c.ok(g?.addresses?.some((a) => a.ifname === 'eth0' && a.address === POD_IP && a.prefixLen === 24) === true, `pipewright: it has eth0 ${POD_IP}/24 inside`);

      started = performance.now();
      const where = await withoutPassersBy(() => findIp(POD_IP), (r) => r.matches.some((m) => m.netns === ctr.id && !m.flags.unreachableFromHere));
      const findMs = Math.round(performance.now() - started);
      const inGhost = where.matches.find((m) => m.netns === ctr.id);
      c.ok(inGhost !== undefined && inGhost.ifname === 'eth0' && inGhost.via.includes(`mount ${mon.mountPoint} in mnt:[${mon.mntns}] (via pid ${mon.pid}`), `pipewright: findIp('${POD_IP}') locates it, through the monitor's mount`);
      c.ok(inGhost?.flags.orphan === true && inGhost.flags.unreachableFromHere, 'pipewright: and flags that copy orphan and unreachable-from-here');
      c.ok(where.conflict && where.namespaces.includes(pod.id), `pipewright: ${POD_IP} is reported as a conflict between the ghost and the new pod`);

      // Follow pipewright's advice, then make sure the namespace (and its veth) really went.
      const h = await withoutPassersBy(() => holders({ ino: ctr.ino }), (r) => r.fds.length > 0);
      const release = `nsenter -t ${mon.pid} -m umount -l ${mon.mountPoint}`;
      c.equal(h.releases.map((r) => r.command), [release], 'pipewright: holders() names the one release: unmount it in the monitor\'s mount namespace');
      started = performance.now();
      const ran = await exec('sh', ['-c', h.releases[0]?.command ?? 'false']);
      const gone = await waitReleased({ ino: ctr.ino }, 5000);
      let hostEndGone = false;
      for (const until = Date.now() + 5000; !(hostEndGone = (await host.h.link.find('vethold')) === null) && Date.now() < until; ) await sleep(20);
      const releaseMs = Math.round(performance.now() - started);
      c.ok(ran.code === 0 && !gone.alive, `pipewright: after the suggested release nothing holds ${ctr.id} (${gone.waitedMs} ms)`);
      c.ok(hostEndGone, "pipewright: and the old container's veth went with its namespace");
      pw = {
        namespaces: scan.namespaces.length, ghostFound: ghost.length === 1, holderPid: mon.pid, holderMntns: mon.mntns, holderMountPoint: mon.mountPoint,
        scanMs, findMs, findMatches: where.matches.length, conflict: where.conflict, releaseMs,
      };
      pwSummary = g
        ? `a scan of ${scan.namespaces.length} namespaces (${scanMs} ms) finds the old container's namespace: ${g.processes.length} process(es), ${g.names.length} name(s), held by ${g.mounts.map((m) => `mount ${m.mountPoint} in mnt:[${m.mntns}] of pid ${m.pid}`).join(', ') || 'no mount'}` +
          `${g.flags.unreachableFromHere ? ', orphan and unreachable-from-here' : ''}; findIp: ${where.matches.length} copies of ${POD_IP}, conflict=${where.conflict}; ` +
          (!gone.alive && hostEndGone ? `the suggested release freed it (and its veth) in ${releaseMs} ms` : 'the suggested release did not free it')
        : `a scan of ${scan.namespaces.length} namespaces (${scanMs} ms) does not find the old container's namespace`;
      details.ghost = ctr.id;
      details.newPod = pod.id;
      details.oldWayFoundIn = found;
      details.findIp = where.matches.map((m) => ({ netns: m.netns, ifname: m.ifname, via: m.via, flags: m.flags }));
      details.release = h.releases[0];
    } finally {
      for (const stop of stops.reverse()) await stop();
      await host.close();
      // Only if the scenario stopped before `ip netns delete`: the name must not outlive it either.
      await exec('ip', ['netns', 'delete', name]);
    }
    return {
      name: this.name,
      title: this.title,
      done: [
        `a container (\`unshare --net sleep\`) with eth0 ${POD_IP}/24 on a veth into cbr0 of a private host namespace, named by \`ip netns attach ${name}\` as the daemon names it`,
        `a monitor in its own mount namespace (\`unshare --mount --propagation private\`) binds its copy of the container's handle onto a file of its own, as the write-up's monitors held copies of the daemon's mounts`,
        `container removed as Docker removes it: its process killed, \`ip netns delete ${name}\`; a new pod gets ${POD_IP}`,
        "old way: `ip netns list`; every /proc/PID/ns/net; `nsenter --net=/proc/PID/ns/net ip -o addr` in each namespace and `ip -n NAME -o addr` for each name, looking for the IP",
        `pipewright: scanNamespaces({ all: true }), findIp('${POD_IP}'), holders(); then the release holders() suggests, and a bounded wait until the namespace is gone`,
      ],
      oldWay: { summary: oldSummary, ...oldWay },
      pipewright: { summary: pwSummary, ...pw },
      checks: c.list,
      details,
    };
  },
};
