// Host-wide checks on namespaces: the same address in two of them, namespaces
// nothing runs in and nothing names, stale names, and /run/netns propagation.
// fs.promises, read at each call: node:fs/promises (with streams and readline) loads on first use, not at every CLI start.
import { promises as fsp } from 'node:fs';
import { isLocalOnly } from '../find';
import { parseMountinfoLine } from '../procfs';
import { Check, CheckResult, DoctorObject, failed, passed, some } from './types';

export const duplicateAddresses: Check = (ctx) => {
  const id = 'duplicate-addresses';
  const where = new Map<string, Array<{ ns: string; ifname: string; index: number }>>();
  for (const ns of ctx.scan.namespaces) {
    for (const a of ns.addresses ?? []) {
      if (isLocalOnly(a.address)) continue;
      const list = where.get(a.address) ?? [];
      if (!list.some((x) => x.ns === ns.id)) list.push({ ns: ns.id, ifname: a.ifname, index: a.index });
      where.set(a.address, list);
    }
  }
  const objects: DoctorObject[] = [];
  const dups: string[] = [];
  for (const [address, list] of where) {
    if (list.length < 2) continue;
    dups.push(`${address} in ${list.length}`);
    for (const x of list) objects.push({ kind: 'address', netns: x.ns, name: x.ifname, index: x.index, detail: address });
  }
  if (dups.length === 0) return passed(id, 'no address is configured in more than one namespace');
  return failed(
    id,
    `${dups.length} address(es) configured in more than one namespace: ${some(dups)}; traffic goes to whichever answers ARP first`,
    'pipewright find-ip ADDRESS shows each copy and its holder; remove the stale one (often a namespace with no process: pipewright netns holders ID)',
    objects,
  );
};

export const orphanedNamespaces: Check = (ctx) => {
  const id = 'orphaned-namespaces';
  // No process, no name, no fd: a namespace kept only by nsfs mounts, the
  // kind nobody looks for (FIELD-NOTES §3). One held by an fd belongs to a
  // live program (pipewright's own anonymous namespaces are held that way).
  const orphans = ctx.scan.namespaces.filter((n) => n.flags.orphan && n.names.length === 0 && n.fds.length === 0);
  if (orphans.length === 0) return passed(id, 'every namespace has a process, a name or a program holding it');
  const objects: DoctorObject[] = orphans.map((n) => ({
    kind: 'netns',
    netns: n.id,
    detail: `held only by ${n.mounts.map((m) => `${m.mountPoint} in mnt:[${m.mntns}]${m.ours ? ' (ours)' : ` (pid ${m.pid} ${m.comm})`}`).join(', ')}` +
      `; ${n.interfaces ?? '?'} interface(s)${n.addresses?.some((a) => !isLocalOnly(a.address)) ? `, addresses ${n.addresses.filter((a) => !isLocalOnly(a.address)).map((a) => a.address).join(' ')}` : ''}`,
  }));
  return failed(
    id,
    `${orphans.length} namespace(s) with no process and no name, kept alive by mounts: ${some(orphans.map((n) => n.id + (n.flags.unreachableFromHere ? ' (unreachable from here)' : '')))}`,
    'pipewright netns holders ID lists each mount and the command that releases it (unmount it in its mount namespace; a name in /run/netns may be unlinked instead, which detaches it everywhere)',
    objects,
  );
};

export const staleNames: Check = (ctx) => {
  const id = 'stale-names';
  if (ctx.scan.stale.length === 0) return passed(id, 'every entry of /run/netns and /var/run/docker/netns is a namespace');
  return failed(
    id,
    `${ctx.scan.stale.length} name(s) that are no longer namespaces (setns/nsenter fail with 'Invalid argument'): ${some(ctx.scan.stale.map((s) => s.path))}`,
    'remove each stale file (rm PATH, or ip netns delete NAME); tools that only check that the file exists will keep failing on it',
    ctx.scan.stale.map((s) => ({ kind: 'path', path: s.path, name: s.name, detail: s.reason })),
  );
};

/** The optional fields (propagation) of the mount on top at `dir` in a mountinfo text; null when `dir` is not a mount point. */
export function mountPropagation(mountinfo: string, dir: string): string[] | null {
  // The last entry for a mount point is the one on top, the one path lookups reach.
  let top: string[] | null = null;
  for (const line of mountinfo.split('\n')) {
    const e = parseMountinfoLine(line);
    if (e && e.mountPoint === dir) top = e.optional;
  }
  return top;
}

const RUN_NETNS = '/run/netns';

/** The verdict on /run/netns from a mountinfo text (ours, or another process's to inspect its view). */
export function runNetnsVerdict(mountinfo: string): CheckResult {
  const id = 'run-netns-shared';
  const dir = RUN_NETNS;
  const fix = `make it a shared mount as iproute2 does: mount --bind ${dir} ${dir} (if it is not a mount point) && mount --make-shared ${dir}`;
  const optional = mountPropagation(mountinfo, dir);
  if (optional === null)
    return failed(id, `${dir} is not a mount point: namespaces named there do not propagate to other mount namespaces (containers see a plain file)`, fix, [{ kind: 'path', path: dir, detail: 'not a mount point' }]);
  if (!optional.some((o) => o.startsWith('shared:'))) {
    const how = optional.length ? optional.join(' ') : 'private';
    return failed(id, `${dir} is a ${how} mount, not shared: named namespaces do not propagate to other mount namespaces`, fix, [{ kind: 'path', path: dir, detail: how }]);
  }
  return passed(id, `${dir} is a shared mount`);
}

export const runNetnsShared: Check = async () => {
  try {
    await fsp.stat(RUN_NETNS);
  } catch {
    return passed('run-netns-shared', `${RUN_NETNS} does not exist yet: ip netns add and pipewright create it as a shared mount`);
  }
  return runNetnsVerdict(await fsp.readFile('/proc/self/mountinfo', 'utf8'));
};
