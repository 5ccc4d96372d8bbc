// Veth pairing from link dumps taken one namespace after another (issue 11:
// gc must never call a healthy link's peer gone). The dumps are not one
// snapshot: a veth whose true peer vanished between two dumps can be left
// with a single look-alike in some other namespace. Learning that one-sided
// match taught a wrong namespace id, which then ruled out the true peers of
// every veth of the look-alike's namespace.
import t from 'tap';
import { pairVeths } from '../../lib/ops/forensics/pairs';
import type { Link } from '../../lib/core/types';

const veth = (index: number, name: string, link: number, linkNetnsId: number): Link =>
  ({ index, name, kind: 'veth', link, linkNetnsId, flags: [], up: true, mtu: 1500 }) as unknown as Link;

t.test('a one-sided match to a look-alike is not learnt, and does not hide true peers', async (t) => {
  // host: two veths into guest g (g is nsid 7 in host): dgrp0 (index 20) <-> g/p0 (index 5), dlive0 (index 21) <-> g/eth1 (index 6).
  // other: someone else's namespace, with veth y (index 20) whose peer (index 5 in ITS host, nsid 3) was
  // deleted before that host was dumped. By indexes, g/p0 fits y; g/p0 itself fits both y and host/dgrp0.
  // 'other' comes first, as it would when its namespace sorts first.
  const namespaces = [
    { id: 'other', links: [veth(20, 'y', 5, 3)] },
    { id: 'host', links: [veth(20, 'dgrp0', 5, 7), veth(21, 'dlive0', 6, 7)] },
    { id: 'g', links: [veth(5, 'p0', 20, 0), veth(6, 'eth1', 21, 0)] },
  ];
  const p = pairVeths(namespaces);
  t.not(p.peerOf({ ns: 'other', index: 20 })?.ns, 'g', "other/y is not paired with g's p0 (one-sided)");
  t.strictSame(p.peerOf({ ns: 'host', index: 21 }), { ns: 'g', index: 6 }, "dlive0's true peer is still found");
  t.strictSame(p.peerOf({ ns: 'g', index: 6 }), { ns: 'host', index: 21 }, 'and back');
  t.equal(p.nsidTarget('g', 0), 'host', "g's nsid 0 is the host, not the look-alike's namespace");
  const amb = p.ambiguous.map((a) => `${a.at.ns}/${a.at.index}`).sort();
  t.ok(p.peerOf({ ns: 'host', index: 20 }) !== null || amb.includes('host/20') || amb.includes('g/5'), 'dgrp0 is paired or left ambiguous, never gone');
});

t.test('mutual unique matches are still learnt, and propagate', async (t) => {
  const namespaces = [
    { id: 'host', links: [veth(10, 'a', 2, 1), veth(11, 'b', 2, 2)] },
    { id: 'g1', links: [veth(2, 'eth1', 10, 0)] },
    { id: 'g2', links: [veth(2, 'eth1', 11, 0)] },
  ];
  const p = pairVeths(namespaces);
  t.strictSame(p.peerOf({ ns: 'host', index: 10 }), { ns: 'g1', index: 2 });
  t.strictSame(p.peerOf({ ns: 'host', index: 11 }), { ns: 'g2', index: 2 });
  t.equal(p.nsidTarget('host', 1), 'g1');
  t.equal(p.nsidTarget('g2', 0), 'host');
  t.strictSame(p.ambiguous, []);
});
