// Which address each range set gives, decided as the reference plugin
// decides it (backend/allocator/allocator.go), from one look at the store
// taken under its lock:
//
// - an address asked for (CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips)
//   goes to the first range set that contains it; it must not be the
//   range's gateway and must be free;
// - otherwise the container must not hold an address of this range set
//   already, and the search goes round-robin: from the address after
//   last_reserved_ip.<set index> (when that is still in the set), through
//   the end of its range, on into the next range of the set, wrapping, until
//   it is back where it began; the gateway is skipped, taken names are
//   skipped. Without a usable last address it starts at the first range's
//   start.
//
// Errors carry the reference's words, so a runtime sees the same message
// whichever of the two answered.
import { formatIp, sameIp, type Ip } from './ip';
import { rangeContains, rangeSetContains, rangeSetText, type HostLocalConf, type Range, type RangeSet } from './config';

export interface Chosen {
  /** The range set's index (its last_reserved_ip.<index>). */
  set: number;
  ip: Ip;
  range: Range;
}

/** What the allocator needs to know of the store. */
export interface StoreView {
  /** Whether an entry of this name exists (of any kind: the reference's O_EXCL create fails on all). */
  taken(name: string): boolean;
  /** last_reserved_ip.<set>, parsed as the reference parses it, or null. */
  lastReserved(set: number): Ip | null;
  /** Addresses the container (id and interface, or id alone in the old format) holds, in the order the reference walks them. */
  held: Ip[];
}

/** The reference's failure: its message, verbatim (it exits with code 999). */
export class AllocationError extends Error {}

/** The addresses the reference would try in a range set, in its order (RangeIter). */
export function* candidates(set: RangeSet, last: Ip | null): Generator<{ ip: Ip; range: Range }> {
  let idx = 0;
  let cur: Ip | null = null;
  let startIp: Ip | null = set[0]!.start;
  if (last && rangeSetContains(set, last)) {
    idx = set.findIndex((r) => rangeContains(r, last));
    cur = last;
    startIp = null;
  }
  for (;;) {
    let r = set[idx]!;
    if (cur === null) {
      cur = r.start;
      startIp = cur;
      if (sameIp(cur, r.gateway)) continue;
      yield { ip: cur, range: r };
      continue;
    }
    if (cur.value === r.end.value) {
      idx = (idx + 1) % set.length;
      r = set[idx]!;
      cur = r.start;
    } else cur = { family: cur.family, value: cur.value + 1n };
    if (startIp === null) startIp = cur;
    else if (sameIp(cur, startIp)) return;
    if (sameIp(cur, r.gateway)) continue;
    yield { ip: cur, range: r };
  }
}

/**
 * Takes the file of a chosen address (and records it as the set's last):
 * false when the name turned out taken (then the search goes on).
 */
export type Reserve = (c: Chosen) => Promise<boolean>;

/** One range set's address, given what the store holds. */
async function allocateOne(set: RangeSet, index: number, requested: Ip | undefined, view: StoreView, id: string, reserve: Reserve): Promise<Chosen> {
  if (requested) {
    const range = set.find((r) => rangeContains(r, requested))!;
    if (sameIp(requested, range.gateway)) throw new AllocationError(`requested ip ${formatIp(requested)} is subnet's gateway`);
    const c = { set: index, ip: requested, range };
    if (view.taken(formatIp(requested)) || !(await reserve(c))) throw new AllocationError(`requested IP address ${formatIp(requested)} is not available in range set ${rangeSetText(set)}`);
    return c;
  }
  for (const ip of view.held) if (rangeSetContains(set, ip)) throw new AllocationError(`${formatIp(ip)} has been allocated to ${id}, duplicate allocation is not allowed`);
  for (const { ip, range } of candidates(set, view.lastReserved(index))) {
    if (view.taken(formatIp(ip))) continue;
    const c = { set: index, ip, range };
    if (await reserve(c)) return c;
  }
  throw new AllocationError(`no IP addresses available in range set: ${rangeSetText(set)}`);
}

/**
 * One address per range set, in order, each reserved as it is chosen;
 * throws the reference's error for the first set that cannot give one, or
 * for requested addresses no set took (the caller gives back what was
 * reserved, as the reference does).
 */
export async function allocate(conf: HostLocalConf, view: StoreView, id: string, reserve: Reserve, reserved: Chosen[]): Promise<void> {
  const left = [...conf.requested];
  for (const [i, set] of conf.ranges.entries()) {
    const at = left.findIndex((ip) => rangeSetContains(set, ip));
    const requested = at >= 0 ? left.splice(at, 1)[0] : undefined;
    try {
      reserved.push(await allocateOne(set, i, requested, view, id, reserve));
    } catch (e) {
      if (e instanceof AllocationError) throw new AllocationError(`failed to allocate for range ${i}: ${e.message}`);
      throw e;
    }
  }
  if (left.length) throw new AllocationError(`failed to allocate all requested IPs:${left.map((ip) => ` ${formatIp(ip)}`).join('')}`);
}
