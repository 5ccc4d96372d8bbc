// §2 Ten thousand tap devices. Three namespace handles that exist as files
// but are no usable network namespace: a plain file, a bind-mount target left
// after umount, and a name whose mount lives only in another (private) mount
// namespace. Neutron's loop, the naive way with real iproute2 — create a tap,
// check the namespace file exists, move the tap in, fail, retry — leaks one
// DOWN device per try. pipewright's attach() against the same handles
// creates nothing and says why on the first try. The loop makes taps where
// this process can (not in an unprivileged user namespace: leak-device.ts),
// else veth pairs, which leak the same way.
import { spawn, ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { attach } from '../attach';
import { DEFAULT_RUN_DIR } from '../../core/netns';
import { Checks, errorText, exec, privateHost, script, track, uniqueName } from './common';
import { leakDevice } from './leak-device';
import { diff, netState, procState } from './state';
import type { Scenario } from './types';

/** Tries per handle (neutron retried forever; 50 is enough to see the slope). */
const K = 50;

interface BadHandle {
  key: string;
  what: string;
  name: string;
  cleanup(): Promise<void>;
}

// Neutron's loop: allocate a device, "ensure" the namespace by checking that
// its file exists, move the device in; on failure, retry with a new device.
// \`add\` (leak-device.ts) is defined in front of it.
const NAIVE_LOOP = `NS=$1; P=$2; K=$3; moved=0; failed=0; first=
for i in $(seq 1 $K); do
  add $P$i || continue
  if [ -e /run/netns/$NS ]; then
    if err=$(ip link set dev $P$i netns $NS 2>&1); then moved=$((moved+1)); else failed=$((failed+1)); [ -n "$first" ] || first=$err; fi
  fi
done
echo "moved=$moved failed=$failed"
echo "first-error=$first"`;

async function plainFile(): Promise<BadHandle> {
  const name = uniqueName('pwplain');
  writeFileSync(`${DEFAULT_RUN_DIR}/${name}`, '');
  return { key: 'plain', what: 'a plain file', name, cleanup: async () => rmSync(`${DEFAULT_RUN_DIR}/${name}`, { force: true }) };
}

async function unmounted(): Promise<BadHandle> {
  const name = uniqueName('pwumnt');
  const add = await exec('ip', ['netns', 'add', name]);
  if (add.code !== 0) throw new Error(`ip netns add ${name}: ${add.stderr.trim()}`);
  const um = await exec('umount', [`${DEFAULT_RUN_DIR}/${name}`]);
  if (um.code !== 0) throw new Error(`umount ${DEFAULT_RUN_DIR}/${name}: ${um.stderr.trim()}`);
  return { key: 'unmounted', what: 'a bind-mount target left after umount', name, cleanup: async () => rmSync(`${DEFAULT_RUN_DIR}/${name}`, { force: true }) };
}

/** `ip netns add` run in a child's private mount namespace: we see the file, not the mount. */
async function otherMountNs(): Promise<BadHandle> {
  const name = uniqueName('pwmntns');
  const child: ChildProcess = track(
    spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'ip netns add "$1" && echo ready && exec sleep 60', 'sh', name], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const cleanup = async () => {
    child.kill('SIGKILL');
    await exited;
    rmSync(`${DEFAULT_RUN_DIR}/${name}`, { force: true });
  };
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the mount-namespace holder did not start in 5 s')), 5000);
      child.on('exit', (code) => reject(new Error(`unshare … ip netns add exited (${code}): ${stderr.trim()}`)));
      createInterface({ input: child.stdout! }).on('line', (l) => {
        if (l === 'ready') clearTimeout(timer), resolve();
      });
    });
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { key: 'otherMountNs', what: 'a name whose mount exists only in another mount namespace', name, cleanup };
}

