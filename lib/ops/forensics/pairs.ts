// Which veth is whose peer, across namespaces, from link dumps alone. A veth
// reports its peer's ifindex (IFLA_LINK) and, when the peer is in another
// namespace, that namespace's id as seen from here (IFLA_LINK_NETNSID).
// Turning a netnsid into a namespace needs RTM_GETNSID, which we do not
// have, so instead: a veth A in X (link=j) and a veth B in Y (index j,
// link=A.index) are candidates. Most are unique. The rest are settled with
// what the unique ones taught us: in X, one netnsid always names the same Y,
// and in Y, B's netnsid must name X.
import type { Link } from '../../core/types';

export interface LinkAt {
  ns: string;
  index: number;
}

export interface NsLinks {
  id: string;
  links?: Link[];
}

export interface Pairing {
  /** The peer of a veth, or null when it is unknown (gone, unreadable, or ambiguous). */
  peerOf(at: LinkAt): LinkAt | null;
  /** The namespace a netnsid of `ns` refers to, when the pairing revealed it. */
  nsidTarget(ns: string, nsid: number): string | undefined;
  /** The link a (ns, index, netnsid) reference points at: a macvlan's or vxlan's lower device, a veth's peer. */
  resolve(ns: string, index: number, nsid?: number): LinkAt | null;
  /** Veths with more than one possible peer after every constraint was applied. */
  ambiguous: Array<{ at: LinkAt; candidates: LinkAt[] }>;
}

const key = (a: LinkAt) => `${a.ns}/${a.index}`;

/**
 * IFLA_LINK as meant: kernels before 5.12 leave the attribute out when it
 * equals the link's own index, which across namespaces is common (the first
 * veth in two fresh namespaces is index 2 in both); newer ones always send
 * it beside IFLA_LINK_NETNSID, and the decoder keeps whatever was sent
 * (native/link.cc). With a netnsid present, a missing IFLA_LINK therefore
 * means "the same index, over there". Zero means the peer is gone.
 */
export function linkTarget(l: Link): number | undefined {
  if (l.link !== undefined) return l.link;
  return l.linkNetnsId !== undefined ? l.index : undefined;
}

/**
 * Pairs veths. `known` seeds facts learnt elsewhere ("NS#NSID" -> namespace id),
 * e.g. asked of the kernel for the few pairs the links alone leave ambiguous.
 */
export function pairVeths(namespaces: readonly NsLinks[], known?: ReadonlyMap<string, string>): Pairing {
  const byNs = new Map<string, Map<number, Link>>();
  const byIndex = new Map<number, Array<{ ns: string; link: Link }>>();
  for (const n of namespaces) {
    const m = new Map<number, Link>();
    for (const l of n.links ?? []) {
      m.set(l.index, l);
      if (l.kind === 'veth') {
        const list = byIndex.get(l.index) ?? [];
        list.push({ ns: n.id, link: l });
        byIndex.set(l.index, list);
      }
    }
    byNs.set(n.id, m);
  }
  const peer = new Map<string, LinkAt>();
  const nsid = new Map<string, string>(known ?? []);
  const pending: Array<{ at: LinkAt; link: Link; candidates: Array<{ at: LinkAt; link: Link }> }> = [];

  for (const n of namespaces) {
    for (const a of n.links ?? []) {
      const target = linkTarget(a);
      if (a.kind !== 'veth' || !target) continue;
      const at = { ns: n.id, index: a.index };
      if (a.linkNetnsId === undefined) {
        const b = byNs.get(n.id)!.get(target);
        if (b && b.kind === 'veth' && b.link === a.index && b.linkNetnsId === undefined) peer.set(key(at), { ns: n.id, index: b.index });
        continue;
      }
      const candidates = (byIndex.get(target) ?? [])
        .filter((c) => c.ns !== n.id && c.link.linkNetnsId !== undefined && linkTarget(c.link) === a.index)
        .map((c) => ({ at: { ns: c.ns, index: c.link.index }, link: c.link }));
      pending.push({ at, link: a, candidates });
    }
  }

  const learn = (x: LinkAt, xl: Link, y: LinkAt, yl: Link) => {
    peer.set(key(x), y);
    peer.set(key(y), x);
    nsid.set(`${x.ns}#${xl.linkNetnsId}`, y.ns);
    nsid.set(`${y.ns}#${yl.linkNetnsId}`, x.ns);
  };
  // Constraint propagation: each round settles the veths left with one
  // consistent candidate; stop when a round settles nothing.
  //
  // A match is learnt only when it is mutual: the candidate, seen from its
  // own side, has this veth as its only candidate too. The namespaces are
  // dumped one after another, so a veth whose true peer was deleted (or whose
  // peer's namespace went) between two dumps can be left with a single
  // look-alike elsewhere; learning that match would also teach a wrong
  // namespace id, which then rules out the true peers of every other veth
  // of that namespace (a healthy link reported "peer gone"). A one-sided
  // match stays ambiguous, for the kernel to settle (pairVethsExact).
  const pendingAt = new Map(pending.map((p) => [key(p.at), p]));
  const consistent = (p: (typeof pending)[number]) => {
    const want = nsid.get(`${p.at.ns}#${p.link.linkNetnsId}`);
    return p.candidates.filter((c) => {
      if (peer.has(key(c.at))) return false;
      if (want !== undefined && c.at.ns !== want) return false;
      const back = nsid.get(`${c.at.ns}#${c.link.linkNetnsId}`);
      return back === undefined || back === p.at.ns;
    });
  };
  let open = pending;
  for (let progress = true; progress && open.length > 0; ) {
    progress = false;
    const still: typeof open = [];
    for (const p of open) {
      if (peer.has(key(p.at))) continue;
      p.candidates = consistent(p);
      if (p.candidates.length === 1) {
        const c = p.candidates[0]!;
        const other = pendingAt.get(key(c.at));
        const back = other ? consistent(other) : [];
        if (other && !(back.length === 1 && key(back[0]!.at) === key(p.at))) {
          still.push(p);
          continue;
        }
        learn(p.at, p.link, c.at, c.link);
        progress = true;
      } else if (p.candidates.length > 1) still.push(p);
    }
    open = still;
  }

  return {
    peerOf: (at) => peer.get(key(at)) ?? null,
    nsidTarget: (ns, id) => nsid.get(`${ns}#${id}`),
    resolve(ns, index, id) {
      const target = id === undefined ? ns : nsid.get(`${ns}#${id}`);
      if (target === undefined || !byNs.get(target)?.has(index)) return null;
      return { ns: target, index };
    },
    ambiguous: open.filter((p) => !peer.has(key(p.at))).map((p) => ({ at: p.at, candidates: p.candidates.map((c) => c.at) })),
  };
}
