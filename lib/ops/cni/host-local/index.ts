// The built-in host-local IPAM: what the reference host-local binary does
// for ADD, DEL and CHECK, done in this process on the same store (so the two
// can take turns on one network, and a node can switch either way keeping
// its leases), without starting a process for it. A configuration the
// built-in does not understand exactly is answered { delegate } and the
// reference binary runs instead. There is no GC here: the reference binary
// has none (a lease it did not make is not ours to judge stale); the leases
// of pipewright's own stale attachments go with their teardown (gc.ts).
//
// Failures read as the reference's do through delegate.ts: code 999 (its
// "internal" code: the reference returns plain errors), and the message
// 'plugin "host-local" failed (VERB): <the reference's own words>'.
import { CniError } from '../errors';
import type { Verb } from '../env';
import { parseArgs } from '../env';
import { parseHostLocal, HostLocalConfigError, type HostLocalConf } from './config';
import { allocate, AllocationError, type Chosen } from './allocator';
import { openStore, leaseContent, leasesOf, releasePlan, viewOf, writable, ipName, LAST_RESERVED, type Lease, type Store } from './store';
import { readResolvConf } from './resolv';
import { formatIp } from './ip';
import type { CniDns } from '../result';

export const BUILTIN = 'host-local';

/** The reference's generic error code (types.ErrInternal). */
const ERR_INTERNAL = 999;

export type BuiltinAnswer = { result: unknown } | { delegate: string };

/** The verbs the built-in answers; others (VERSION, STATUS, GC) the reference does nothing for. */
export type BuiltinVerb = Extract<Verb, 'ADD' | 'DEL' | 'CHECK'>;

function failed(verb: string, msg: string): CniError {
  return new CniError(ERR_INTERNAL, `plugin "${BUILTIN}" failed (${verb}): ${msg}`);
}

/**
 * Runs one verb on the store; env is the plugin's environment (CNI_CONTAINERID,
 * CNI_IFNAME, CNI_ARGS). ADD changes the store only once `changesAfter`
 * resolved (it reads it meanwhile), and not at all if it rejects.
 */
export async function hostLocal(verb: BuiltinVerb, stdin: string, env: NodeJS.ProcessEnv, changesAfter: Promise<unknown> = Promise.resolve()): Promise<BuiltinAnswer> {
  changesAfter.catch(() => undefined); // its reason is reported below, whenever it is looked at
  let parsed;
  try {
    parsed = parseHostLocal(stdin, parseArgs(env.CNI_ARGS));
  } catch (e) {
    if (e instanceof HostLocalConfigError) throw failed(verb, e.message);
    throw e;
  }
  if ('delegate' in parsed) return parsed;
  try {
    return await run(verb, parsed.conf, env, changesAfter);
  } catch (e) {
    // What kept the changes back failed: its reason comes first, as it is
    // (the store was not changed).
    const gate = await changesAfter.then(() => null, (reason: unknown) => ({ reason }));
    if (gate) throw gate.reason;
    // The store's own failures (a link refused, a full disk) read as the reference's do: code 999, naming the file.
    if (e instanceof CniError) throw e;
    throw failed(verb, e instanceof Error ? e.message : String(e));
  }
}

async function run(verb: BuiltinVerb, conf: HostLocalConf, env: NodeJS.ProcessEnv, changesAfter: Promise<unknown>): Promise<BuiltinAnswer> {
  const id = env.CNI_CONTAINERID ?? '';
  const ifname = env.CNI_IFNAME ?? '';
  switch (verb) {
    case 'ADD':
      return { result: await add(conf, id, ifname, changesAfter) };
    case 'DEL':
      await del(conf, id, ifname);
      return { result: null };
    case 'CHECK':
      await check(conf, id, ifname);
      return { result: null };
  }
}

async function add(conf: HostLocalConf, id: string, ifname: string, changesAfter: Promise<unknown>): Promise<unknown> {
  let dns: CniDns = {};
  if (conf.resolvConf) {
    try {
      dns = await readResolvConf(conf.resolvConf);
    } catch (e) {
      throw failed('ADD', (e as Error).message);
    }
  }
  const store = await openStore(conf.dataDir, conf.network);
  const content = leaseContent(id, ifname);
  const reserved: Chosen[] = [];
  try {
    const view = viewOf(store, id, ifname);
    await allocate(conf, view, id, reserveIn(store, content, changesAfter), reserved);
    await store.dir.release();
  } catch (e) {
    // Given back as the reference gives them back: the files go, last_reserved_ip stays.
    const undo = reserved.map((c) => ({ op: 'remove' as const, name: ipName(c.ip), data: content }));
    await store.dir.applyAndRelease(undo).catch(() => store.dir.release());
    if (e instanceof AllocationError) throw failed('ADD', e.message);
    throw e;
  }
  return {
    cniVersion: '1.0.0',
    ips: reserved.map((c) => ({ address: `${formatIp(c.ip)}/${c.range.subnet.prefix}`, gateway: formatIp(c.range.gateway) })),
    ...(conf.routes.length ? { routes: conf.routes } : {}),
    dns,
  };
}

/** The reference's Reserve: the address's file made exclusively, then last_reserved_ip.<set> written. */
function reserveIn(store: Store, content: string, changesAfter: Promise<unknown>) {
  return async (c: Chosen): Promise<boolean> => {
    const last = `${LAST_RESERVED}${c.set}`;
    // A link (or directory) in last_reserved_ip's place is refused before anything is made.
    if (!writable(store, last)) throw failed('ADD', `${store.dir.path}/${last} is not a regular file: refused`);
    await changesAfter;
    const out = await store.dir.apply([
      { op: 'create', name: ipName(c.ip), data: content },
      { op: 'write', name: last, data: formatIp(c.ip) },
    ]);
    return out[0] === 'created';
  };
}

async function removeAll(store: Store, leases: Lease[]): Promise<void> {
  const raw = (l: Lease) => store.entries.get(l.name)?.data ?? l.owner;
  // Each only while it still holds what was read (it is, under the lock, unless someone ignores the lock).
  await store.dir.applyAndRelease(leases.map((l) => ({ op: 'remove' as const, name: l.name, data: raw(l) })));
}

async function del(conf: HostLocalConf, id: string, ifname: string): Promise<void> {
  const store = await openStore(conf.dataDir, conf.network);
  try {
    await removeAll(store, releasePlan(store, id, ifname, conf.ranges.length));
  } finally {
    await store.dir.release();
  }
}

async function check(conf: HostLocalConf, id: string, ifname: string): Promise<void> {
  const store = await openStore(conf.dataDir, conf.network);
  let found: boolean;
  try {
    const { current, old } = leasesOf(store, id, ifname);
    found = current.length + old.length > 0;
  } finally {
    await store.dir.release();
  }
  if (!found) throw failed('CHECK', `host-local: Failed to find address added by container ${id}`);
}