export const tapLeak: Scenario = {
  name: 'tap-leak',
  title: 'Ten thousand tap devices (OpenStack neutron in Kolla containers)',
  section: 2,
  async run() {
    const c = new Checks();
    const handles: BadHandle[] = [];
    const oldWay: Record<string, number | string> = {};
    const pw: Record<string, number | string> = {};
    const details: Record<string, unknown> = {};
    const dev = await leakDevice();
    details.device = dev.kind;
    try {
      handles.push(await plainFile(), await unmounted(), await otherMountNs());
      for (const b of handles) c.ok((await exec('test', ['-e', `${DEFAULT_RUN_DIR}/${b.name}`])).code === 0, `${b.what}: the naive check passes ([ -e /run/netns/${b.name} ])`);

      // The old way, in its own private host namespace.
      const hostA = await privateHost();
      try {
        for (const [i, b] of handles.entries()) {
          const prefix = `${dev.kind}${'abc'[i]}`;
          const r = await script(hostA.ns, `${dev.addFunction}\n${NAIVE_LOOP}`, [b.name, prefix, String(K)], 30_000);
          const links = await hostA.h.link.list();
          const leaked = links.filter((l) => l.name.startsWith(prefix) && !l.up).length;
          oldWay[`${b.key}Leaked`] = leaked;
          oldWay[`${b.key}MoveFailed`] = Number(/failed=(\d+)/.exec(r.stdout)?.[1] ?? -1);
          details[`${b.key}OldError`] = /first-error=(.*)/.exec(r.stdout)?.[1] ?? r.stderr.trim();
          c.equal(leaked, K, `old way, ${b.what}: ${K} tries leak ${K} DOWN ${dev.noun}`);
        }
      } finally {
        await hostA.close();
      }

      // pipewright, in another private host namespace, against the same handles.
      const hostB = await privateHost();
      try {
        for (const b of handles) {
          const before = { net: await netState(hostB.h), proc: procState() };
          const codes = new Map<string, number>();
          let first = '';
          for (let i = 0; i < K; i++) {
            const err = await attach({ host: hostB.h, hostIf: 'br0', guest: b.name, address: '10.9.0.2/24' }).then(
              () => null,
              (e: unknown) => e,
            );
            const code = (err as { code?: string } | null)?.code ?? 'attached';
            codes.set(code, (codes.get(code) ?? 0) + 1);
            if (i === 0) first = errorText(err);
          }
          const after = { net: await netState(hostB.h), proc: procState() };
          const changes = [...diff(before.net, after.net), ...diff(before.proc, after.proc)];
          pw[`${b.key}Leaked`] = after.net.links.length - before.net.links.length;
          pw[`${b.key}Refused`] = codes.get('ERR_PW_NOT_A_NETNS') ?? 0;
          details[`${b.key}PipewrightError`] = first;
          c.equal(Object.fromEntries(codes), { ERR_PW_NOT_A_NETNS: K }, `pipewright, ${b.what}: all ${K} attaches refused with ERR_PW_NOT_A_NETNS`);
          c.ok(/nsfs|network namespace/i.test(first), `pipewright, ${b.what}: the first error names the cause`);
          c.equal(changes, [], `pipewright, ${b.what}: nothing created (links, addresses, routes, mounts, fds identical)`);
        }
      } finally {
        await hostB.close();
      }
    } finally {
      for (const b of handles) await b.cleanup();
    }
    const leakedOld = handles.reduce((n, b) => n + Number(oldWay[`${b.key}Leaked`] ?? 0), 0);
    const leakedPw = handles.reduce((n, b) => n + Number(pw[`${b.key}Leaked`] ?? 0), 0);
    return {
      name: this.name,
      title: this.title,
      done: [
        `made three bad handles under /run/netns: ${handles.map((b) => `${b.what} (${b.name})`).join('; ')}`,
        `old way: neutron's loop ${K} times per handle with real iproute2 — ${dev.kind === 'tap' ? '`ip tuntap add`' : '`ip link add … type veth`'}, \`[ -e /run/netns/NAME ]\`, \`ip link set dev DEV netns NAME\`, fail, retry`,
        `pipewright: attach() ${K} times per handle against the same names; host namespace and process state compared before and after`,
      ],
      oldWay: { summary: `${leakedOld} DOWN ${dev.noun} leaked in ${K * handles.length} tries; the only message: "${String(details.plainOldError ?? '')}"`, tries: K * handles.length, leaked: leakedOld, ...oldWay },
      pipewright: { summary: `${leakedPw} devices leaked in ${K * handles.length} tries; refused from the first try: "${String(details.plainPipewrightError ?? '')}"`, tries: K * handles.length, leaked: leakedPw, ...pw },
      checks: c.list,
      ...(dev.tapUnavailable ? { skipped: [`tap devices: ${dev.tapUnavailable}; the loop made veth pairs instead, which leak the same way`] } : {}),
      details,
    };
  },
};
